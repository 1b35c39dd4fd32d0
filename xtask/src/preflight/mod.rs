//! Preflight: what would make a deploy fail, or deploy a chatbot that cannot answer, found
//! before any change set. Every allowed model is usable by the account in the region, the
//! function's reserved concurrency fits the account's, names fit their limits, and the custom
//! domain's certificate is valid for it.
//!
//! **Pure**: AWS's answers come in as [`Answers`] (gathered by `crate::aws::preflight`), the
//! report goes out as text or JSON. Each problem is one paragraph saying what is wrong and
//! exactly what to do; every problem is listed, not just the first. A check whose call was
//! refused or failed is a warning naming the permission or the failure: never a pass.

mod certificate;
mod concurrency;
mod models;
pub mod template;

use serde::Serialize;

use crate::env::Environment;
use crate::review::Palette;

pub use certificate::{Certificate, covers};
pub use concurrency::{AccountConcurrency, minimum_unreserved};
pub use models::{
    Availability, FoundationModel, InferenceProfile, ModelAnswers, ModelLookup, console_url,
    model_lookup,
};

/// What one preflight call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    Answered(T),
    /// The caller may not make the call: the IAM action it lacks.
    Denied {
        action: String,
    },
    /// The call failed otherwise, as a sentence.
    Failed(String),
}

impl<T> Reply<T> {
    pub fn answered(&self) -> Option<&T> {
        match self {
            Reply::Answered(value) => Some(value),
            _ => None,
        }
    }
}

/// Everything preflight asked AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// One per allowed model, in the environment's order.
    pub models: Vec<ModelAnswers>,
    /// Whether Anthropic's first-time use-case form was submitted for the account; asked only
    /// when an allowed model is Anthropic's.
    pub use_case_submitted: Option<Reply<bool>>,
    pub concurrency: Reply<AccountConcurrency>,
    /// What the deployed stack's functions reserve today (0 for a new stack).
    pub stack_reserved: Reply<u32>,
    /// The custom domain's certificate (`None` inside: ACM knows no such certificate); asked
    /// only when the environment has a domain.
    pub certificate: Option<Reply<Option<Certificate>>>,
}

/// What preflight knows without asking AWS.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub env: &'a Environment,
    pub account: &'a str,
    /// The template to deploy (YAML).
    pub template: &'a str,
    /// Seconds since the Unix epoch, for certificate expiry.
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The deploy would fail, or deploy a chatbot that cannot answer: preflight stops it.
    Problem,
    /// Worth knowing; the deploy goes on.
    Warning,
    /// A check that could not run (its call was refused or failed); the deploy goes on, and
    /// nothing it would have checked counts as passed.
    Unchecked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    Model,
    Concurrency,
    Name,
    Certificate,
}

/// One paragraph of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub check: Check,
    /// What it is about: a model id, a resource's logical id, a certificate ARN.
    pub subject: String,
    pub text: String,
}

impl Finding {
    fn problem(check: Check, subject: impl Into<String>, text: String) -> Finding {
        Finding {
            severity: Severity::Problem,
            check,
            subject: subject.into(),
            text,
        }
    }

    fn warning(check: Check, subject: impl Into<String>, text: String) -> Finding {
        Finding {
            severity: Severity::Warning,
            check,
            subject: subject.into(),
            text,
        }
    }

    /// A check that could not run.
    fn unchecked<T>(check: Check, subject: &str, what: &str, reply: &Reply<T>) -> Option<Finding> {
        let why = match reply {
            Reply::Answered(_) => return None,
            Reply::Denied { action } => format!(
                "the credentials may not call {action} (AccessDenied). Grant {action} to the \
                 deploy role (docs/deploy-role-policy.json has it)"
            ),
            Reply::Failed(error) => error.trim_end_matches('.').to_owned(),
        };
        Some(Finding {
            severity: Severity::Unchecked,
            check,
            subject: subject.to_owned(),
            text: format!("Not checked: {what}: {why}. Preflight went on without this check"),
        })
    }
}

/// The preflight's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub env: String,
    pub account: String,
    pub region: String,
    pub findings: Vec<Finding>,
    /// What was checked and found fine, one short phrase each.
    pub passed: Vec<String>,
}

