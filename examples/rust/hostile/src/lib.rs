//! `hostile` (named, stateless): misbehaves on purpose, to prove that the host contains a
//! guest to its own call and ends every request. `twin` is the other end of its loops.
//! Never deploy them.

mod loops;

pub use loops::twin;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use domain::{Reply, Request};
use spawn_wasm_sdk::{Actor, Value};
use wasi::http::types::Fields;

/// `hostile`:
/// - `spin`: loops forever;
/// - `hog`: grows its memory toward 1 GiB;
/// - `recurse`: recurses without bound;
/// - `panic`: panics;
/// - `sleep(Request{language: ms})`: sleeps `ms` milliseconds (default 60 s) through WASI
///   clocks, then replies `Reply{"woke up"}`;
/// - `readFile(Request{language: path})`: tries to read `path` (default `/etc/passwd`),
///   replies `Reply{"read N bytes"}`, or `Reply{"denied"}` when that fails;
/// - `print`: writes a line to stdout and one to stderr, then 100 KiB more to stdout, and
///   replies 1000 bytes;
/// - `env`: replies `Reply{<number of environment variables>}`;
/// - `instanceCalls`: replies how many calls this instance has served, itself included
///   (shows when the host reuses an instance between turns);
/// - `instanceCallsAfter(Request{language: ms})`: the same after sleeping `ms` milliseconds
///   (so that turns of one actor overlap);
/// - `fetch(Request{language: "http://host:port/path"})`: a GET through
///   `wasi:http/outgoing-handler`; replies `Reply{"status N: <body>"}` or
///   `Reply{"refused: <error>"}`;
/// - `hoard`: creates `wasi:http` header maps and keeps them all, without end (the host's
///   bound on handles ends it);
/// - `bigHeader(Request{language: bytes})`: appends a header of `bytes` bytes to a header
///   map; replies `Reply{"accepted"}`, or `Reply{"refused: <error>"}` for a header the
///   host refuses (one over the host's bound on a header map fails the call instead).
///
/// and the looping actions of [`loops::with_loops`].
pub fn hostile() -> Actor<()> {
    loops::with_loops(Actor::named("hostile"), "hostile")
        .action("spin", |_: Request, _| {
            let mut counter = 0u64;
            loop {
                counter = black_box(counter.wrapping_add(1));
            }
        })
        .action("hog", |_: Request, _| {
            let mut chunks = Vec::new();
            for _ in 0..1024 {
                chunks.push(black_box(vec![1u8; 1 << 20]));
            }
            Ok(Value::new().reply(&Reply { response: format!("allocated {} MiB", black_box(chunks.len())) }))
        })
        .action("recurse", |_: Request, _| {
            Ok(Value::new().reply(&Reply { response: recurse(black_box(1)).to_string() }))
        })
        .action("panic", |_: Request, _| -> spawn_wasm_sdk::Result<Value<()>> {
            panic!("the hostile actor panicked on purpose")
        })
        .action("sleep", |request: Request, _| {
            let ms = request.language.parse().unwrap_or(60_000);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(Value::new().reply(&Reply { response: "woke up".into() }))
        })
        .action("readFile", |request: Request, _| {
            let path = if request.language.is_empty() { "/etc/passwd" } else { request.language.as_str() };
            let response = match std::fs::read_to_string(path) {
                Ok(text) => format!("read {} bytes", text.len()),
                Err(_) => "denied".into(),
            };
            Ok(Value::new().reply(&Reply { response }))
        })
        .action(
            "env",
            |_: Request, _| Ok(Value::new().reply(&Reply { response: std::env::vars().count().to_string() })),
        )
        .action("print", |_: Request, _| {
            println!("hello from hostile");
            eprintln!("warning from hostile");
            for _ in 0..1024 {
                println!("{}", "x".repeat(99));
            }
            Ok(Value::new().reply(&Reply { response: "y".repeat(1000) }))
        })
        .action("fetch", |request: Request, _| Ok(Value::new().reply(&Reply { response: fetch(&request.language) })))
        .action("hoard", |_: Request, _| {
            let mut kept = Vec::new();
            loop {
                kept.push(black_box(Fields::new()));
            }
        })
        .action("bigHeader", |request: Request, _| {
            let value = vec![b'x'; request.language.parse().unwrap_or(1 << 20)];
            let response = match Fields::new().append("x-big", &value) {
                Ok(()) => "accepted".to_owned(),
                Err(error) => format!("refused: {error:?}"),
            };
            Ok(Value::new().reply(&Reply { response }))
        })
        .action("instanceCalls", |_: Request, _| Ok(Value::new().reply(&Reply { response: count_call() })))
        .action("instanceCallsAfter", |request: Request, _| {
            std::thread::sleep(std::time::Duration::from_millis(request.language.parse().unwrap_or(0)));
            Ok(Value::new().reply(&Reply { response: count_call() }))
        })
}

/// Counts a call of this instance; returns the count, this call included.
fn count_call() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    (CALLS.fetch_add(1, Ordering::Relaxed) + 1).to_string()
}

/// A GET of `url` through the SDK's `wasi:http` helper: `status N: <body>`, or
/// `refused: <the host's reason>`.
fn fetch(url: &str) -> String {
    match spawn_wasm_sdk::http::get(url) {
        Ok(response) => format!("status {}: {}", response.status, response.text()),
        Err(error) => format!("refused: {error}"),
    }
}

fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 256];
    frame[0] = depth as u8;
    black_box(&mut frame);
    if black_box(depth) == 0 { 0 } else { recurse(depth + 1) + u64::from(frame[0]) }
}

spawn_wasm_sdk::export_actors!(hostile(), loops::twin(); descriptors = domain::FILE_DESCRIPTOR_SET);
