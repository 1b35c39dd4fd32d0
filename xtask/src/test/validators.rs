//! The template validators: the real SAM translator expands every template, then cfn-lint,
//! `sam validate` and checkov check the templates and what they expand to.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::check;
use crate::tools::{self, project_root};

/// Expands every template with the real SAM translator, in one process, into
/// `target/expanded/<env>.json` for cfn-lint and checkov: what CloudFormation runs.
pub(super) fn sam_expand() -> anyhow::Result<String> {
    let dir = crate::sam::expanded_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let root = project_root();
    let mut requests = Vec::new();
    for template in templates()? {
        let name = template
            .file_stem()
            .and_then(|s| s.to_str())
            .context("a template's name")?
            .to_owned();
        let region = crate::env::load(&root, &name)?.region;
        let yaml = std::fs::read_to_string(root.join(&template))
            .with_context(|| format!("reading {}", template.display()))?;
        requests.push(crate::sam::Request::from_yaml(
            &name,
            &yaml,
            crate::sam::sample_parameters(&region),
        )?);
    }
    let mut counts = Vec::new();
    for (request, mut expanded) in requests.iter().zip(crate::sam::expand(&requests)?) {
        counts.push(format!(
            "{} {}",
            request.name,
            expanded["Resources"].as_object().map_or(0, |r| r.len())
        ));
        // The transform resolves the code parameters into the function's `Code`, so in the
        // expanded template they are unused by design (W2001); nothing else is silenced.
        expanded["Metadata"]["cfn-lint"]["config"]["ignore_checks"] = serde_json::json!(["W2001"]);
        let path = dir.join(format!("{}.json", request.name));
        std::fs::write(&path, serde_json::to_string_pretty(&expanded)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(format!(
        "resources after the transform: {}",
        counts.join(", ")
    ))
}

/// The expanded templates the `sam expand` step wrote.
fn expanded_templates() -> anyhow::Result<Vec<PathBuf>> {
    let dir = crate::sam::expanded_dir();
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    if found.len() != templates()?.len() {
        bail!(
            "no expanded templates in {}: the sam expand step failed",
            dir.display()
        );
    }
    Ok(found.iter().map(|t| relative(t)).collect())
}

pub(super) fn cfn_lint() -> anyhow::Result<String> {
    let bin = tools::ensure(&tools::CFN_LINT)?;
    let templates = templates()?;
    let expanded = expanded_templates()?;
    // One process for both: cfn-lint's start-up costs more than a template.
    check(Command::new(bin).arg("--").args(&templates).args(&expanded))?;
    Ok(format!(
        "{} templates and {} expanded: 0 errors, 0 warnings",
        templates.len(),
        expanded.len()
    ))
}

pub(super) fn sam_validate() -> anyhow::Result<String> {
    let bin = tools::ensure(&tools::SAM)?;
    let templates = templates()?;
    for template in &templates {
        check(
            Command::new(&bin)
                .args([
                    "validate",
                    "--lint",
                    "--region",
                    "us-east-1",
                    "--template-file",
                ])
                .arg(template)
                .env("SAM_CLI_TELEMETRY", "0"),
        )?;
    }
    Ok(format!("{} templates valid", templates.len()))
}

pub(super) fn checkov() -> anyhow::Result<String> {
    let bin = tools::ensure(&tools::CHECKOV)?;
    let templates = templates()?;
    let expanded = expanded_templates()?;
    let mut command = Command::new(bin);
    command.args([
        "--framework",
        "cloudformation",
        "--skip-download",
        "--compact",
        "--quiet",
    ]);
    for template in templates.iter().chain(&expanded) {
        command.arg("--file").arg(template);
    }
    check(&mut command)?;

    // The REST API's OpenAPI body, as API Gateway imports it, checked as an API document.
    let documents = openapi_documents(&templates)?;
    let mut command = Command::new(tools::ensure(&tools::CHECKOV)?);
    command.args([
        "--framework",
        "openapi",
        "--skip-download",
        "--compact",
        "--quiet",
        // CKV_OPENAPI_4 wants a document-wide `security`: every operation lists the API key
        // requirement itself (the form API Gateway documents, tested in xtask/tests/it/stack.rs).
        // CKV_OPENAPI_20 wants `servers` with https URLs to prove the key is not sent in
        // clear: execute-api answers HTTPS only and CloudFront reaches it https-only; the
        // document names no server because API Gateway reads a base path from one.
        "--skip-check",
        "CKV_OPENAPI_4,CKV_OPENAPI_20",
    ]);
    for document in &documents {
        command.arg("--file").arg(document);
    }
    check(&mut command)?;
    Ok(format!(
        "{} templates, {} expanded and {} OpenAPI bodies: 0 failed checks",
        templates.len(),
        expanded.len(),
        documents.len()
    ))
}

/// Writes the OpenAPI body of each template's REST API to `target/openapi/<template>.json`.
fn openapi_documents(templates: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let dir = Path::new("target").join("openapi");
    std::fs::create_dir_all(project_root().join(&dir))?;
    let mut documents = Vec::new();
    for template in templates {
        let text = std::fs::read_to_string(project_root().join(template))?;
        let doc: serde_yaml::Value = serde_yaml::from_str(&text)
            .with_context(|| format!("reading {}", template.display()))?;
        let body = &doc["Resources"][crate::stack::ids::REST_API]["Properties"]["Body"];
        if body.is_null() {
            bail!("{} has no REST API body", template.display());
        }
        let name = template.file_stem().unwrap_or_default().to_string_lossy();
        let document = dir.join(format!("{name}.json"));
        std::fs::write(
            project_root().join(&document),
            serde_json::to_string_pretty(body)?,
        )?;
        documents.push(document);
    }
    Ok(documents)
}

/// The rendered templates; at least one must exist, or there is nothing to validate.
fn templates() -> anyhow::Result<Vec<PathBuf>> {
    let dir = project_root().join("templates");
    let mut templates: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    templates.sort();
    if templates.is_empty() {
        bail!(
            "no templates in {}: run `cargo xtask synth --all`",
            dir.display()
        );
    }
    Ok(templates.iter().map(|t| relative(t)).collect())
}

fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(project_root())
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}
