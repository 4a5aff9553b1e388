//! `.proto` files compiled without `protoc` (protox parses and checks them), and turned into
//! `*_pb2.py` modules for Python: each module embeds its serialized `FileDescriptorProto` and builds its classes with
//! `google.protobuf.internal.builder`, as modern protoc output does.
//!
//! A file of package `a.b` named `x.proto` becomes module `a/b/x_pb2.py` (importable as
//! `from a.b.x_pb2 import Message`), the layout of the Spawn Python SDK's examples.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use prost::Message as _;
use prost_types::{FileDescriptorProto, FileDescriptorSet};

/// A generated module: its path relative to the module root, and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedModule {
    /// E.g. `domain/domain_pb2.py`.
    pub path: String,
    /// The Python source.
    pub source: String,
}

/// The `package` a `.proto` file declares, read without parsing the whole file.
fn declared_package(text: &str) -> String {
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("package") {
            let rest = rest.trim_start();
            if let Some(name) = rest.split(';').next().filter(|_| rest.contains(';')) {
                return name.trim().to_owned();
            }
        }
    }
    String::new()
}

/// The include root of a `.proto` file: its directory, minus trailing directories that
/// spell its package (`protobuf/domain/domain.proto` of package `domain` → `protobuf`), so
/// that imports written relative to that root resolve.
fn include_root(file: &Path, package: &str) -> PathBuf {
    let mut dir = file.parent().unwrap_or(Path::new(".")).to_owned();
    let parts: Vec<&str> = package.split('.').filter(|part| !part.is_empty()).collect();
    let names: Vec<String> =
        dir.components().rev().take(parts.len()).map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if !parts.is_empty() && names.len() == parts.len() && names.iter().rev().zip(&parts).all(|(a, b)| a == b) {
        for _ in &parts {
            dir.pop();
        }
    }
    dir
}

/// The module path of a descriptor file: `google/protobuf/any.proto` → `google.protobuf.any_pb2`;
/// others by package.
fn module_name(file: &FileDescriptorProto) -> String {
    let name = file.name();
    if let Some(rest) = name.strip_prefix("google/protobuf/") {
        return format!("google.protobuf.{}_pb2", rest.trim_end_matches(".proto").replace('/', "."));
    }
    let stem = Path::new(name).file_stem().map_or("messages".into(), |stem| stem.to_string_lossy().into_owned());
    let stem = stem.replace(['-', '.'], "_");
    match file.package() {
        "" => format!("{stem}_pb2"),
        package => format!("{package}.{stem}_pb2"),
    }
}

fn python_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 3);
    out.push_str("b'");
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(byte as char),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push('\'');
    out
}

/// A protox error as `file:line:column: message` lines (its own and its related ones).
fn located(error: &protox::Error, includes: &[PathBuf]) -> String {
    use miette::Diagnostic;
    let file = error.file().and_then(|name| includes.iter().map(|root| root.join(name)).find(|path| path.is_file()));
    let mut lines = Vec::new();
    let mut push = |diagnostic: &dyn Diagnostic, message: String| {
        let offset = diagnostic.labels().and_then(|mut labels| labels.next()).map(|label| label.offset());
        match (&file, offset) {
            (Some(path), Some(offset)) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let before = &text[..offset.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
                lines.push(format!("{}:{line}:{column}: {message}", path.display()));
            }
            (Some(path), None) => lines.push(format!("{}: {message}", path.display())),
            _ => lines.push(message),
        }
    };
    let related: Vec<_> = error.related().map(|related| related.collect()).unwrap_or_default();
    if related.is_empty() {
        push(error, error.to_string());
    }
    for diagnostic in related {
        push(diagnostic, diagnostic.to_string());
    }
    lines.join("\n")
}

