//! `spawn-wasm`: runs Spawn actors compiled to WebAssembly components (see `spawn-wasm --help`).

fn main() -> anyhow::Result<()> {
    spawn_wasm_host::cli::main()
}
