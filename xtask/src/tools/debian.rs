//! Programs from Debian packages (Chromium, Graphviz), installed with apt when missing.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// A program from a Debian package, installed with apt when missing and running as root (as
/// CI does); otherwise the error says what to install.
pub struct DebianTool {
    /// Where the package puts the program.
    pub bin: &'static str,
    pub package: &'static str,
}

/// Debian's Chromium, for the browser tests and the diagram's screenshot.
pub const CHROMIUM: DebianTool = DebianTool {
    bin: "/usr/bin/chromium",
    package: "chromium",
};

/// Graphviz, which renders the architecture diagram's SVG (`cargo xtask diagram`).
pub const GRAPHVIZ: DebianTool = DebianTool {
    bin: "/usr/bin/dot",
    package: "graphviz",
};

/// The path of `tool`'s program, installing its package with `apt-get` first when it is
/// missing and this process runs as root.
pub fn ensure_debian(tool: &DebianTool) -> anyhow::Result<PathBuf> {
    let bin = PathBuf::from(tool.bin);
    if bin.exists() {
        return Ok(bin);
    }
    if !is_root() {
        bail!(
            "{} is not installed, and installing it needs root: run `sudo apt-get install {}`",
            tool.bin,
            tool.package
        );
    }
    eprintln!("installing {} with apt-get", tool.package);
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", tool.package][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| format!("could not run apt-get to install {}", tool.package))?;
        if !status.success() {
            bail!("`apt-get {}` failed with {status}", args.join(" "));
        }
    }
    if !bin.exists() {
        bail!(
            "installing the {} package did not provide {}",
            tool.package,
            tool.bin
        );
    }
    Ok(bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}
