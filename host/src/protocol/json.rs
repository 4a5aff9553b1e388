//! JSON for humans: protobuf messages shown and accepted as JSON (the protobuf JSON mapping),
//! using the descriptors the components embed, so that no user `.proto` file is needed.
//!
//! Each module has its own codec: the Spawn protocol's descriptors plus the module's, so that
//! a message name two modules define differently is encoded by each with its own definition
//! (a conflict is warned about when the second loads). An `Any` is written as `{"@type": "type.googleapis.com/pkg.Msg", ...fields}`;
//! an `Any` whose type no module describes is written as its type URL and base64 bytes.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

use crate::protocol::spawn as pb;

/// Why a JSON conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The body is not valid JSON for the expected message (or names an unknown type).
    #[error("invalid JSON for {message}: {error}")]
    Decode {
        /// The message expected.
        message: String,
        /// What is wrong.
        error: String,
    },
}

/// Converts between protobuf messages and JSON.
#[derive(Debug, Clone)]
pub struct JsonCodec {
    pool: DescriptorPool,
}

impl JsonCodec {
    /// A codec knowing the Spawn protocol and every message the components describe: each
    /// item is a component's file (for messages) and its encoded `FileDescriptorSet`. A
    /// component's unreadable or conflicting descriptors are skipped with a warning.
    pub fn new<'a>(components: impl IntoIterator<Item = (&'a Path, &'a [u8])>) -> Self {
        let mut pool =
            DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the protocol's own descriptors are valid");
        for (path, descriptors) in components {
            if descriptors.is_empty() {
                continue;
            }
            let set = match prost_types::FileDescriptorSet::decode(descriptors) {
                Ok(set) => set,
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "ignoring the component's unreadable descriptors");
                    continue;
                }
            };
            for file in set.file {
                if pool.get_file_by_name(file.name()).is_some() {
                    continue;
                }
                let name = file.name().to_owned();
                if let Err(error) = pool.add_file_descriptor_proto(file) {
                    tracing::warn!(file = %path.display(), proto = %name, %error, "ignoring conflicting descriptors");
                }
            }
        }
        JsonCodec { pool }
    }

    /// The codec of the protocol's messages only: for a call no module serves.
    pub fn protocol() -> Arc<JsonCodec> {
        static PROTOCOL: LazyLock<Arc<JsonCodec>> = LazyLock::new(|| Arc::new(JsonCodec::new([])));
        PROTOCOL.clone()
    }

    /// The messages (full names, the protocol's aside) that both codecs describe, each
    /// differently: what two modules disagree on.
    pub fn conflicts_with(&self, other: &JsonCodec) -> Vec<String> {
        self.pool
            .all_messages()
            .filter(|message| !is_protocol_message(message))
            .filter(|message| {
                other
                    .pool
                    .get_message_by_name(message.full_name())
                    .is_some_and(|theirs| theirs.descriptor_proto() != message.descriptor_proto())
            })
            .map(|message| message.full_name().to_owned())
            .collect()
    }

    /// Every message the codec knows (the protocol's and the components'), for what
    /// describes messages to people (the console's invoke form).
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    fn descriptor<M: ReflectDescriptor>(&self) -> MessageDescriptor {
        self.pool.get_message_by_name(M::NAME).expect("the protocol's messages are in the pool")
    }

    /// Decodes a JSON `M` (e.g. an `InvocationRequest`).
    pub fn decode<M: ReflectDescriptor + Message + Default>(&self, json: &[u8]) -> Result<M, JsonError> {
        let failed = |error: String| JsonError::Decode { message: M::NAME.into(), error };
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let dynamic = DynamicMessage::deserialize(self.descriptor::<M>(), &mut deserializer)
            .map_err(|error| failed(error.to_string()))?;
        deserializer.end().map_err(|error| failed(error.to_string()))?;
        dynamic.transcode_to::<M>().map_err(|error| failed(error.to_string()))
    }

    /// Decodes a JSON `M` already parsed (after the caller completed it).
    pub fn decode_value<M: ReflectDescriptor + Message + Default>(
        &self,
        json: serde_json::Value,
    ) -> Result<M, JsonError> {
        let failed = |error: String| JsonError::Decode { message: M::NAME.into(), error };
        let dynamic =
            DynamicMessage::deserialize(self.descriptor::<M>(), json).map_err(|error| failed(error.to_string()))?;
        dynamic.transcode_to::<M>().map_err(|error| failed(error.to_string()))
    }

    /// Encodes `message` as JSON. An `Any` of an unknown type inside it falls back to
    /// `{"@type": URL, "base64": BYTES}`.
    pub fn encode<M: ReflectDescriptor + Message>(&self, message: &M) -> serde_json::Value {
        let dynamic = DynamicMessage::decode(self.descriptor::<M>(), message.encode_to_vec().as_slice())
            .expect("a message decodes with its own descriptor");
        self.to_json(&dynamic)
    }

    /// An `Any` as JSON: its fields with `@type`, or its raw bytes if the type is unknown.
    pub fn any_to_json(&self, any: &prost_types::Any) -> serde_json::Value {
        let name = any.type_url.rsplit_once('/').map_or(any.type_url.as_str(), |(_, name)| name);
        match self
            .pool
            .get_message_by_name(name)
            .and_then(|descriptor| DynamicMessage::decode(descriptor, any.value.as_slice()).ok())
        {
            Some(message) => {
                let mut json = self.to_json(&message);
                if let Some(object) = json.as_object_mut() {
                    object.insert("@type".into(), any.type_url.clone().into());
                }
                json
            }
            None => serde_json::json!({ "@type": any.type_url, "base64": BASE64.encode(&any.value) }),
        }
    }

    fn to_json(&self, message: &DynamicMessage) -> serde_json::Value {
        let options = SerializeOptions::new().stringify_64_bit_integers(false);
        match message.serialize_with_options(serde_json::value::Serializer, &options) {
            Ok(json) => json,
            Err(_) => self.with_raw_anys(message),
        }
    }

    /// The fallback when a nested `Any` has an unknown type: the message with each `Any`
    /// replaced by its raw form (only the protocol's top-level `value` and `state` fields
    /// carry user `Any`s).
    fn with_raw_anys(&self, message: &DynamicMessage) -> serde_json::Value {
        let mut copy = message.clone();
        let mut raw = serde_json::Map::new();
        for field in ["value", "state"] {
            if let Some(value) = copy.get_field_by_name(field)
                && let Some(any) = value.as_message().and_then(|any| any.transcode_to::<prost_types::Any>().ok())
            {
                raw.insert(field.into(), self.any_to_json(&any));
                copy.clear_field_by_name(field);
            }
        }
        let options = SerializeOptions::new().stringify_64_bit_integers(false);
        let mut json = copy.serialize_with_options(serde_json::value::Serializer, &options).unwrap_or_default();
        if let Some(object) = json.as_object_mut() {
            object.extend(raw);
        }
        json
    }
}

