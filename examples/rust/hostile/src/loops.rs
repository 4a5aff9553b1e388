//! Actions that would never end on their own, written as a hostile user would: the host
//! must end each of them promptly, with a reason, and go idle.

use domain::{Reply, Request};
use spawn_wasm_sdk::{Actor, Effect, Invoke, Level, Route, Value, log};

/// The channel every looping actor subscribes to, with `rebroadcast`.
pub const LOOP_CHANNEL: &str = "hostile-loop";

/// Adds the looping actions to `actor`, which is called `name`:
/// - `forwardSelf`: forwards its request to itself;
/// - `pipeTo(Request{language: target})`: replies `Request{language: name}` and pipes it to
///   `target.pipeTo`, which pipes back;
/// - `invokeCycle(Request{language: target})`: invokes `target.invokeCycle` synchronously with
///   `Request{language: name}`, which invokes back: a cycle;
/// - `rebroadcast`: broadcasts what it gets to [`LOOP_CHANNEL`], which it listens to;
/// - `logFlood`: calls `log` a million times;
/// - `effectFlood(Request{language: n})`: asks for `n` side effects (`hostile.env`), and
///   counts as a call of this instance (see `hostile`'s `instanceCalls`);
/// - `invokeSleep`: invokes `hostile.sleep` (60 s) synchronously;
/// - `plan(Request{language: steps})`: runs the first of its comma-separated steps with
///   the rest as the payload: `p<actor>` pipes, `f<actor>` forwards (the same steps again,
///   so a forward repeats itself), `i<actor>` invokes synchronously, `a<actor>` invokes
///   asynchronously, `s<ms>` sleeps; no step left replies `Reply{"done"}`. Random plans
///   make random call graphs.
pub fn with_loops(actor: Actor<()>, name: &'static str) -> Actor<()> {
    actor
        .channel(LOOP_CHANNEL, "rebroadcast")
        .action("forwardSelf", move |_: Request, _| Ok(Value::new().forward(Route::to(name, "forwardSelf"))))
        .action("pipeTo", move |request: Request, _| {
            Ok(Value::new().reply(&Request { language: name.into() }).pipe(Route::to(request.language, "pipeTo")))
        })
        .action("invokeCycle", move |request: Request, _| {
            let reply: Reply =
                Invoke::new(request.language, "invokeCycle").payload(&Request { language: name.into() }).call_as()?;
            Ok(Value::new().reply(&reply))
        })
        .action("rebroadcast", |request: Request, _| Ok(Value::new().broadcast(LOOP_CHANNEL, &request)))
        .action("logFlood", |_: Request, _| {
            for n in 0..1_000_000 {
                log(Level::Info, &format!("flood line {n}\nFAKE host line"));
            }
            Ok(Value::new().reply(&Reply { response: "flooded".into() }))
        })
        .action("invokeSleep", |_: Request, _| {
            let reply: Reply =
                Invoke::new("hostile", "sleep").payload(&Request { language: "60000".into() }).call_as()?;
            Ok(Value::new().reply(&reply))
        })
        .action("plan", |request: Request, _| plan(&request.language))
        .action("effectFlood", |request: Request, _| {
            super::count_call();
            let count: usize = request.language.parse().unwrap_or(2_000);
            let effects = (0..count).map(|_| Effect::to("hostile", "env"));
            Ok(Value::new().effects(effects).reply(&Reply { response: format!("asked for {count}") }))
        })
}

/// One step of a plan (see [`with_loops`]).
fn plan(steps: &str) -> spawn_wasm_sdk::Result<Value<()>> {
    let (step, rest) = steps.split_once(',').unwrap_or((steps, ""));
    let rest = Request { language: rest.into() };
    let Some(kind) = step.chars().next() else {
        return Ok(Value::new().reply(&Reply { response: "done".into() }));
    };
    let target = &step[kind.len_utf8()..];
    Ok(match kind {
        'p' => Value::new().reply(&rest).pipe(Route::to(target, "plan")),
        'f' => Value::new().forward(Route::to(target, "plan")),
        'i' => Value::new().reply(&Invoke::new(target, "plan").payload(&rest).call_as::<Reply>()?),
        'a' => {
            Invoke::new(target, "plan").payload(&rest).cast()?;
            Value::new().reply(&Reply { response: "cast".into() })
        }
        's' => {
            std::thread::sleep(std::time::Duration::from_millis(target.parse().unwrap_or(10)));
            plan(&rest.language)?
        }
        _ => Value::new().reply(&Reply { response: format!("unknown step {step}") }),
    })
}

/// `twin` (named, stateless): the other end of `hostile`'s pipes and cycles.
pub fn twin() -> Actor<()> {
    with_loops(Actor::named("twin").stateless(), "twin")
}
