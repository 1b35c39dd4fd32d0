//! Outside tools the tasks need, installed on first use into `target/tools/`, one Python venv
//! each so their dependency pins never meet; `cargo install`ed ones likewise; programs from
//! Debian packages (Chromium, Graphviz) in `debian.rs`; the browser tests' npm packages in
//! [`browser`]; the local OpenID provider's (`dev/oidc/`) through [`npm`].

pub mod browser;
mod debian;
pub mod npm;

pub use debian::{CHROMIUM, DebianTool, GRAPHVIZ, ensure_debian};

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// A command-line tool shipped as a PyPI package.
pub struct PyTool {
    /// Folder name of its venv under `target/tools/`.
    pub venv: &'static str,
    /// What `pip install` gets.
    pub packages: &'static [&'static str],
    /// The executable inside the venv's `bin/`.
    pub bin: &'static str,
}

pub const CFN_LINT: PyTool = PyTool {
    venv: "cfn-lint",
    packages: &["cfn-lint>=1.58"],
    bin: "cfn-lint",
};
pub const SAM: PyTool = PyTool {
    venv: "sam",
    packages: &["aws-sam-cli"],
    bin: "sam",
};
/// The library behind CloudFormation's `AWS::Serverless-2016-10-31` transform: expands the
/// templates for the validators and the tests; `bin` is the venv's interpreter.
pub const SAM_TRANSLATOR: PyTool = PyTool {
    venv: "sam-translator",
    packages: &["aws-sam-translator>=1.115"],
    bin: "python",
};
pub const CHECKOV: PyTool = PyTool {
    venv: "checkov",
    packages: &["checkov"],
    bin: "checkov",
};
pub const MOTO_SERVER: PyTool = PyTool {
    venv: "moto",
    packages: &["moto[server,cloudformation]>=5.1"],
    bin: "moto_server",
};
/// boto3 for the Python handler `cargo xtask bench` compares cold starts with; `bin` is the
/// venv's interpreter.
pub const BOTO3: PyTool = PyTool {
    venv: "boto3",
    packages: &["boto3"],
    bin: "python",
};
pub const CARGO_LAMBDA: PyTool = PyTool {
    venv: "cargo-lambda",
    packages: &["cargo-lambda", "ziglang"],
    bin: "cargo-lambda",
};
/// Property-based tests of the API from its OpenAPI document (`cargo xtask test`).
pub const SCHEMATHESIS: PyTool = PyTool {
    venv: "schemathesis",
    packages: &["schemathesis>=4.32,<5"],
    bin: "schemathesis",
};

/// Static analysis of the GitHub Actions workflows (`cargo xtask test`), which hold deploy
/// roles: unpinned actions, persisted credentials, broad permissions, template injection.
pub const ZIZMOR: PyTool = PyTool {
    venv: "zizmor",
    packages: &["zizmor>=1.32,<2"],
    bin: "zizmor",
};

/// A command-line tool built from crates.io with `cargo install --locked`.
pub struct CargoTool {
    /// Folder under `target/tools/` given to `cargo install --root`.
    pub root: &'static str,
    pub krate: &'static str,
    pub version: &'static str,
    /// The executable in the root's `bin/`.
    pub bin: &'static str,
}

/// Dependencies declared and never used, read from the sources (no build needed). Version
/// 0.9.2 builds with `cargo install` in about a minute on two cores.
pub const CARGO_MACHETE: CargoTool = CargoTool {
    root: "cargo-machete",
    krate: "cargo-machete",
    version: "0.9.2",
    bin: "cargo-machete",
};

/// libFuzzer fuzz targets (`fuzz/`): builds them with the sanitizer and coverage flags.
pub const CARGO_FUZZ: CargoTool = CargoTool {
    root: "cargo-fuzz",
    krate: "cargo-fuzz",
    version: "0.13.2",
    bin: "cargo-fuzz",
};

/// The workspace's root folder.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

/// Where cargo writes what it builds: the workspace's `target_directory` as `cargo metadata`
/// reports it, so `CARGO_TARGET_DIR` and `build.target-dir` are honoured; `target/` when cargo
/// cannot say.
pub fn cargo_target_dir() -> PathBuf {
    let root = project_root();
    let reported = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(&root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| serde_json::from_slice::<serde_json::Value>(&output.stdout).ok())
        .and_then(|metadata| metadata["target_directory"].as_str().map(PathBuf::from));
    reported.unwrap_or_else(|| root.join("target"))
}

pub fn tools_dir() -> PathBuf {
    project_root().join("target").join("tools")
}

/// The path of `tool`'s executable, installing it first when its venv is missing or was made
/// for other packages.
pub fn ensure(tool: &PyTool) -> anyhow::Result<PathBuf> {
    let venv = tools_dir().join(tool.venv);
    let bin = venv.join("bin").join(tool.bin);
    let stamp = venv.join(".installed");
    let wanted = tool.packages.join(" ");
    if bin.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(bin);
    }
    eprintln!("installing {wanted} into {}", venv.display());
    run(Command::new(python())
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(tool.packages))?;
    if !bin.exists() {
        bail!("installing {wanted} did not produce {}", bin.display());
    }
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(bin)
}

/// The path of `tool`'s executable, building it with `cargo install` first when it is missing
/// or of another version.
pub fn ensure_cargo(tool: &CargoTool) -> anyhow::Result<PathBuf> {
    let root = tools_dir().join(tool.root);
    let bin = root.join("bin").join(tool.bin);
    let stamp = root.join(".installed");
    let wanted = format!("{}@{}", tool.krate, tool.version);
    if bin.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(bin);
    }
    eprintln!("installing {wanted} into {}", root.display());
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["install", "--locked", "--force", "--root"])
            .arg(&root)
            .arg(&wanted),
    )?;
    if !bin.exists() {
        bail!("installing {wanted} did not produce {}", bin.display());
    }
    std::fs::write(&stamp, &wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(bin)
}

fn python() -> &'static str {
    if Command::new("python3").arg("--version").output().is_ok() {
        "python3"
    } else {
        "python"
    }
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
