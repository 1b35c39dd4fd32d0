//! The `diagram` step of `cargo xtask test`: every environment's SVG rendered again by
//! Graphviz, the checked-in diagrams checked fresh, and a screenshot of the prod diagram in
//! headless Chromium for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::drawing::{
    DIR, check_all, graphviz_version_of, installed_graphviz, source_mark, source_mark_of, sources,
    svg,
};
use crate::env;
use crate::tools::{self, project_root};

/// The `diagram` step of `cargo xtask test`: renders every environment's SVG again with
/// Graphviz (installing it if needed), checks the checked-in files are fresh, and takes a
/// screenshot of the prod diagram in headless Chromium for a person to look at.
pub fn check_diagrams() -> anyhow::Result<String> {
    let root = project_root();
    tools::ensure_debian(&tools::GRAPHVIZ)?;
    check_all(&root)?;
    let names = env::names(&root)?;
    let installed = installed_graphviz().unwrap_or_default();
    let prod_svg = std::fs::read_to_string(root.join(DIR).join("prod.svg")).unwrap_or_default();
    let compared = match graphviz_version_of(&prod_svg) {
        Some(version) if version == installed => "byte for byte".to_owned(),
        other => format!(
            "by the DOT they were rendered from (checked in from Graphviz {}, {installed} here)",
            other.unwrap_or("unknown")
        ),
    };
    let artifacts = root
        .join("target")
        .join("browser-artifacts")
        .join("diagrams");
    std::fs::create_dir_all(&artifacts)?;
    for name in &names {
        let sources = sources(&root, name)?;
        let svg = svg(&sources.dot)?;
        if !svg.contains("<svg") || source_mark_of(&svg) != Some(source_mark(&sources.dot)) {
            bail!("Graphviz's SVG of {name} is not marked with its DOT");
        }
        std::fs::write(artifacts.join(format!("{name}.svg")), &svg)?;
    }
    let prod = if names.iter().any(|n| n == "prod") {
        "prod"
    } else {
        names.first().map(String::as_str).unwrap_or("prod")
    };
    let shot = screenshot(&artifacts.join(format!("{prod}.svg")), &artifacts)?;
    Ok(format!(
        "{} diagrams fresh, SVGs compared {compared}; screenshot {}",
        names.len(),
        shot.strip_prefix(&root).unwrap_or(&shot).display()
    ))
}

/// A PNG of `svg` as Chromium shows it, at the SVG's own size.
pub fn screenshot(svg: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let chromium = tools::ensure_debian(&tools::CHROMIUM)?;
    let text = std::fs::read_to_string(svg)?;
    let (width, height) = svg_size(&text).unwrap_or((1600, 900));
    let stem = svg.file_stem().unwrap_or_default().to_string_lossy();
    let png = dir.join(format!("{stem}.png"));
    let profile = project_root()
        .join("target")
        .join("diagram-chromium-profile");
    let status = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", svg.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {}", chromium.display()))?;
    let written = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    if !status.success() || written < 10_000 {
        bail!(
            "Chromium did not take a screenshot of {} ({status}, {written} bytes)",
            svg.display()
        );
    }
    Ok(png)
}

/// The SVG's `width` and `height` in CSS pixels (Graphviz writes points: 4/3 of a pixel).
fn svg_size(svg: &str) -> Option<(u64, u64)> {
    let attribute = |name: &str| {
        let start = svg.find(&format!("{name}=\""))? + name.len() + 2;
        let value = &svg[start..start + svg[start..].find('"')?];
        let points: f64 = value.trim_end_matches("pt").parse().ok()?;
        Some((points * 4.0 / 3.0).ceil() as u64)
    };
    Some((attribute("width")?, attribute("height")?))
}
