//! The JavaScript SDK (`guest-sdk/js/src`) and the `spawn-wasm new --lang js` template
//! (`guest-sdk/js/template`), embedded so that `spawn-wasm build` works from an installed
//! binary. Listed by hand with `include_str!` (a test checks the lists are complete): files
//! included from the source tree are tracked by cargo per checkout, where a build script's
//! output would be shared by every checkout that builds into one target directory.

/// The SDK's sources: (path, contents).
pub const JS_SDK_FILES: &[(&str, &str)] = &[
    ("actor.ts", include_str!("../../guest-sdk/js/src/actor.ts")),
    ("component.ts", include_str!("../../guest-sdk/js/src/component.ts")),
    ("index.ts", include_str!("../../guest-sdk/js/src/index.ts")),
    ("protobuf.ts", include_str!("../../guest-sdk/js/src/protobuf.ts")),
    ("runtime.ts", include_str!("../../guest-sdk/js/src/runtime.ts")),
    ("spawn_messages.ts", include_str!("../../guest-sdk/js/src/spawn_messages.ts")),
    ("stack.ts", include_str!("../../guest-sdk/js/src/stack.ts")),
    ("value.ts", include_str!("../../guest-sdk/js/src/value.ts")),
    ("warnings.ts", include_str!("../../guest-sdk/js/src/warnings.ts")),
    ("wit.d.ts", include_str!("../../guest-sdk/js/src/wit.d.ts")),
];

/// The template's files (`actor_name` stands for the project's name): (path, contents).
pub const JS_TEMPLATE_FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../guest-sdk/js/template/README.md")),
    ("package.json", include_str!("../../guest-sdk/js/template/package.json")),
    ("proto/actor_name.proto", include_str!("../../guest-sdk/js/template/proto/actor_name.proto")),
    ("src/main.ts", include_str!("../../guest-sdk/js/template/src/main.ts")),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn files(root: &Path, dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(root, &path, found);
            } else {
                found.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_is_embedded() {
        let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/js");
        for (dir, embedded) in [("src", super::JS_SDK_FILES), ("template", super::JS_TEMPLATE_FILES)] {
            let mut found = Vec::new();
            files(&js.join(dir), &js.join(dir), &mut found);
            found.sort();
            let listed: Vec<&str> = embedded.iter().map(|(name, _)| *name).collect();
            assert_eq!(found, listed, "guest-sdk/js/{dir} and its list in js_files.rs differ");
        }
    }
}
