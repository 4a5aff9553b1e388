//! `router` (named, stateless): shows each workflow kind by sending languages to `joe`.

use domain::{Reply, Request};
use spawn_wasm_sdk::{Actor, Effect, Route, Value};

/// `router`: forward, pipe, broadcast and side effect towards `joe`.
pub fn router() -> Actor<()> {
    Actor::named("router")
        .action("forwardLanguage", |_: Request, _| Ok(Value::new().forward(Route::to("joe", "setLanguage"))))
        .action("pipeLanguage", |request: Request, _| {
            let upper = Request { language: request.language.to_uppercase() };
            Ok(Value::new().reply(&upper).pipe(Route::to("joe", "setLanguage")))
        })
        .action("broadcastLanguage", |request: Request, _| Ok(Value::new().broadcast("test", &request)))
        .action("effectLanguage", |request: Request, _| {
            let effect = Effect::to("joe", "setLanguage").payload(&request);
            Ok(Value::new().effect(effect).reply(&Reply { response: "ok".into() }))
        })
}

spawn_wasm_sdk::export_actors!(router(); descriptors = domain::FILE_DESCRIPTOR_SET);

#[cfg(test)]
mod tests {
    use super::*;
    use spawn_wasm_sdk::bindings::spawn::actor::types::Routing;
    use spawn_wasm_sdk::testing::{TestInvocation, reply_as};

    fn run(action: &str, language: &str) -> spawn_wasm_sdk::__private::WitValue {
        let request = Request { language: language.into() };
        router().handle(TestInvocation::new("router", action).payload(&request).build()).unwrap()
    }

    #[test]
    fn pipe_replies_upper_case_and_pipes_to_joe() {
        let value = run("pipeLanguage", "rust");
        assert_eq!(reply_as::<Request>(&value).unwrap().language, "RUST");
        assert!(
            matches!(value.routing, Some(Routing::Pipe(route)) if route.actor == "joe" && route.action == "setLanguage")
        );
    }

    #[test]
    fn effect_replies_ok() {
        let value = run("effectLanguage", "rust");
        assert_eq!(reply_as::<Reply>(&value).unwrap().response, "ok");
        assert_eq!(value.effects.len(), 1);
    }
}
