//! `spawn-wasm`: the binary. Parses the command line, sets up logging, runs a mode until it
//! fails or the process is asked to stop.

use clap::Parser;
use spawn_wasm_host::cli::{Cli, Command};
use spawn_wasm_host::sidecar::Sidecar;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Sidecar(args) => {
            let sidecar = Sidecar::start(args.config()).await?;
            tokio::select! {
                result = sidecar.wait() => result,
                () = shutdown_signal() => {
                    tracing::info!("shutting down");
                    Ok(())
                }
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
