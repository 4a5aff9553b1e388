//! Builds the example components before the tests compile, so that `cargo test` alone
//! tests the real components of this checkout. Their directory reaches the tests as
//! `SPAWN_WASM_EXAMPLES`.

fn main() {
    let root = xtask::workspace_root();
    for input in ["examples", "guest-sdk", "builder/src", "builder/js-tools", "builder/wit-python", "wit", "Cargo.lock"]
    {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    if let Err(error) = xtask::build_examples(&root) {
        panic!("building the example components failed: {error:#}");
    }
    println!("cargo:rustc-env=SPAWN_WASM_EXAMPLES={}", xtask::actors_dir(&root).display());
    println!("cargo:rustc-env=SPAWN_WASM_FIXTURES={}", xtask::fixtures_dir(&root).display());
}
