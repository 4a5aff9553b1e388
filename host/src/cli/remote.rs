//! `spawn-wasm invoke`, `state` and `restore`: calls to a running standalone runtime's
//! client API from the terminal, in JSON (the runtime converts with the descriptors its
//! components embed).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost::{Message, Name};

use crate::protocol::spawn::TYPE_URL_PREFIX;
use crate::sidecar::RpcStatus;

/// One call through the client API.
#[derive(Debug, Clone)]
pub struct RemoteCall {
    /// Base URL of the API, e.g. `http://127.0.0.1:9001`.
    pub url: String,
    /// The bearer token, if the runtime requires one.
    pub token: Option<String>,
    /// Actor system.
    pub system: String,
    /// Target actor.
    pub actor: String,
    /// Action.
    pub action: String,
    /// The input as JSON; `@type` names its message unless `message_type` does, or else
    /// the runtime takes the input type the action declares.
    pub data: Option<Value>,
    /// The input's protobuf message name (e.g. `domain.Increment`).
    pub message_type: Option<String>,
    /// Fire and forget.
    pub asynchronous: bool,
    /// Request metadata.
    pub metadata: BTreeMap<String, String>,
    /// Unnamed template to spawn the actor from.
    pub register_ref: Option<String>,
}

impl RemoteCall {
    /// The JSON `InvocationRequest` body.
    pub fn body(&self) -> anyhow::Result<Value> {
        let mut request = json!({
            "system": { "name": self.system },
            "actor": { "id": { "name": self.actor, "system": self.system } },
            "actionName": self.action,
            "async": self.asynchronous,
            "metadata": self.metadata,
        });
        if let Some(parent) = &self.register_ref {
            request["registerRef"] = json!(parent);
        }
        if let Some(data) = &self.data {
            let mut value = data.clone();
            let Some(object) = value.as_object_mut() else { bail!("--data must be a JSON object, got {data}") };
            // Without a type, the runtime gives the object the input type its action declares.
            if let Some(name) = &self.message_type {
                object.insert("@type".into(), json!(format!("{TYPE_URL_PREFIX}{}", name.trim_start_matches('.'))));
            }
            request["value"] = value;
        }
        Ok(request)
    }

    /// Sends the call; returns the reply (`null` for none) or the runtime's error.
    pub async fn send(&self) -> anyhow::Result<Value> {
        let api = StateApi { url: self.url.clone(), system: self.system.clone(), token: self.token.clone() };
        let answer = api.post(&format!("actors/{}/invoke", self.actor), &self.body()?).await?;
        let reply = answer.get("value").cloned().unwrap_or(Value::Null);
        if let Some(failure) = failure_of(&reply) {
            bail!("the actor failed (google.rpc.Code {}): {}", failure.code, failure.message);
        }
        Ok(reply)
    }
}

/// An actor system of a running runtime, for the calls that name no action: state,
/// history, restore.
#[derive(Debug, Clone)]
pub struct StateApi {
    /// Base URL of the API, e.g. `http://127.0.0.1:9001`.
    pub url: String,
    /// Actor system.
    pub system: String,
    /// The bearer token, if the runtime requires one.
    pub token: Option<String>,
}

impl StateApi {
    fn endpoint(&self, path: &str) -> String {
        format!("{}/api/v1/system/{}/{path}", self.url.trim_end_matches('/'), self.system)
    }

    /// The current state of `actor` (`revision`: that revision) as
    /// `{"revision", "time_ms", "state"}`.
    pub async fn state(&self, actor: &str, revision: Option<i64>) -> anyhow::Result<Value> {
        let query = revision.map(|revision| format!("?revision={revision}")).unwrap_or_default();
        self.get(&format!("actors/{actor}/state{query}")).await
    }

    /// The kept revisions of `actor`, newest first: `{"revisions": [...]}`.
    pub async fn history(&self, actor: &str) -> anyhow::Result<Value> {
        self.get(&format!("actors/{actor}/state/history")).await
    }

    /// Makes revision `revision` the current state of `actor` (the proxy's spawn route
    /// with `?revision=N`).
    pub async fn restore(&self, actor: &str, revision: i64) -> anyhow::Result<()> {
        let body = json!({"actors": [{"name": actor, "system": self.system}]});
        self.post(&format!("actors/spawn?revision={revision}"), &body).await.map(drop)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = self.endpoint(path);
        exchange(authorized(client_for(&url)?.get(&url), self.token.as_deref()), &url).await
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        post_json(&self.endpoint(path), self.token.as_deref(), body).await
    }
}

/// Posts `body` in JSON to the host's own route `path` (e.g. `v1/backup`) at `url`, with
/// `token` if it has one; returns the JSON answer, or the host's error message.
pub(super) async fn post_admin(url: &str, token: Option<&str>, path: &str, body: &Value) -> anyhow::Result<Value> {
    post_json(&format!("{}/{path}", url.trim_end_matches('/')), token, body).await
}