/// Compiles `files` (each with its include root: see [`include_root`]) into a descriptor
/// set holding them and everything they import, dependencies first. A syntax or type error
/// names the file, line and column.
pub fn compile_protos(files: &[PathBuf]) -> anyhow::Result<FileDescriptorSet> {
    let mut includes: Vec<PathBuf> = Vec::new();
    let mut relative = Vec::new();
    for file in files {
        let file = file.canonicalize().with_context(|| format!("{} does not exist", file.display()))?;
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let root = include_root(&file, &declared_package(&text));
        relative.push(file.strip_prefix(&root).expect("the root is an ancestor").to_owned());
        if !includes.contains(&root) {
            includes.push(root);
        }
    }
    let mut compiler = protox::Compiler::new(&includes).context("setting up the protobuf compiler")?;
    compiler.include_imports(true).include_source_info(false);
    compiler.open_files(&relative).map_err(|error| anyhow::anyhow!("{}", located(&error, &includes)))?;
    Ok(compiler.file_descriptor_set())
}

/// Compiles `files` and returns one module per file (well-known types excluded: the
/// `protobuf` package has them).
pub fn generate_pb2(files: &[PathBuf]) -> anyhow::Result<Vec<GeneratedModule>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let set = compile_protos(files)?;
    let mut modules = Vec::new();
    for file in &set.file {
        if file.name().starts_with("google/protobuf/") {
            continue;
        }
        let module = module_name(file);
        let mut source = format!(
            "# -*- coding: utf-8 -*-\n# Generated by spawn-wasm build from {}. DO NOT EDIT.\n\"\"\"Generated protocol buffer code.\"\"\"\n\
             from google.protobuf import descriptor_pool as _descriptor_pool\n\
             from google.protobuf import symbol_database as _symbol_database\n\
             from google.protobuf.internal import builder as _builder\n\n_sym_db = _symbol_database.Default()\n\n",
            file.name()
        );
        for (index, dependency) in file.dependency.iter().enumerate() {
            let dependency = set.file.iter().find(|f| f.name() == dependency).context("an imported file")?;
            let _ = writeln!(source, "import {} as _dependency_{index}  # noqa: F401", module_name(dependency));
        }
        let _ = write!(
            source,
            "\nDESCRIPTOR = _descriptor_pool.Default().AddSerializedFile({})\n\n_globals = globals()\n\
             _builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, _globals)\n\
             _builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, {module:?}, _globals)\n",
            python_bytes(&file.encode_to_vec())
        );
        modules.push(GeneratedModule { path: format!("{}.py", module.replace('.', "/")), source });
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_decides_the_root_and_the_module() {
        let dir = tempfile::tempdir().unwrap();
        let proto = dir.path().join("protobuf/domain/domain.proto");
        std::fs::create_dir_all(proto.parent().unwrap()).unwrap();
        std::fs::write(&proto, "syntax = \"proto3\";\npackage domain;\nmessage Request { string language = 1; }\n")
            .unwrap();
        let other = dir.path().join("protobuf/domain/other.proto");
        std::fs::write(
            &other,
            "syntax = \"proto3\";\npackage domain;\nimport \"domain/domain.proto\";\nimport \"google/protobuf/any.proto\";\n\
             message Wrapper { Request request = 1; google.protobuf.Any any = 2; }\n",
        )
        .unwrap();
        let modules = generate_pb2(&[proto, other]).unwrap();
        let paths: Vec<_> = modules.iter().map(|module| module.path.as_str()).collect();
        assert_eq!(paths, ["domain/domain_pb2.py", "domain/other_pb2.py"]);
        assert!(modules[1].source.contains("import domain.domain_pb2 as _dependency_0"));
        assert!(modules[1].source.contains("import google.protobuf.any_pb2 as _dependency_1"));
        assert!(modules[0].source.contains("\"domain.domain_pb2\""));
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let proto = dir.path().join("broken.proto");
        std::fs::write(&proto, "syntax = \"proto3\";\nmessage Broken {\n  string = 1;\n}\n").unwrap();
        let error = generate_pb2(&[proto]).unwrap_err().to_string();
        assert!(error.contains("broken.proto"), "{error}");
    }

    #[test]
    fn bytes_are_python_literals() {
        assert_eq!(python_bytes(b"a'\\\n\x00\xff"), "b'a\\'\\\\\\n\\x00\\xff'");
    }
}
