//! JavaScript and TypeScript components: the pinned tools (componentize-js, esbuild and
//! @bufbuild/protobuf, installed once with `npm ci` from a lock file into a cache directory),
//! the staging of the SDK, the compiled protos and a generated entry point, and the Node.js
//! script (`js-tools/build.mjs`) that bundles and componentizes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use prost::Message as _;

use crate::cache::{Stamp, cache_root, hash_files, install_dir, proto_files, run, source_files, stage, staging_path};
use crate::js_files::JS_SDK_FILES;
use crate::{Built, WIT, write_atomically};

/// The componentize-js release components are built with (measured with this project's WIT).
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// The tools' `package.json`: exact versions of componentize-js, esbuild, @bufbuild/protobuf.
const TOOLS_PACKAGE: &str = include_str!("../js-tools/package.json");
/// Their lock file: every transitive version pinned (`npm ci` installs exactly these).
const TOOLS_LOCK: &str = include_str!("../js-tools/package-lock.json");
/// The bundling and componentizing script, run with Node.js from the tools directory.
const BUILD_SCRIPT: &str = include_str!("../js-tools/build.mjs");

/// Where the tools live: `js-tools/componentize-js-<version>-<lock hash>` under [`cache_root`].
pub fn js_tools_dir() -> anyhow::Result<PathBuf> {
    let lock = blake3::hash(format!("{TOOLS_PACKAGE}\0{TOOLS_LOCK}").as_bytes()).to_hex();
    Ok(cache_root()?.join("js-tools").join(format!("componentize-js-{COMPONENTIZE_JS_VERSION}-{}", &lock[..12])))
}

/// The installed tools and the Node.js that runs them.
#[derive(Debug, Clone)]
pub struct JsTools {
    /// The directory holding `node_modules` and the build script.
    pub dir: PathBuf,
    /// The `node` executable (`$SPAWN_WASM_NODE`, else `node` on the `PATH`).
    pub node: OsString,
}

/// Checks that `program --version` runs, saying what JavaScript builds need if not.
fn require(program: &OsString, what: &str) -> anyhow::Result<()> {
    match Command::new(program).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => bail!(
            "spawn-wasm build: JavaScript and TypeScript actors need {what} (cannot run `{} --version`): \
             install Node.js 18 or later with npm (e.g. `apt-get install nodejs npm`), or name another node with $SPAWN_WASM_NODE",
            program.to_string_lossy()
        ),
    }
}

impl JsTools {
    /// The tools, installed into [`js_tools_dir`] the first time with `npm ci` from the
    /// package registry.
    pub fn ensure() -> anyhow::Result<JsTools> {
        let node = std::env::var_os("SPAWN_WASM_NODE").filter(|node| !node.is_empty()).unwrap_or_else(|| "node".into());
        require(&node, "Node.js")?;
        let tools = JsTools { dir: js_tools_dir()?, node };
        if !tools.dir.join(".ready").is_file() {
            install(&tools.dir)?;
        }
        let script = tools.dir.join("build.mjs");
        if std::fs::read_to_string(&script).ok().as_deref() != Some(BUILD_SCRIPT) {
            write_atomically(&script, BUILD_SCRIPT.as_bytes())?;
        }
        Ok(tools)
    }
}

/// `npm ci` of the pinned tools in a staging directory renamed into `dir`: concurrent first
/// builds and interrupted installs never leave a half-installed directory behind.
fn install(dir: &Path) -> anyhow::Result<()> {
    let npm: OsString =
        std::env::var_os("SPAWN_WASM_NPM").filter(|npm| !npm.is_empty()).unwrap_or_else(|| "npm".into());
    require(&npm, "npm")?;
    let parent = dir.parent().expect("the tools directory has a parent");
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    eprintln!(
        "spawn-wasm build: installing componentize-js {COMPONENTIZE_JS_VERSION}, esbuild and @bufbuild/protobuf \
         into {} (first build only)",
        dir.display()
    );
    let staging = stage(parent, COMPONENTIZE_JS_VERSION, |staging| {
        std::fs::write(staging.join("package.json"), TOOLS_PACKAGE)?;
        std::fs::write(staging.join("package-lock.json"), TOOLS_LOCK)?;
        // No install scripts: every tool ships its binaries as packages of its own.
        run(
            Command::new(&npm)
                .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"])
                .current_dir(staging),
            "installing the JavaScript tools with npm",
        )
    })?;
    install_dir(&staging, dir)
}

/// A JavaScript or TypeScript build.
#[derive(Debug, Clone)]
pub struct JsBuild {
    /// The project directory (a `package.json`'s, or the entry file's).
    pub dir: PathBuf,
    /// The entry module.
    pub entry: PathBuf,
    /// Look for sources and `.proto` files in subdirectories too.
    pub recursive: bool,
    /// More `.proto` files.
    pub protos: Vec<PathBuf>,
    /// The component to write.
    pub out: PathBuf,
    /// Rebuild even if unchanged.
    pub force: bool,
}