/// Posts `body` in JSON to `url` with `token`; the JSON answer, or the error message.
async fn post_json(url: &str, token: Option<&str>, body: &Value) -> anyhow::Result<Value> {
    let request =
        client_for(url)?.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
    exchange(authorized(request, token), url).await
}

/// `request` with `token` as its bearer, if there is one.
fn authorized(request: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// Sends `request` to `url`; returns the JSON answer, or the runtime's error message.
async fn exchange(request: reqwest::RequestBuilder, url: &str) -> anyhow::Result<Value> {
    let response =
        request.send().await.with_context(|| format!("calling {url} (is `spawn-wasm standalone` running?)"))?;
    let status = response.status();
    let text = response.text().await?;
    let answer: Value = serde_json::from_str(&text)
        .with_context(|| format!("the runtime answered HTTP {status} with a body that is not JSON: {text}"))?;
    if !status.is_success() {
        // The runtime's own failures carry a `RequestStatus`; a refused token, an `error`.
        let message = answer["status"]["message"].as_str().or(answer["error"].as_str()).unwrap_or("(no message)");
        bail!("{message} (HTTP {status})");
    }
    Ok(answer)
}

/// The failure a JSON reply carries: a `google.rpc.Status`, which is what a failed turn of a
/// spawn-wasm sidecar replies through the Spawn proxy (see `sidecar::failure`). It arrives as
/// fields when a component describes the type, else as base64 bytes.
fn failure_of(reply: &Value) -> Option<RpcStatus> {
    let type_url = reply.get("@type")?.as_str()?;
    if type_url.rsplit('/').next() != Some(RpcStatus::full_name().as_str()) {
        return None;
    }
    if let Some(bytes) = reply.get("base64").and_then(Value::as_str) {
        return RpcStatus::decode(BASE64.decode(bytes).ok()?.as_slice()).ok();
    }
    let code = reply.get("code").and_then(Value::as_i64).and_then(|code| i32::try_from(code).ok()).unwrap_or_default();
    let message = reply.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
    Some(RpcStatus { code, message, details: Vec::new() })
}

/// A client for `url`: a host on this machine is reached directly, never through
/// `HTTP_PROXY`/`ALL_PROXY` (which would see the token and the states); another one through
/// the proxy the environment names, if any.
pub(super) fn client_for(url: &str) -> anyhow::Result<reqwest::Client> {
    let builder = reqwest::Client::builder();
    let parsed = reqwest::Url::parse(url).ok();
    let local = parsed.as_ref().and_then(reqwest::Url::host_str).is_some_and(|host| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    });
    Ok(if local { builder.no_proxy() } else { builder }.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> RemoteCall {
        RemoteCall {
            url: "http://127.0.0.1:9001".into(),
            token: None,
            system: "spawn-system".into(),
            actor: "counter".into(),
            action: "increment".into(),
            data: Some(json!({"by": 2})),
            message_type: Some("domain.Increment".into()),
            asynchronous: false,
            metadata: BTreeMap::from([("trace".into(), "1".into())]),
            register_ref: None,
        }
    }

    #[test]
    fn the_body_is_an_invocation_request_with_a_typed_value() {
        let body = call().body().unwrap();
        assert_eq!(body["actionName"], "increment");
        assert_eq!(body["actor"]["id"]["name"], "counter");
        assert_eq!(body["value"], json!({"by": 2, "@type": "type.googleapis.com/domain.Increment"}));
        assert_eq!(body["metadata"]["trace"], "1");
    }

    #[test]
    fn a_google_rpc_status_reply_is_a_failure() {
        let status = RpcStatus { code: 5, message: "gone".into(), details: Vec::new() };
        let encoded = json!({"@type": RpcStatus::type_url(), "base64": BASE64.encode(status.encode_to_vec())});
        assert_eq!(failure_of(&encoded), Some(status));
        let described = json!({"@type": RpcStatus::type_url(), "code": 4, "message": "late"});
        assert_eq!(failure_of(&described).map(|status| (status.code, status.message)), Some((4, "late".into())));
        assert_eq!(failure_of(&json!({"@type": "type.googleapis.com/domain.Reply", "response": "ok"})), None);
        assert_eq!(failure_of(&Value::Null), None);
    }

    #[test]
    fn the_input_is_an_object_typed_by_the_call_the_data_or_the_action() {
        let bare = RemoteCall { message_type: None, ..call() };
        assert_eq!(bare.body().unwrap()["value"], json!({"by": 2}), "left for the runtime to type");
        let typed_inline = RemoteCall { message_type: None, data: Some(json!({"@type": "x/y.Z"})), ..call() };
        assert_eq!(typed_inline.body().unwrap()["value"]["@type"], "x/y.Z");
        let not_object = RemoteCall { data: Some(json!(3)), ..call() };
        assert!(not_object.body().unwrap_err().to_string().contains("JSON object"));
    }
}
