//! Building the example actor components, shared by `cargo xtask` and by the build script
//! of the end-to-end tests (so that `cargo test` alone builds what it tests).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The target actors are compiled for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";
/// The cargo profile of actor components (see the workspace `Cargo.toml`).
pub const GUEST_PROFILE: &str = "guest";

/// The `domain` protobuf package shared by the Rust and Python examples (relative to the
/// workspace root): the one place that names its path.
pub const DOMAIN_PROTO: &str = "examples/proto/domain.proto";

/// Where the Python examples are: one directory with a `main.py` each.
pub const PYTHON_EXAMPLES: &str = "examples/python";

/// Where the JavaScript and TypeScript examples are: one directory with a `package.json` each.
pub const JS_EXAMPLES: &str = "examples/js";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

/// Where built example components are put: `target/actors`.
pub fn actors_dir(root: &Path) -> PathBuf {
    root.join("target").join("actors")
}

/// Example crates that only tests load, kept out of [`actors_dir`] so that `cargo xtask run`
/// serves the examples without them: `legacy` is built for an old WIT and refused.
pub const FIXTURES: &[&str] = &["legacy"];

/// Where the [`FIXTURES`] components are put: `target/fixtures`.
pub fn fixtures_dir(root: &Path) -> PathBuf {
    root.join("target").join("fixtures")
}

/// The Rust example crates: every directory of `examples/rust/` whose manifest builds a `cdylib`,
/// sorted by name.
pub fn example_crates(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("examples").join("rust")).context("listing examples/rust/")? {
        let dir = entry?.path();
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        if text.contains("cdylib") {
            let name = dir.file_name().and_then(|name| name.to_str()).context("non-UTF-8 example name")?;
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Adds the guest target with rustup unless it is installed already.
pub fn ensure_guest_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(output) if String::from_utf8_lossy(&output.stdout).lines().any(|line| line.trim() == GUEST_TARGET) => Ok(()),
        Ok(_) => {
            let status =
                Command::new("rustup").args(["target", "add", GUEST_TARGET]).status().context("running rustup")?;
            if !status.success() {
                bail!("`rustup target add {GUEST_TARGET}` failed");
            }
            Ok(())
        }
        // Without rustup, trust the toolchain to have the target; cargo says so if not.
        Err(_) => Ok(()),
    }
}

/// A `cargo` command for a nested build (from a build script or a test): the flags meant
/// for the outer build do not leak into it.
pub fn cargo() -> Command {
    nested_cargo(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `program` (a cargo) for a nested build, with the outer build's flags removed.
pub fn nested_cargo(program: impl AsRef<std::ffi::OsStr>) -> Command {
    spawn_wasm_build::nested_cargo(program)
}

/// Builds every example for `wasm32-wasip2` in its own target directory (`target/guest`,
/// so that it never waits on the lock of an outer cargo), and copies each component to
/// `target/actors/<name>.wasm` by rename, so that a watching host never sees half a file.
/// Returns the component paths.
pub fn build_examples(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    ensure_guest_target()?;
    let examples = example_crates(root)?;
    let target_dir = root.join("target").join("guest");
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["build", "--profile", GUEST_PROFILE, "--target", GUEST_TARGET, "--target-dir"])
        .arg(&target_dir);
    for example in &examples {
        command.args(["--package", example]);
    }
    let status = command.status().context("running cargo to build the examples")?;
    if !status.success() {
        bail!("building the example actors failed");
    }
    let mut components = Vec::new();
    for example in &examples {
        let out_dir = if FIXTURES.contains(&example.as_str()) { fixtures_dir(root) } else { actors_dir(root) };
        std::fs::create_dir_all(&out_dir)?;
        let built = target_dir.join(GUEST_TARGET).join(GUEST_PROFILE).join(format!("{example}.wasm"));
        let dest = out_dir.join(format!("{example}.wasm"));
        let staging = out_dir.join(format!(".{example}.wasm.tmp"));
        std::fs::copy(&built, &staging).with_context(|| format!("copying {}", built.display()))?;
        std::fs::rename(&staging, &dest)?;
        components.push(dest);
    }
    // The JavaScript builds (one componentize-js process at a time) run beside the Python
    // ones: each is mostly one core's work, and the machine may have two.
    let (python, js) = std::thread::scope(|scope| {
        let js = scope.spawn(|| build_js_examples(root));
        (build_python_examples(root), js.join().expect("the JavaScript build thread panicked"))
    });
    components.extend(python?);
    components.extend(js?);
    Ok(components)
}

/// The example directories under `dir` holding `marker`, sorted by name.
fn example_dirs(dir: &Path, marker: &str) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let dir = entry?.path();
        if dir.join(marker).is_file() {
            names.push(dir.file_name().and_then(|name| name.to_str()).context("non-UTF-8 example name")?.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Builds every JavaScript example (`examples/js/<name>/package.json`) with
/// `spawn-wasm-build` to `target/actors/js-<name>.wasm`, compiling the shared `domain` protos
/// into each. An example whose inputs did not change since its last build is not rebuilt.
pub fn build_js_examples(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let names = example_dirs(&root.join(JS_EXAMPLES), "package.json")?;
    let tools = spawn_wasm_build::JsTools::ensure()?;
    let mut components = Vec::new();
    for name in names {
        let dir = root.join(JS_EXAMPLES).join(&name);
        let build = spawn_wasm_build::JsBuild {
            entry: spawn_wasm_build::js_entry(&dir, None)?,
            dir,
            recursive: true,
            protos: vec![root.join(DOMAIN_PROTO)],
            out: actors_dir(root).join(format!("js-{name}.wasm")),
            force: false,
        };
        let built = spawn_wasm_build::build_js(&tools, &build)
            .with_context(|| format!("building the JavaScript example {name}"))?;
        components.push(built.path);
    }
    Ok(components)
}

/// Builds every Python example (`examples/python/<name>/main.py`) with `spawn-wasm-build`
/// to `target/actors/python-<name>.wasm`, compiling the shared `domain` protos into each.
/// An example whose inputs did not change since its last build is not rebuilt.
pub fn build_python_examples(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let names = example_dirs(&root.join(PYTHON_EXAMPLES), "main.py")?;
    let tools = spawn_wasm_build::PythonTools::ensure()?;
    let mut components = Vec::new();
    for name in names {
        let build = spawn_wasm_build::PythonBuild {
            dir: root.join(PYTHON_EXAMPLES).join(&name),
            entry: "main".into(),
            recursive: true,
            protos: vec![root.join(DOMAIN_PROTO)],
            out: actors_dir(root).join(format!("python-{name}.wasm")),
            force: false,
        };
        let built = spawn_wasm_build::build_python(&tools, &build)
            .with_context(|| format!("building the Python example {name}"))?;
        components.push(built.path);
    }
    Ok(components)
}