/// Extensions of JavaScript and TypeScript modules.
const MODULE_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx"];
/// Extensions of the other files a JavaScript build reads.
const OTHER_EXTENSIONS: &[&str] = &["json", "proto"];
/// Directories never part of the sources.
const SKIPPED_DIRS: &[&str] = &["node_modules", "dist", "target", "build", "coverage"];
/// Entry modules looked for in a project directory whose `package.json` names no `main`.
const ENTRY_CANDIDATES: &[&str] =
    &["src/main.ts", "src/index.ts", "main.ts", "index.ts", "src/main.js", "src/index.js", "main.js", "index.js"];

/// Whether `path` names a JavaScript or TypeScript module.
pub fn is_js_file(path: &Path) -> bool {
    path.extension().and_then(|ext| ext.to_str()).is_some_and(|ext| MODULE_EXTENSIONS.contains(&ext))
}

/// The TypeScript source of a JavaScript module that is not there, as tsx finds it:
/// `index.js` → `index.ts` or `index.tsx`, `.mjs` → `.mts`, `.cjs` → `.cts`, `.jsx` → `.tsx`.
/// A project run with tsx names its compiled output in `main` (the `spawn new node` template's
/// `"main": "index.js"` beside `index.ts`).
fn typescript_twin(path: &Path) -> Option<PathBuf> {
    let twins: &[&str] = match path.extension()?.to_str()? {
        "js" => &["ts", "tsx"],
        "mjs" => &["mts"],
        "cjs" => &["cts"],
        "jsx" => &["tsx"],
        _ => return None,
    };
    twins.iter().map(|ext| path.with_extension(ext)).find(|twin| twin.is_file())
}

/// The entry module of the project in `dir`: `entry` (relative to `dir`), else the
/// `package.json`'s `main` (or its TypeScript source: [`typescript_twin`]), else the first of
/// [`ENTRY_CANDIDATES`] that exists.
pub fn js_entry(dir: &Path, entry: Option<&str>) -> anyhow::Result<PathBuf> {
    let main = match entry {
        Some(entry) => Some(entry.to_owned()),
        None => {
            let manifest = dir.join("package.json");
            let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", manifest.display()))?;
            json["main"].as_str().map(str::to_owned)
        }
    };
    if let Some(main) = main {
        let path = dir.join(&main);
        if path.is_file() {
            return Ok(path);
        }
        return typescript_twin(&path)
            .with_context(|| format!("{}: the entry module {main} does not exist", dir.display()));
    }
    ENTRY_CANDIDATES.iter().map(|candidate| dir.join(candidate)).find(|path| path.is_file()).with_context(|| {
        format!("{}: no entry module: set `main` in package.json or create src/main.ts", dir.display())
    })
}

