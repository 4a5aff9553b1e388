//! Python components: the pinned tools (installed once with pip into a cache directory),
//! the staging of sources, generated protobuf modules and the SDK, and componentize-py.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::cache::{Stamp, cache_root, hash_files, install_dir, proto_files, run, source_files, stage, staging_path};
use crate::{Built, SDK_FILES, python_wit, write_atomically};

/// The componentize-py release components are built with (measured with this project's WIT).
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The `protobuf` release bundled into components (its pure-Python wheel).
pub const PROTOBUF_VERSION: &str = "7.36.2";
/// The pip requirements of componentize-py, with the hash of every file of the release.
const COMPONENTIZE_PY_REQUIREMENTS: &str = include_str!("../python-tools/componentize-py.txt");
/// The pip requirements of the protobuf wheel, with its hash.
const PROTOBUF_REQUIREMENTS: &str = include_str!("../python-tools/protobuf.txt");

/// Where the tools live: `python-tools/...` under [`cache_root`].
pub fn tools_dir() -> anyhow::Result<PathBuf> {
    Ok(cache_root()?
        .join("python-tools")
        .join(format!("componentize-py-{COMPONENTIZE_PY_VERSION}-protobuf-{PROTOBUF_VERSION}")))
}

/// The installed tools.
#[derive(Debug, Clone)]
pub struct PythonTools {
    /// The `componentize-py` executable.
    pub componentize_py: PathBuf,
    /// The directory holding the `protobuf` package (`google/protobuf`).
    pub site: PathBuf,
}

impl PythonTools {
    /// The tools, installed into [`tools_dir`] the first time (with `python3 -m venv` and pip
    /// from the package registry; `$SPAWN_WASM_PYTHON` names another interpreter).
    pub fn ensure() -> anyhow::Result<PythonTools> {
        let dir = tools_dir()?;
        let tools = PythonTools { componentize_py: dir.join("venv/bin/componentize-py"), site: dir.join("site") };
        if dir.join(".ready").is_file() {
            return Ok(tools);
        }
        let parent = dir.parent().expect("the tools directory has a parent");
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        eprintln!(
            "spawn-wasm build: installing componentize-py {COMPONENTIZE_PY_VERSION} and protobuf {PROTOBUF_VERSION} \
             into {} (first build only)",
            dir.display()
        );
        // Installed in a staging directory renamed into place: concurrent first builds and
        // interrupted installs never leave a half-installed directory behind.
        let python = std::env::var_os("SPAWN_WASM_PYTHON").unwrap_or_else(|| "python3".into());
        let ready = format!("{COMPONENTIZE_PY_VERSION} {PROTOBUF_VERSION}");
        let staging = stage(parent, &ready, |staging| {
            run(Command::new(&python).arg("-m").arg("venv").arg(staging.join("venv")), "creating a Python venv")?;
            let pip = staging.join("venv/bin/pip");
            // Every file pip may take is pinned by its hash, so that a file added to a pinned
            // release later is refused, not installed.
            let requirements = |name: &str, text: &str| -> anyhow::Result<PathBuf> {
                let path = staging.join(name);
                std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                Ok(path)
            };
            let install = || {
                let mut pip = Command::new(&pip);
                pip.args(["install", "--quiet", "--disable-pip-version-check", "--require-hashes", "--no-deps"]);
                pip
            };
            run(
                install().arg("-r").arg(requirements("componentize-py.txt", COMPONENTIZE_PY_REQUIREMENTS)?),
                "installing componentize-py",
            )?;
            run(
                install()
                    .arg("--target")
                    .arg(staging.join("site"))
                    .args(["--platform", "any", "--implementation", "py", "--only-binary=:all:"])
                    .arg("-r")
                    .arg(requirements("protobuf.txt", PROTOBUF_REQUIREMENTS)?),
                "installing protobuf",
            )
        })?;
        // A venv's scripts name their interpreter by absolute path: rename the venv into its
        // final place only after fixing them.
        fix_venv_paths(&staging, &dir)?;
        let fresh = !dir.exists();
        install_dir(&staging, &dir)?;
        if fresh {
            warm_up(&tools);
        }
        Ok(tools)
    }
}

