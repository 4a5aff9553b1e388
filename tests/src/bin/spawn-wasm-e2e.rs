//! The `spawn-wasm` binary, built as part of this package so that the end-to-end tests can
//! run it as a process (`CARGO_BIN_EXE_spawn-wasm-e2e`).

fn main() -> anyhow::Result<()> {
    spawn_wasm_host::cli::main()
}
