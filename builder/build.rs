//! Embeds the Python SDK (`guest-sdk/python`), its project template and the WIT package,
//! so that `spawn-wasm build` works from an installed binary.

use std::path::{Path, PathBuf};

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("reading the Python SDK").flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            files.push((relative, path));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let python = manifest.join("../guest-sdk/python").canonicalize().expect("guest-sdk/python");
    let wit = manifest.join("../wit/actor.wit").canonicalize().expect("wit/actor.wit");
    println!("cargo:rerun-if-changed={}", python.display());
    println!("cargo:rerun-if-changed={}", wit.display());
    let mut sdk = Vec::new();
    for package in ["spawn_wasm", "spawn"] {
        collect(&python, &python.join(package), &mut sdk);
        println!("cargo:rerun-if-changed={}", python.join(package).display());
    }
    let mut template = Vec::new();
    collect(&python.join("template"), &python.join("template"), &mut template);
    let list = |files: &[(String, PathBuf)]| {
        files
            .iter()
            .map(|(name, path)| format!("    ({name:?}, include_str!({:?})),\n", path.display()))
            .collect::<String>()
    };
    let code = format!(
        "/// The Python SDK's files: (path, contents).\npub const SDK_FILES: &[(&str, &str)] = &[\n{}];\n\
         /// The `spawn-wasm new --lang python` template's files: (path, contents).\npub const TEMPLATE_FILES: &[(&str, &str)] = &[\n{}];\n\
         /// The WIT package components are built for.\npub const WIT: &str = include_str!({:?});\n",
        list(&sdk),
        list(&template),
        wit.display()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