/// The hash of everything a build depends on.
fn inputs_hash(build: &JsBuild, entry: &Path, files: &[PathBuf]) -> anyhow::Result<blake3::Hasher> {
    let mut hasher = blake3::Hasher::new();
    // This crate's own sources decide the staged entry point and the generated modules.
    hasher.update(concat!(include_str!("js.rs"), include_str!("ts_protos.rs"), include_str!("protos.rs")).as_bytes());
    for part in [TOOLS_PACKAGE, TOOLS_LOCK, BUILD_SCRIPT, WIT] {
        hasher.update(part.as_bytes());
    }
    for (name, text) in JS_SDK_FILES {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.update(entry.to_string_lossy().as_bytes());
    hash_files(&mut hasher, files.iter().chain(&build.protos))?;
    Ok(hasher)
}

/// Builds a JavaScript or TypeScript component (skipped when `out` was built from the same
/// inputs).
pub fn build_js(tools: &JsTools, build: &JsBuild) -> anyhow::Result<Built> {
    let dir = build.dir.canonicalize().with_context(|| format!("{} does not exist", build.dir.display()))?;
    let entry = build.entry.canonicalize().with_context(|| format!("{} does not exist", build.entry.display()))?;
    let mut files = Vec::new();
    let wanted = |name: &str| {
        name.rsplit_once('.')
            .is_some_and(|(_, ext)| MODULE_EXTENSIONS.contains(&ext) || OTHER_EXTENSIONS.contains(&ext))
    };
    source_files(&dir, build.recursive, SKIPPED_DIRS, &wanted, &mut files)?;
    let stamp = Stamp::new(&build.out, &inputs_hash(build, &entry, &files)?)?;
    if !build.force && stamp.is_current(&build.out) {
        return Ok(Built { path: build.out.clone(), rebuilt: false });
    }
    let protos = proto_files(&files, &build.protos);
    let staging = staging_path(&std::env::temp_dir(), "spawn-wasm-build");
    let result = build_in(tools, &dir, &entry, &protos, &staging);
    let _ = std::fs::remove_dir_all(&staging);
    let bytes = result?;
    write_atomically(&build.out, &bytes)?;
    stamp.write()?;
    Ok(Built { path: build.out.clone(), rebuilt: true })
}

fn build_in(tools: &JsTools, dir: &Path, entry: &Path, protos: &[PathBuf], staging: &Path) -> anyhow::Result<Vec<u8>> {
    let sdk = staging.join("sdk");
    for (name, text) in JS_SDK_FILES {
        let path = sdk.join(name);
        std::fs::create_dir_all(path.parent().expect("SDK files are in a directory"))?;
        std::fs::write(path, text)?;
    }
    let (descriptors, modules) = if protos.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let set = crate::compile_protos(protos)?;
        (set.encode_to_vec(), crate::generate_ts(&set))
    };
    let proto_dir = staging.join("proto");
    std::fs::create_dir_all(&proto_dir)?;
    for module in &modules {
        std::fs::write(proto_dir.join(format!("{}.ts", module.package)), &module.source)?;
    }
    let numbers: Vec<String> = descriptors.iter().map(u8::to_string).collect();
    std::fs::write(
        staging.join("descriptors.js"),
        format!("export const DESCRIPTORS = new Uint8Array([{}]);\n", numbers.join(",")),
    )?;
    let json = |path: &Path| serde_json::Value::from(path.to_string_lossy()).to_string();
    std::fs::write(
        staging.join("entry.js"),
        format!(
            "// Generated by spawn-wasm build: the user's module, then the component's exports.\nimport {};\nexport {{ handler, signatures }} from {};\n",
            json(entry),
            json(&sdk.join("component.ts"))
        ),
    )?;
    let wit = staging.join("wit");
    std::fs::create_dir_all(&wit)?;
    std::fs::write(wit.join("actor.wit"), WIT)?;
    let out = staging.join("component.wasm");
    let config = serde_json::json!({
        "root": dir,
        "entry": staging.join("entry.js"),
        "sdk": sdk,
        "staging": staging,
        "descriptors": staging.join("descriptors.js"),
        "protoDir": proto_dir,
        "protoPackages": modules.iter().map(|module| module.package.as_str()).collect::<Vec<_>>(),
        "nodePaths": [tools.dir.join("node_modules")],
        "wit": wit,
        "out": out,
    });
    let config_path = staging.join("build.json");
    std::fs::write(&config_path, config.to_string())?;
    let output = Command::new(&tools.node)
        .arg(tools.dir.join("build.mjs"))
        .arg(&config_path)
        .current_dir(&tools.dir)
        .output()
        .with_context(|| format!("running {}", tools.node.to_string_lossy()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let text = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
        bail!("spawn-wasm build: {} failed to build:\n{}", entry.display(), text.trim_end());
    }
    for warning in warnings(&stdout) {
        eprintln!("{warning}");
    }
    std::fs::read(&out).context("reading the built component")
}

/// How the SDK words a build-time warning (`guest-sdk/js/src/warnings.ts`) on the output of
/// the program's top level, which componentize-js runs while it builds.
const WARNING: &str = "spawn-wasm build: warning: ";

/// The SDK's warnings among what the build printed (the rest is the program's own output).
fn warnings(stdout: &str) -> impl Iterator<Item = &str> {
    stdout.lines().filter(|line| line.starts_with(WARNING))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_node_says_what_to_install() {
        let error = require(&"/nonexistent/node".into(), "Node.js").unwrap_err().to_string();
        assert!(error.contains("need Node.js") && error.contains("install Node.js 18 or later with npm"), "{error}");
    }

    #[test]
    fn only_the_sdks_warnings_are_shown() {
        let stdout = "[SpawnSystem] registered\nspawn-wasm build: warning: index.ts:3: outside an action\n";
        assert_eq!(warnings(stdout).collect::<Vec<_>>(), ["spawn-wasm build: warning: index.ts:3: outside an action"]);
    }

    #[test]
    fn the_entry_is_found_in_a_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), r#"{"name": "x"}"#).unwrap();
        assert!(js_entry(dir.path(), None).unwrap_err().to_string().contains("no entry module"));
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/index.ts"), "").unwrap();
        assert_eq!(js_entry(dir.path(), None).unwrap(), dir.path().join("src/index.ts"));
        std::fs::write(dir.path().join("package.json"), r#"{"name": "x", "main": "lib/actor.js"}"#).unwrap();
        assert!(js_entry(dir.path(), None).unwrap_err().to_string().contains("lib/actor.js does not exist"));
        std::fs::create_dir_all(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/actor.tsx"), "").unwrap();
        assert_eq!(js_entry(dir.path(), None).unwrap(), dir.path().join("lib/actor.tsx"), "tsx finds the source");
        std::fs::write(dir.path().join("lib/actor.ts"), "").unwrap();
        assert_eq!(js_entry(dir.path(), None).unwrap(), dir.path().join("lib/actor.ts"));
        std::fs::write(dir.path().join("lib/actor.js"), "").unwrap();
        assert_eq!(js_entry(dir.path(), None).unwrap(), dir.path().join("lib/actor.js"), "a module that exists wins");
        std::fs::write(dir.path().join("package.json"), r#"{"name": "x", "main": "lib/other.mjs"}"#).unwrap();
        assert!(js_entry(dir.path(), None).unwrap_err().to_string().contains("lib/other.mjs does not exist"));
        assert_eq!(js_entry(dir.path(), Some("src/index.ts")).unwrap(), dir.path().join("src/index.ts"));
        assert!(is_js_file(Path::new("a/main.mts")) && !is_js_file(Path::new("a/main.py")));
    }
}
