//! `spawn-wasm new --lang python|js PATH`: a Python or JavaScript/TypeScript actor project
//! that builds and serves.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::embedded::TEMPLATE_FILES;
use crate::js_files::JS_TEMPLATE_FILES;

/// Writes the Python project `name` in the new directory `dir` from the template
/// (`guest-sdk/python/template`, where `actor_name` stands for the name). Returns `dir`.
pub fn create_python_project(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    create_project(dir, name, TEMPLATE_FILES)
}

/// Writes the TypeScript project `name` in the new directory `dir` from the template
/// (`guest-sdk/js/template`, where `actor_name` stands for the name). Returns `dir`.
pub fn create_js_project(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    create_project(dir, name, JS_TEMPLATE_FILES)
}

fn create_project(dir: &Path, name: &str, template: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!("`{name}` is not a valid name: use lower-case letters, digits and `_`, starting with a letter");
    }
    let dir = dir.to_path_buf();
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    for (file, text) in template {
        let path = dir.join(file.replace("actor_name", name));
        std::fs::create_dir_all(path.parent().expect("files are inside the project"))?;
        std::fs::write(&path, text.replace("actor_name", name))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}