impl Report {
    pub fn problems(&self) -> usize {
        self.count(Severity::Problem)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    pub fn unchecked(&self) -> usize {
        self.count(Severity::Unchecked)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The error a blocked command ends with.
    pub fn refusal(&self, command: &str) -> Option<String> {
        let problems = self.problems();
        (problems > 0).then(|| {
            format!(
                "preflight found {problems} {} for {} in account {}, {}: nothing was changed; fix \
                 {} and run `cargo xtask {command} --env {}` again (--skip-preflight goes ahead \
                 anyway)",
                plural(problems, "problem", "problems"),
                self.env,
                self.account,
                self.region,
                if problems == 1 { "it" } else { "them" },
                self.env
            )
        })
    }
}

/// Runs every check on what AWS answered.
pub fn check(facts: &Facts<'_>, answers: &Answers) -> Report {
    let env = facts.env;
    let mut findings = Vec::new();
    let mut passed = Vec::new();

    let mut usable = 0;
    for model in &answers.models {
        let before = findings.len();
        models::check(facts, model, &answers.use_case_submitted, &mut findings);
        if findings[before..]
            .iter()
            .all(|f| f.severity == Severity::Warning)
        {
            usable += 1;
        }
    }
    findings.extend(models::use_case_warning(
        facts,
        &answers.models,
        &answers.use_case_submitted,
    ));
    if let Some(finding) = answers.use_case_submitted.as_ref().and_then(|reply| {
        Finding::unchecked(
            Check::Model,
            "anthropic",
            "whether Anthropic's first-time use-case form was submitted",
            reply,
        )
    }) {
        findings.push(finding);
    }
    let total = answers.models.len();
    if usable == total {
        passed.push(format!(
            "{total} {} usable in {}",
            plural(total, "model", "models"),
            env.region
        ));
    } else if usable > 0 {
        passed.push(format!(
            "{usable} of {total} models usable in {}",
            env.region
        ));
    }

    let parsed = template::parse(facts.template);
    let requested = parsed
        .as_ref()
        .map(template::reserved_concurrency)
        .unwrap_or(0);
    let before = findings.len();
    concurrency::check(facts, requested, answers, &mut findings);
    if requested > 0 && findings.len() == before {
        passed.push(format!("reserved concurrency {requested} fits the account"));
    }

    if let Some(parsed) = &parsed {
        let names = template::names(
            parsed,
            template::Place {
                stack_name: &env.stack_name,
                region: &env.region,
                account: facts.account,
            },
        );
        let before = findings.len();
        for name in names.iter().filter(|n| n.too_long()) {
            findings.push(name_finding(env, name));
        }
        let limited = names.iter().filter(|n| n.limit.max.is_some()).count();
        if findings.len() == before && limited > 0 {
            passed.push(format!(
                "{limited} {} within their limits",
                plural(limited, "name", "names")
            ));
        }
    }

    if let (Some(domain), Some(reply)) = (&env.domain, &answers.certificate) {
        let before = findings.len();
        certificate::check(facts, domain, reply, &mut findings);
        if findings.len() == before {
            passed.push(format!("certificate valid for {}", domain.name));
        }
    }

    Report {
        env: env.name.clone(),
        account: facts.account.to_owned(),
        region: env.region.clone(),
        findings,
        passed,
    }
}

fn name_finding(env: &Environment, name: &template::Name) -> Finding {
    let max = name.limit.max.unwrap_or_default();
    let fix = match name.max_stack_name {
        Some(0) => format!(
            "the name is too long whatever the stack is called; shorten what the stack model \
             adds to it in {}",
            name.logical_id
        ),
        Some(longest) => format!(
            "shorten stack_name in envs/{}.toml to at most {longest} characters (\"{}\" has {})",
            env.name,
            env.stack_name,
            env.stack_name.chars().count()
        ),
        None => format!(
            "shorten the {} that the stack model gives {}",
            name.limit.what, name.logical_id
        ),
    };
    Finding::problem(
        Check::Name,
        &name.logical_id,
        format!(
            "The {} of {} would be \"{}\": {} characters, over the limit of {max}. CloudFormation \
             would fail to create it. To fix it, {fix}",
            name.limit.what,
            name.logical_id,
            name.value,
            name.chars()
        ),
    )
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The report as a person reads it: a heading, one paragraph per finding, and what passed.
pub fn render(report: &Report, palette: Palette) -> String {
    let mut out = String::new();
    let heading = format!(
        "Preflight for {} (account {}, {})",
        report.env, report.account, report.region
    );
    if report.findings.is_empty() {
        out.push_str(&format!(
            "{}: {}\n",
            palette.bold(&heading),
            palette.green(&format!("passed ({})", report.passed.join(", ")))
        ));
        return out;
    }
    let mut counts = Vec::new();
    if report.problems() > 0 {
        counts.push(palette.red(&format!(
            "{} {}",
            report.problems(),
            plural(report.problems(), "problem", "problems")
        )));
    }
    if report.warnings() > 0 {
        counts.push(palette.yellow(&format!(
            "{} {}",
            report.warnings(),
            plural(report.warnings(), "warning", "warnings")
        )));
    }
    if report.unchecked() > 0 {
        counts.push(palette.yellow(&format!("{} not checked", report.unchecked())));
    }
    out.push_str(&format!(
        "{}: {}\n",
        palette.bold(&heading),
        counts.join(", ")
    ));
    for severity in [Severity::Problem, Severity::Warning, Severity::Unchecked] {
        for finding in report.findings.iter().filter(|f| f.severity == severity) {
            let mark = match severity {
                Severity::Problem => palette.red("✗"),
                Severity::Warning => palette.yellow("!"),
                Severity::Unchecked => palette.yellow("?"),
            };
            out.push_str(&format!("\n{mark} {}\n", finding.text));
        }
    }
    if !report.passed.is_empty() {
        out.push_str(&format!("\nPassed: {}\n", report.passed.join(", ")));
    }
    out
}

/// The report for scripts: the same findings, with counts.
pub fn report_json(report: &Report) -> serde_json::Value {
    serde_json::json!({
        "ran": true,
        "env": report.env,
        "account": report.account,
        "region": report.region,
        "problems": report.problems(),
        "warnings": report.warnings(),
        "unchecked": report.unchecked(),
        "findings": report.findings,
        "passed": report.passed,
    })
}

/// What `--json` says when `--skip-preflight` was given.
pub fn skipped_json() -> serde_json::Value {
    serde_json::json!({ "ran": false })
}