/// Packages whose messages are the protocol's or protobuf's own, not actors'.
const PROTOCOL_PACKAGES: [&str; 2] = ["spawn", "google.protobuf"];

/// Whether `message` is the protocol's or protobuf's own (never an actor's input, and the
/// same in every module).
pub fn is_protocol_message(message: &MessageDescriptor) -> bool {
    let package = message.package_name();
    PROTOCOL_PACKAGES.iter().any(|prefix| package == *prefix || package.starts_with(&format!("{prefix}.")))
}

/// Messages of the protocol the codec converts, by full name.
pub trait ReflectDescriptor {
    /// The full protobuf name.
    const NAME: &'static str;
}

impl ReflectDescriptor for pb::InvocationRequest {
    const NAME: &'static str = "spawn.InvocationRequest";
}

impl ReflectDescriptor for pb::InvocationResponse {
    const NAME: &'static str = "spawn.InvocationResponse";
}

impl ReflectDescriptor for pb::SpawnRequest {
    const NAME: &'static str = "spawn.SpawnRequest";
}

impl ReflectDescriptor for pb::SpawnResponse {
    const NAME: &'static str = "spawn.SpawnResponse";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_decode_from_json_and_unknown_anys_fall_back_to_bytes() {
        let codec = JsonCodec::new([]);
        let request: pb::InvocationRequest = codec
            .decode(br#"{"system":{"name":"spawn-system"},"actor":{"id":{"name":"counter"}},"actionName":"get","async":true}"#)
            .unwrap();
        assert_eq!(request.action_name, "get");
        assert!(request.r#async);
        assert!(codec.decode::<pb::InvocationRequest>(br#"{"actionName": 3}"#).is_err());
        assert!(codec.decode::<pb::InvocationRequest>(br#"{"nope": 1}"#).is_err());

        let any = prost_types::Any { type_url: "type.googleapis.com/unknown.Thing".into(), value: b"foo".to_vec() };
        assert_eq!(codec.any_to_json(&any), serde_json::json!({"@type": any.type_url, "base64": "Zm9v"}));
        let response = pb::InvocationResponse {
            status: Some(pb::RequestStatus { status: pb::Status::Ok as i32, message: String::new() }),
            payload: Some(pb::invocation_response::Payload::Value(any.clone())),
            ..Default::default()
        };
        let json = codec.encode(&response);
        assert_eq!(json["status"]["status"], "OK");
        assert_eq!(json["value"]["base64"], "Zm9v");
    }

    /// A `domain.proto` holding `message Reply { string response = NUMBER; }`, encoded.
    fn domain_reply(number: i32) -> Vec<u8> {
        use prost_types::field_descriptor_proto::{Label, Type};
        let field = prost_types::FieldDescriptorProto {
            name: Some("response".into()),
            json_name: Some("response".into()),
            number: Some(number),
            label: Some(Label::Optional as i32),
            r#type: Some(Type::String as i32),
            ..Default::default()
        };
        let message =
            prost_types::DescriptorProto { name: Some("Reply".into()), field: vec![field], ..Default::default() };
        let file = prost_types::FileDescriptorProto {
            name: Some("domain.proto".into()),
            package: Some("domain".into()),
            message_type: vec![message],
            syntax: Some("proto3".into()),
            ..Default::default()
        };
        prost_types::FileDescriptorSet { file: vec![file] }.encode_to_vec()
    }

    #[test]
    fn each_module_encodes_with_its_own_definitions_and_conflicts_are_named() {
        let (ours, theirs) = (domain_reply(1), domain_reply(2));
        let a = JsonCodec::new([(Path::new("a.wasm"), ours.as_slice())]);
        let b = JsonCodec::new([(Path::new("b.wasm"), theirs.as_slice())]);
        // Field 1 holding "hi": module a reads it as `response`; module b knows no field 1.
        let any =
            prost_types::Any { type_url: "type.googleapis.com/domain.Reply".into(), value: b"\x0a\x02hi".to_vec() };
        assert_eq!(a.any_to_json(&any)["response"], "hi");
        assert!(b.any_to_json(&any).get("response").is_none(), "b's definition decides b's JSON");
        assert_eq!(a.conflicts_with(&b), ["domain.Reply"]);
        assert!(a.conflicts_with(&JsonCodec::new([(Path::new("c.wasm"), ours.as_slice())])).is_empty());
        assert!(a.conflicts_with(&JsonCodec::protocol()).is_empty(), "the protocol's messages are everyone's");
    }
}
