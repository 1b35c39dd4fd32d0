//! `cargo xtask test`: every check CI runs, in order, with a summary at the end.
//!
//! Each step runs even when an earlier one failed, so one run shows every problem.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::tools::{self, project_root};

#[derive(clap::Args)]
pub struct Args {
    /// Skip the slow template validators (SAM expansion, cfn-lint, sam validate, checkov)
    #[arg(long)]
    pub no_validate: bool,
    /// Seconds each libFuzzer target runs in the fuzz step
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub fuzz_seconds: u32,
    /// Test cases schemathesis generates per API operation
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub schemathesis_examples: u32,
}

struct Step {
    name: &'static str,
    run: Box<dyn Fn() -> anyhow::Result<String>>,
}

impl Step {
    fn new(name: &'static str, run: impl Fn() -> anyhow::Result<String> + 'static) -> Step {
        Step {
            name,
            run: Box::new(run),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let budget = crate::fuzz::Budget {
        fuzz_seconds: args.fuzz_seconds,
        schemathesis_examples: args.schemathesis_examples,
    };
    // The fuzz steps come after cargo test (which empties the evidence folder) and before the
    // reliability summary, which counts what they ran.
    let mut steps = vec![
        Step::new("rustfmt", rustfmt),
        Step::new("clippy", clippy),
        Step::new("cargo test", cargo_test),
        Step::new("fuzz", move || crate::fuzz::run_fuzz_targets(budget)),
        Step::new("schemathesis", move || {
            crate::fuzz::run_schemathesis(budget)
        }),
        Step::new("reliability summary", crate::reliability::summary),
        Step::new("browser", crate::browser::run_browser_tests),
        Step::new("diagram", crate::diagram::test_step),
        Step::new("zizmor", zizmor),
    ];
    if !args.no_validate {
        steps.push(Step::new("sam expand", sam_expand));
        steps.push(Step::new("cfn-lint", cfn_lint));
        steps.push(Step::new("sam validate", sam_validate));
        steps.push(Step::new("checkov", checkov));
    }

    let mut results = Vec::new();
    for step in &steps {
        eprintln!("\n==> {}", step.name);
        let started = Instant::now();
        let outcome = (step.run)();
        let seconds = started.elapsed().as_secs_f64();
        match &outcome {
            Ok(summary) => eprintln!("<== {}: ok ({seconds:.1} s) {summary}", step.name),
            Err(err) => eprintln!("<== {}: FAILED ({seconds:.1} s): {err:#}", step.name),
        }
        results.push((step.name, seconds, outcome));
    }

    println!("\nsummary");
    for (name, seconds, outcome) in &results {
        match outcome {
            Ok(summary) => println!("  ok      {name:<14} {seconds:>6.1} s  {summary}"),
            Err(err) => println!("  FAILED  {name:<14} {seconds:>6.1} s  {err:#}"),
        }
    }
    let failed = results
        .iter()
        .filter(|(_, _, outcome)| outcome.is_err())
        .count();
    println!("steps: {} passed, {failed} failed", results.len() - failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn rustfmt() -> anyhow::Result<String> {
    check(cargo().args(["fmt", "--all", "--check"]))?;
    Ok("formatted".into())
}

fn clippy() -> anyhow::Result<String> {
    check(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    Ok("no warnings".into())
}

fn cargo_test() -> anyhow::Result<String> {
    // The reliability summary counts only what this run's tests write down.
    crate::reliability::clear_evidence()?;
    let moto = tools::ensure(&tools::MOTO_SERVER)?;
    check(
        cargo()
            .args(["test", "--workspace"])
            .env("CHATBOT_MOTO_SERVER", moto),
    )?;
    Ok("all tests passed".into())
}

/// Expands every template with the real SAM translator, in one process, into
/// `target/expanded/<env>.json` for cfn-lint and checkov: what CloudFormation runs.
fn sam_expand() -> anyhow::Result<String> {
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

/// The CI workflows hold roles that deploy to AWS: no finding of medium or high severity is
/// allowed. Offline, so no GitHub token is needed or used (the online audits, which look up
/// advisories and tags on GitHub, are skipped).
fn zizmor() -> anyhow::Result<String> {
    let bin = tools::ensure(&tools::ZIZMOR)?;
    let workflows = Path::new(".github").join("workflows");
    check(
        Command::new(bin)
            .args(["--offline", "--min-severity", "medium", "--no-progress"])
            .arg(&workflows)
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .env_remove("ZIZMOR_GITHUB_TOKEN"),
    )?;
    Ok(format!(
        "{}: no medium or high findings",
        workflows.display()
    ))
}

fn cfn_lint() -> anyhow::Result<String> {
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

fn sam_validate() -> anyhow::Result<String> {
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

fn checkov() -> anyhow::Result<String> {
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
        // requirement itself (the form API Gateway documents, tested in xtask/tests/stack.rs).
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

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(project_root());
    command
}

fn check(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .current_dir(project_root())
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{:?} exited with {status}", command.get_program());
    }
    Ok(())
}
