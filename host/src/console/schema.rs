//! A message's fields as JSON, from the descriptors the components embed: what the console's
//! invoke form is generated from (one input per field, nested messages as nested fieldsets).

use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};
use serde_json::{Value, json};

use crate::protocol::json::is_protocol_message;

/// How deep nested messages get their own fields; deeper ones (and recursive types) are
/// entered as JSON.
const NESTING: usize = 3;

/// How many fields of nested messages one form expands in all; past it, nested messages are
/// entered as JSON. Depth alone does not bound the form: a message with a hundred fields of
/// its own type would expand to a hundred cubed (a hostile `.proto` could exhaust memory).
const EXPANDED_FIELDS: usize = 1_000;

/// The messages components describe, by full name, sorted.
pub(super) fn user_messages(pool: &DescriptorPool) -> Vec<String> {
    let mut names: Vec<String> = pool
        .all_messages()
        .filter(|message| !message.is_map_entry() && !is_protocol_message(message))
        .map(|message| message.full_name().to_owned())
        .collect();
    names.sort();
    names
}

/// The fields of message `name` (leading `.` or a type URL's prefix allowed), if known.
pub(super) fn message_schema(pool: &DescriptorPool, name: &str) -> Option<Value> {
    let name = name.rsplit('/').next().unwrap_or(name).trim_start_matches('.');
    pool.get_message_by_name(name).map(|message| {
        let mut budget = EXPANDED_FIELDS;
        schema(&message, 0, &mut budget)
    })
}

/// The fields of `message`, nested ones expanded while `budget` (fields) lasts.
fn schema(message: &MessageDescriptor, depth: usize, budget: &mut usize) -> Value {
    let fields: Vec<Value> = message
        .fields()
        .map(|field| {
            let mut out = json!({ "name": field.name(), "json": field.json_name(), "list": field.is_list() });
            let (kind, detail) = match field.kind() {
                _ if field.is_map() => ("json", json!("a JSON object")),
                Kind::Message(inner)
                    if depth < NESTING && !is_protocol_message(&inner) && *budget >= inner.fields().len() =>
                {
                    *budget -= inner.fields().len();
                    ("message", schema(&inner, depth + 1, budget))
                }
                Kind::Message(inner) => ("json", json!(inner.full_name())),
                Kind::Enum(values) => ("enum", values.values().map(|value| json!(value.name())).collect()),
                Kind::Bool => ("bool", Value::Null),
                Kind::String => ("string", Value::Null),
                Kind::Bytes => ("bytes", Value::Null),
                Kind::Double | Kind::Float => ("float", Value::Null),
                // 64-bit integers are numbers in the JSON mapping's output and accepted as such.
                _ => ("integer", Value::Null),
            };
            out["type"] = json!(kind);
            if !detail.is_null() {
                out["detail"] = detail;
            }
            out
        })
        .collect();
    json!({ "name": message.full_name(), "fields": fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(crate::protocol::spawn::FILE_DESCRIPTOR_SET).unwrap()
    }

    #[test]
    fn the_protocol_s_own_messages_are_not_offered_as_inputs() {
        assert!(user_messages(&pool()).is_empty());
    }

    #[test]
    fn a_message_lists_its_fields_with_their_kinds() {
        let schema = message_schema(&pool(), "type.googleapis.com/spawn.InvocationRequest").unwrap();
        let field =
            |name: &str| schema["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
        assert_eq!(field("action_name")["type"], "string");
        assert_eq!(field("action_name")["json"], "actionName");
        assert_eq!(field("async")["type"], "bool");
        assert_eq!(field("metadata")["type"], "json");
        // `actor` is a protocol message: entered as JSON, not expanded.
        assert_eq!(field("actor")["type"], "json");
        assert!(message_schema(&pool(), "no.Such").is_none());
    }

    /// A message with a hundred fields of its own type: the form stays bounded.
    #[test]
    fn a_wide_recursive_message_expands_within_the_budget() {
        use prost_types::field_descriptor_proto::{Label, Type};
        use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet};
        let field = |n: i32| FieldDescriptorProto {
            name: Some(format!("f{n}")),
            number: Some(n),
            label: Some(Label::Optional as i32),
            r#type: Some(Type::Message as i32),
            type_name: Some(".wide.Wide".into()),
            ..Default::default()
        };
        let message =
            DescriptorProto { name: Some("Wide".into()), field: (1..=100).map(field).collect(), ..Default::default() };
        let file = FileDescriptorProto {
            name: Some("wide.proto".into()),
            package: Some("wide".into()),
            message_type: vec![message],
            syntax: Some("proto3".into()),
            ..Default::default()
        };
        let pool = DescriptorPool::from_file_descriptor_set(FileDescriptorSet { file: vec![file] }).unwrap();
        let schema = message_schema(&pool, "wide.Wide").unwrap();
        let size = schema.to_string().len();
        assert!(size < 1 << 20, "{size} bytes of form");
        assert_eq!(schema["fields"].as_array().unwrap().len(), 100, "every field of the message itself");
    }
}
