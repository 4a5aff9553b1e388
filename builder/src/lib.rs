//! `spawn-wasm build`: one command that turns actor sources into a component.
//!
//! - **Python**: a `.py` file, or a directory with `main.py` (or another entry module). Its
//!   `.proto` files are compiled with protox (no system `protoc`) into `*_pb2.py` modules;
//!   the Python SDK (`guest-sdk/python`, embedded in this crate) and the `protobuf` package
//!   are bundled; [componentize-py](https://github.com/bytecodealliance/componentize-py)
//!   builds the component. The tools are installed once, pinned, with pip into a cache
//!   directory ([`tools_dir`]).
//! - **JavaScript / TypeScript**: a `.js`/`.ts` file, or a directory with `package.json`.
//!   Its `.proto` files are compiled with protox into a descriptor set (embedded, and
//!   exported for the host's JSON API) and one TypeScript module per package
//!   (`@proto/<package>`); esbuild bundles the entry with its dependencies and the JS SDK
//!   (`guest-sdk/js`, embedded in this crate), and
//!   [componentize-js](https://github.com/bytecodealliance/ComponentizeJS) builds the
//!   component. The tools are installed once, pinned by a lock file, with npm into a cache
//!   directory ([`js_tools_dir`]).
//! - **Rust**: a crate (a directory with `Cargo.toml`), built with cargo for `wasm32-wasip2`.
//!
//! The crate does not depend on wasmtime: `xtask` and the tests' build script use it too.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

mod cache;
mod js;
mod js_files;
mod protos;
mod python;
mod python_wit;
mod rust;
mod scaffold;
mod ts_protos;

pub use cache::{cache_root, user_cache_dir};
pub use js::{COMPONENTIZE_JS_VERSION, JsBuild, JsTools, build_js, is_js_file, js_entry, js_tools_dir};
pub use protos::{GeneratedModule, compile_protos, generate_pb2};
pub use python::{COMPONENTIZE_PY_VERSION, PROTOBUF_VERSION, PythonBuild, PythonTools, build_python, tools_dir};
pub use rust::{GUEST_TARGET, build_rust, nested_cargo};
pub use scaffold::{create_js_project, create_python_project};
pub use ts_protos::{TsModule, generate_ts};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
pub use embedded::{SDK_FILES, WIT};
pub use js_files::JS_SDK_FILES;

/// What to build and where.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// A Python file, a directory with `main.py` (or `entry`), a JavaScript or TypeScript
    /// file, a directory with `package.json`, or a Rust crate's directory.
    pub path: PathBuf,
    /// The component to write; default `<name>.wasm` in the current directory.
    pub out: Option<PathBuf>,
    /// The Python entry module (default `main`, or the file's stem), or the JavaScript entry
    /// file relative to the project (default: `package.json`'s `main`, or `src/main.ts`...).
    pub entry: Option<String>,
    /// More `.proto` files to compile for a Python or JavaScript build (besides those under
    /// `path`).
    pub protos: Vec<PathBuf>,
    /// Rebuild even if the inputs did not change since the last build of `out`.
    pub force: bool,
}

/// The outcome of a build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The component.
    pub path: PathBuf,
    /// False when the inputs were unchanged and the existing component was kept.
    pub rebuilt: bool,
}

/// The language of the sources at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    /// Python: the directory on the module path, and the entry module.
    Python {
        /// Directory of the user's modules.
        dir: PathBuf,
        /// Entry module name.
        entry: String,
        /// Whether to look for `.proto` files in subdirectories too.
        recursive: bool,
    },
    /// JavaScript or TypeScript: the project directory and the entry module.
    Js {
        /// The project directory (sources and `.proto` files are looked for there).
        dir: PathBuf,
        /// The entry module.
        entry: PathBuf,
        /// Whether to look for sources in subdirectories too (a project, not a lone file).
        recursive: bool,
    },
    /// A Rust crate's directory.
    Rust(PathBuf),
}

