//! Outside tools the tasks need, installed on first use into `target/tools/`, one Python venv
//! each so their dependency pins never meet.

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

/// libFuzzer fuzz targets (`fuzz/`): builds them with the sanitizer and coverage flags.
pub const CARGO_FUZZ: CargoTool = CargoTool {
    root: "cargo-fuzz",
    krate: "cargo-fuzz",
    version: "0.13.2",
    bin: "cargo-fuzz",
};

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

/// The workspace's root folder.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
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