/// Builds a throwaway component once after installing: componentize-py's interpreter then
/// writes the bytecode of the `protobuf` package next to it, and every later component is
/// smaller (19.5 MB instead of 31 MB: the first build's snapshot also holds the compiler's
/// work) and compiles twice as fast in the host.
fn warm_up(tools: &PythonTools) {
    let dir = staging_path(&std::env::temp_dir(), "spawn-wasm-warm-up");
    let source = "import importlib\nimport pkgutil\n\nimport google.protobuf\n\n\
                  for info in pkgutil.walk_packages(google.protobuf.__path__, \"google.protobuf.\"):\n\
                  \x20   if \"pyext\" not in info.name and \"testdata\" not in info.name:\n\
                  \x20       try:\n\
                  \x20           importlib.import_module(info.name)\n\
                  \x20       except Exception:\n\
                  \x20           pass\n\n\
                  from spawn_wasm import Actor, ActorSettings  # noqa: E402\n\n\
                  Actor(settings=ActorSettings(name=\"warm_up\"))\n";
    if std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join("main.py"), source)).is_ok() {
        let build = PythonBuild {
            dir: dir.clone(),
            entry: "main".into(),
            recursive: false,
            protos: Vec::new(),
            out: dir.join("warm-up.wasm"),
            force: true,
        };
        if let Err(error) = build_python(tools, &build) {
            eprintln!("spawn-wasm build: warming up the Python tools failed (builds still work): {error:#}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rewrites the staging path to the final one in the venv's scripts and configuration.
fn fix_venv_paths(staging: &Path, dir: &Path) -> anyhow::Result<()> {
    let (from, to) = (staging.to_string_lossy().into_owned(), dir.to_string_lossy().into_owned());
    let mut files: Vec<PathBuf> = vec![staging.join("venv/pyvenv.cfg")];
    if let Ok(entries) = std::fs::read_dir(staging.join("venv/bin")) {
        files.extend(entries.flatten().map(|entry| entry.path()));
    }
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        if text.contains(&from) {
            std::fs::write(&file, text.replace(&from, &to))?;
        }
    }
    Ok(())
}

/// A Python build.
#[derive(Debug, Clone)]
pub struct PythonBuild {
    /// The user's module directory.
    pub dir: PathBuf,
    /// The entry module.
    pub entry: String,
    /// Look for `.proto` files in subdirectories too.
    pub recursive: bool,
    /// More `.proto` files.
    pub protos: Vec<PathBuf>,
    /// The component to write.
    pub out: PathBuf,
    /// Rebuild even if unchanged.
    pub force: bool,
}

const SKIPPED_DIRS: &[&str] = &["__pycache__", "target", "node_modules", "venv", "site-packages"];

/// The `.py` and `.proto` files under `dir` (sorted), skipping hidden directories, caches
/// and virtual environments.
fn python_files(dir: &Path, recursive: bool, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    source_files(dir, recursive, SKIPPED_DIRS, &|name| name.ends_with(".py") || name.ends_with(".proto"), found)
}

/// The hash of everything a build depends on.
fn inputs_hash(build: &PythonBuild, files: &[PathBuf]) -> anyhow::Result<blake3::Hasher> {
    let mut hasher = blake3::Hasher::new();
    // This crate's own sources decide the generated entry point and `*_pb2.py` modules.
    hasher.update(concat!(include_str!("python.rs"), include_str!("protos.rs")).as_bytes());
    hasher.update(format!("{COMPONENTIZE_PY_VERSION} {PROTOBUF_VERSION} {}\0", build.entry).as_bytes());
    python_wit::hash(&mut hasher);
    for (name, text) in SDK_FILES {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    hash_files(&mut hasher, files.iter().chain(&build.protos))?;
    Ok(hasher)
}

/// Builds a Python component (skipped when `out` was built from the same inputs).
pub fn build_python(tools: &PythonTools, build: &PythonBuild) -> anyhow::Result<Built> {
    let dir = build.dir.canonicalize().with_context(|| format!("{} does not exist", build.dir.display()))?;
    if !dir.join(format!("{}.py", build.entry.replace('.', "/"))).is_file()
        && !dir.join(build.entry.replace('.', "/")).join("__init__.py").is_file()
    {
        bail!("{}: no module `{}` (looked for {}.py)", dir.display(), build.entry, build.entry);
    }
    let mut files = Vec::new();
    python_files(&dir, build.recursive, &mut files)?;
    let stamp = Stamp::new(&build.out, &inputs_hash(build, &files)?)?;
    if !build.force && stamp.is_current(&build.out) {
        return Ok(Built { path: build.out.clone(), rebuilt: false });
    }

    let staging = staging_path(&std::env::temp_dir(), "spawn-wasm-build");
    let result = build_in(tools, build, &dir, &files, &staging);
    let _ = std::fs::remove_dir_all(&staging);
    let bytes = result?;
    write_atomically(&build.out, &bytes)?;
    stamp.write()?;
    Ok(Built { path: build.out.clone(), rebuilt: true })
}

fn build_in(
    tools: &PythonTools,
    build: &PythonBuild,
    dir: &Path,
    files: &[PathBuf],
    staging: &Path,
) -> anyhow::Result<Vec<u8>> {
    let sdk = sdk_dir(tools)?;
    let generated = staging.join("generated");
    let entry_dir = staging.join("entry");
    std::fs::create_dir_all(&entry_dir)?;
    std::fs::write(
        entry_dir.join("spawn_wasm_entry.py"),
        format!(
            "# Generated by spawn-wasm build: the component's entry point.\nimport os\n\n\
             os.environ.setdefault(\"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION\", \"python\")\n\n\
             from spawn_wasm.component import Handler, Signatures, load_entry  # noqa: E402, F401\n\n\
             load_entry({:?}, os.path.join(os.path.dirname(__file__), {WARNINGS_FILE:?}))\n",
            build.entry
        ),
    )?;
    python_wit::stage(&staging.join("wit"))?;

    // Protos under the sources (and given ones), unless their module already exists there.
    let protos = proto_files(files, &build.protos);
    std::fs::create_dir_all(&generated)?;
    for module in crate::generate_pb2(&protos)? {
        if dir.join(&module.path).is_file() {
            continue;
        }
        let path = generated.join(&module.path);
        std::fs::create_dir_all(path.parent().expect("modules are in a directory"))?;
        std::fs::write(path, module.source)?;
    }

    let out = staging.join("component.wasm");
    // Path order matters for reading errors back: componentize-py names the N-th entry `/N/`.
    let python_path = [sdk.clone(), dir.to_owned(), generated.clone(), tools.site.clone(), entry_dir.clone()];
    let mut command = Command::new(&tools.componentize_py);
    command.arg("-d").arg(staging.join("wit")).args(["-w", python_wit::WORLD, "componentize"]);
    for entry in &python_path {
        command.arg("-p").arg(entry);
    }
    command.arg("spawn_wasm_entry").arg("-o").arg(&out).env("RUST_BACKTRACE", "0").env("RUST_LIB_BACKTRACE", "0");
    let output = command.output().with_context(|| format!("running {}", tools.componentize_py.display()))?;
    if !output.status.success() {
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        bail!("{}", readable_failure(&text, &python_path, &build.entry));
    }
    let warnings = std::fs::read_to_string(entry_dir.join(WARNINGS_FILE)).unwrap_or_default();
    for warning in build_warnings(&warnings, &python_path) {
        eprintln!("warning: {warning}");
    }
    std::fs::read(&out).context("reading the built component")
}

/// Where, next to the generated entry point, the SDK writes its build warnings: what a
/// component cannot do as the program asks (`guest-sdk/python/spawn_wasm/build_time.py`).
/// componentize-py shows the interpreter's output only when the build fails.
const WARNINGS_FILE: &str = "spawn-wasm-warnings.txt";

/// The prefix of each warning line (`build_time.py`'s `WARNING_PREFIX`).
const WARNING_PREFIX: &str = "spawn-wasm-warning: ";

/// The SDK's build warnings in componentize-py's output, naming the real files.
fn build_warnings(text: &str, python_path: &[PathBuf]) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix(WARNING_PREFIX))
        .map(|warning| real_paths(&format!(" {warning}"), python_path).trim_start().to_owned())
        .collect()
}

/// `line` with the Python path entries componentize-py names `/N/` written as the real
/// directories.
fn real_paths(line: &str, python_path: &[PathBuf]) -> String {
    let mut line = line.to_owned();
    for (index, entry) in python_path.iter().enumerate() {
        line = line.replace(&format!("\"/{index}/"), &format!("\"{}/", entry.display()));
        line = line.replace(&format!(" /{index}/"), &format!(" {}/", entry.display()));
    }
    line
}

/// The SDK's files, written once per SDK version next to the tools: a stable directory, so
/// that the bytecode componentize-py's interpreter writes there is reused by later builds
/// (which makes components smaller: compiling modules at build time leaves garbage in the
/// pre-initialised heap).
fn sdk_dir(tools: &PythonTools) -> anyhow::Result<PathBuf> {
    let mut hasher = blake3::Hasher::new();
    for (name, text) in SDK_FILES {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    let root = tools.site.parent().expect("the site directory has a parent");
    let dir = root.join(format!("sdk-{}", &hasher.finalize().to_hex()[..16]));
    if dir.is_dir() {
        return Ok(dir);
    }
    let staging = staging_path(root, "sdk");
    for (name, text) in SDK_FILES {
        let path = staging.join(name);
        std::fs::create_dir_all(path.parent().expect("SDK files are in packages"))?;
        std::fs::write(path, text)?;
    }
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(dir)
}

/// componentize-py's failure output, reduced to the Python error: without its Rust
/// backtrace, its own wrappers and the SDK's frames, with the Python path entries it names
/// `/N/` written as the real directories.
fn readable_failure(text: &str, python_path: &[PathBuf], entry: &str) -> String {
    let text = text.split("Stack backtrace:").next().unwrap_or_default();
    let text = text.split("\n\nCaused by:").next().unwrap_or_default();
    let internal = |line: &str| {
        ["venv/bin/componentize-py", "/sdk/spawn_wasm", "spawn_wasm_entry.py", "<frozen runpy>"]
            .iter()
            .any(|marker| line.contains(marker))
            || python_path.first().is_some_and(|sdk| line.contains(&format!("\"{}/", sdk.display())))
            || line.contains("\"/0/")
    };
    let mut lines: Vec<String> = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let line = real_paths(&line.replace("AssertionError: ", ""), python_path);
        if trimmed.starts_with("File \"") || line.trim_start().starts_with("File \"") {
            skipping = internal(trimmed);
        } else if !line.starts_with("    ") {
            skipping = false;
        }
        if skipping {
            continue;
        }
        if line.starts_with("Traceback (most recent call last):")
            && lines.last().is_some_and(|last| last.starts_with("Traceback (most recent call last):"))
        {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|line| line.trim().is_empty()) {
        lines.pop();
    }
    let text = lines.join("\n");
    let hint = if text.contains("ModuleNotFoundError") {
        "\nhint: a module your actor imports is missing; put it next to your code (pure-Python packages only)"
    } else {
        ""
    };
    format!("spawn-wasm build: Python failed while loading `{entry}`:\n{}{hint}", text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_pinned_requirements_name_the_versions_built_with() {
        let pinned = |text: &str, line: &str| text.lines().any(|l| l.trim_end_matches([' ', '\\']) == line);
        assert!(pinned(COMPONENTIZE_PY_REQUIREMENTS, &format!("componentize-py=={COMPONENTIZE_PY_VERSION}")));
        assert!(pinned(PROTOBUF_REQUIREMENTS, &format!("protobuf=={PROTOBUF_VERSION}")));
        for text in [COMPONENTIZE_PY_REQUIREMENTS, PROTOBUF_REQUIREMENTS] {
            assert!(text.contains("--hash=sha256:"), "every requirement carries its hashes");
        }
    }

    #[test]
    fn failures_name_the_real_files() {
        let text = "Traceback (most recent call last):\n  File \"/x/venv/bin/componentize-py\", line 8, in <module>\n\
                    AssertionError: Traceback:\n  File \"/1/joe.py\", line 3, in <module>\nNameError: x\n\nStack backtrace:\n 0: foo\n";
        let out = readable_failure(text, &[PathBuf::from("/sdk"), PathBuf::from("/src")], "main");
        assert!(out.contains("File \"/src/joe.py\", line 3"), "{out}");
        assert!(!out.contains("Stack backtrace"), "{out}");
        assert!(!out.contains("venv/bin"), "{out}");
    }

    #[test]
    fn warnings_are_picked_out_with_the_real_files() {
        let text =
            "spawn-wasm-warning: /1/example/main.py:21: not run\nother output\nspawn-wasm-warning: /1/a.py:3: x\n";
        let warnings = build_warnings(text, &[PathBuf::from("/sdk"), PathBuf::from("/src")]);
        assert_eq!(warnings, ["/src/example/main.py:21: not run", "/src/a.py:3: x"]);
    }
}
