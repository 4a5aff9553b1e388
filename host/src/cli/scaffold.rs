//! `spawn-wasm new NAME`: a new actor crate that builds with
//! `cargo build --release --target wasm32-wasip2` and serves when its `.wasm` is dropped in
//! the actors directory: a stateful actor, its protobuf messages, a native unit test.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Where the SDK of this checkout is, if the binary was built from one.
pub fn default_sdk_path() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/rust");
    sdk.join("Cargo.toml").is_file().then(|| sdk.canonicalize().ok()).flatten()
}

/// Writes the crate `name` in `parent/name`, depending on the SDK at `sdk`. Returns its
/// directory.
pub fn create(dir: &Path, name: &str, sdk: &Path) -> anyhow::Result<PathBuf> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        bail!("`{name}` is not a valid name: use lower-case letters, digits, `-` and `_`, starting with a letter");
    }
    let dir = dir.to_path_buf();
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let sdk = sdk.canonicalize().with_context(|| format!("the SDK path {} does not exist", sdk.display()))?;
    let package = name.replace('-', "_");
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        (".cargo/config.toml", CARGO_CONFIG.to_owned()),
        ("build.rs", build_rs(&package)),
        (&format!("proto/{package}.proto"), proto(&package)),
        ("src/lib.rs", lib_rs(name, &package)),
        ("README.md", readme(name, &package)),
        (".gitignore", "/target\n".to_owned()),
    ];
    for (file, contents) in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("files are inside the crate"))?;
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
prost = "0.14"
spawn-wasm-sdk = {{ path = "{sdk}" }}

[build-dependencies]
prost = "0.14"
prost-build = "0.14"
protox = "0.10"

# Small, fast components.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = true
panic = "abort"

# A crate of its own, even when created inside another workspace.
[workspace]
"#,
        sdk = sdk.display()
    )
}

const CARGO_CONFIG: &str = r#"# A 128 KiB stack instead of 1 MiB: a fresh instance touches less memory.
[target.wasm32-wasip2]
rustflags = ["-C", "link-arg=-zstack-size=131072"]
"#;

fn build_rs(package: &str) -> String {
    format!(
        r#"//! Compiles the protobuf messages (protox parses them: no system protoc needed) and keeps
//! their descriptors, which the component embeds so that the host can show them as JSON.

fn main() -> Result<(), Box<dyn std::error::Error>> {{
    println!("cargo:rerun-if-changed=proto/{package}.proto");
    let descriptors = protox::compile(["{package}.proto"], ["proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("descriptors.bin"), prost::Message::encode_to_vec(&descriptors))?;
    prost_build::Config::new()
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com")
        .compile_fds(descriptors)?;
    Ok(())
}}
"#
    )
}

fn proto(package: &str) -> String {
    format!(
        r#"syntax = "proto3";

package {package};

// The actor's state.
message State {{
  int64 greetings = 1;
}}

message Greet {{
  string name = 1;
}}

message Greeting {{
  string text = 1;
}}
"#
    )
}

fn lib_rs(name: &str, package: &str) -> String {
    format!(
        r#"//! `{name}`: a stateful Spawn actor for spawn-wasm.

use spawn_wasm_sdk::{{Actor, Context, Result, Value}};

/// The protobuf messages of `proto/{package}.proto`.
pub mod messages {{
    include!(concat!(env!("OUT_DIR"), "/{package}.rs"));
}}

use messages::{{Greet, Greeting, State}};

/// `greet(Greet)`: counts the greetings in the state and replies a `Greeting`.
fn greet(input: Greet, ctx: &Context<State>) -> Result<Value<State>> {{
    let state = State {{ greetings: ctx.state_or_default().greetings + 1 }};
    let text = format!("Hello, {{}}! ({{}} greetings so far)", input.name, state.greetings);
    Ok(Value::new().state(state).reply(&Greeting {{ text }}))
}}

/// The actor.
pub fn actor() -> Actor<State> {{
    Actor::named("{name}").action("greet", greet)
}}

spawn_wasm_sdk::export_actors!(actor(); descriptors = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin")));

#[cfg(test)]
mod tests {{
    use super::*;
    use spawn_wasm_sdk::testing::{{TestInvocation, reply_as, state_as}};

    #[test]
    fn greet_counts_greetings() {{
        let invocation = TestInvocation::new("{name}", "greet")
            .state(&State {{ greetings: 1 }})
            .payload(&Greet {{ name: "Ada".into() }})
            .build();
        let value = actor().handle(invocation).unwrap();
        assert_eq!(state_as::<State>(&value), Some(State {{ greetings: 2 }}));
        assert_eq!(reply_as::<Greeting>(&value).unwrap().text, "Hello, Ada! (2 greetings so far)");
    }}
}}
"#
    )
}

fn readme(name: &str, package: &str) -> String {
    format!(
        r#"# {name}

A Spawn actor for spawn-wasm.

```sh
cargo test                                          # the actor's unit tests, natively
cargo build --release --target wasm32-wasip2        # the component
cp target/wasm32-wasip2/release/{package}.wasm /path/to/actors/
spawn-wasm invoke {name} greet --data '{{"name": "Ada"}}'
```
"#
    )
}
