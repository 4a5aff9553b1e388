//! `cargo xtask install-browser`: Chromium and its WebDriver from Debian packages, for the
//! console's browser tests (`tests/all/console.rs`). Debian's `chromium` and
//! `chromium-driver` are built together, so the driver always matches the browser.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The packages, and the programs the tests look for.
const PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];
const PROGRAMS: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];

/// Installs the packages with apt-get (through sudo unless root), unless already present.
pub fn install() -> anyhow::Result<()> {
    if PROGRAMS.iter().all(|program| Path::new(program).exists()) {
        println!("chromium and chromedriver are installed");
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().context("running `id -u`")?.stdout == b"0\n";
    let apt = |args: &[&str]| -> anyhow::Result<()> {
        let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            command.arg("apt-get");
        }
        let status = command.args(args).env("DEBIAN_FRONTEND", "noninteractive").status().context("running apt-get")?;
        if !status.success() {
            bail!("`apt-get {}` failed ({status}); the console tests need Debian's {PACKAGES:?}", args.join(" "));
        }
        Ok(())
    };
    apt(&["update"])?;
    apt(&[&["install", "-y", "--no-install-recommends"][..], &PACKAGES[..]].concat())
}