impl Sources {
    /// What of the project's own code a build runs on this machine, outside any sandbox,
    /// if any: the user is told before it does, so that nobody builds code they do not trust
    /// unawares.
    pub fn code_run_at_build(&self) -> Option<&'static str> {
        match self {
            Sources::Rust(_) => Some("cargo runs the crate's build scripts and procedural macros"),
            Sources::Python { .. } => Some("componentize-py imports the entry module and what it imports"),
            Sources::Js { .. } => None,
        }
    }
}

/// Which language `path` holds.
pub fn detect(path: &Path, entry: Option<&str>) -> anyhow::Result<Sources> {
    if path.is_file() {
        if path.extension().is_some_and(|ext| ext == "py") {
            let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let stem = path.file_stem().and_then(|stem| stem.to_str()).context("a non-UTF-8 file name")?;
            return Ok(Sources::Python { dir: dir.to_owned(), entry: stem.to_owned(), recursive: false });
        }
        if is_js_file(path) {
            let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
            return Ok(Sources::Js { dir: dir.to_owned(), entry: path.to_owned(), recursive: false });
        }
        if path.file_name().is_some_and(|name| name == "Cargo.toml") {
            return Ok(Sources::Rust(path.parent().unwrap_or(Path::new(".")).to_owned()));
        }
        bail!(
            "{}: expected a Python file (.py), a JavaScript or TypeScript file, a directory, or a Cargo.toml",
            path.display()
        );
    }
    if !path.is_dir() {
        bail!("{} does not exist", path.display());
    }
    if path.join("package.json").is_file() {
        return Ok(Sources::Js { dir: path.to_owned(), entry: js_entry(path, entry)?, recursive: true });
    }
    if let Some(entry) = entry {
        return Ok(Sources::Python { dir: path.to_owned(), entry: entry.to_owned(), recursive: true });
    }
    if path.join("main.py").is_file() {
        return Ok(Sources::Python { dir: path.to_owned(), entry: "main".into(), recursive: true });
    }
    if path.join("Cargo.toml").is_file() {
        return Ok(Sources::Rust(path.to_owned()));
    }
    bail!("{}: no main.py (give the entry module with --entry), no package.json and no Cargo.toml", path.display())
}

/// The name a component gets by default: the directory's or the file's.
fn default_name(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let name = if path.is_file() && path.file_name().is_some_and(|name| name != "Cargo.toml") {
        path.file_stem()
    } else if path.is_file() {
        path.parent().and_then(Path::file_name)
    } else {
        path.file_name()
    };
    name.and_then(|name| name.to_str()).unwrap_or("actor").to_owned()
}

/// Builds the component `request` describes.
pub fn build(request: &BuildRequest) -> anyhow::Result<Built> {
    let sources = detect(&request.path, request.entry.as_deref())?;
    let out = request.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}.wasm", default_name(&request.path))));
    match sources {
        Sources::Python { dir, entry, recursive } => {
            let tools = PythonTools::ensure()?;
            build_python(
                &tools,
                &PythonBuild { dir, entry, recursive, protos: request.protos.clone(), out, force: request.force },
            )
        }
        Sources::Js { dir, entry, recursive } => {
            let tools = JsTools::ensure()?;
            build_js(
                &tools,
                &JsBuild { dir, entry, recursive, protos: request.protos.clone(), out, force: request.force },
            )
        }
        Sources::Rust(dir) => {
            if !request.protos.is_empty() {
                bail!("--proto is for Python and JavaScript builds: a Rust crate compiles its own protos in build.rs");
            }
            build_rust(&dir, &out).map(|path| Built { path, rebuilt: true })
        }
    }
}

/// Writes `bytes` to `path` through a hidden temporary file and a rename, so that a watching
/// host never reads half a component.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().context("an output file name")?.to_string_lossy();
    let staging = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&staging, bytes).with_context(|| format!("writing {}", staging.display()))?;
    std::fs::rename(&staging, path).with_context(|| format!("renaming into {}", path.display()))
}
