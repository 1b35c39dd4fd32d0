//! The smoke checks of a running chatbot, shared by `cargo xtask smoke` and the end of
//! `deploy`: the page and its security headers, health, models, one short streamed chat (or, in
//! a sign-in environment, that a chat without signing in is refused), and that API Gateway's own
//! address refuses a direct call. Each check is timed and says why it failed.

mod checks;
pub mod http;
mod render;
mod sse;

pub use checks::{Target, run};
pub use render::{render_json, render_table};

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use crate::cfn::Expr;
use crate::cfn::resources::Properties;
use crate::env::Environment;
use crate::review::Palette;
use crate::stack::{self, OUTPUT_API_URL, OUTPUT_SITE_URL, ids};

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `page`, `health`, `models`, `chat`, `direct API`.
    pub name: &'static str,
    /// What was asked: `GET https://…/api/health`.
    pub request: String,
    pub outcome: Outcome,
    /// What was found, or why it failed.
    pub detail: String,
    pub elapsed: Duration,
}

/// All checks of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub site: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    /// The names of the checks that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| c.name)
            .collect()
    }
}

/// The security headers CloudFront's response headers policy adds to every answer, as the
/// stack model of `env` sets them (lower-case name, value). A value the stack resolves when
/// deployed (a sign-in environment's login origin) keeps its `${...}` placeholders, which
/// match any one word of the answer's value.
pub fn security_headers(env: &Environment) -> Vec<(&'static str, String)> {
    let template = stack::template(env);
    let Some(Properties::ResponseHeadersPolicy(policy)) = template
        .resources
        .iter()
        .find(|(id, _)| id == ids::SECURITY_HEADERS)
        .map(|(_, r)| &r.properties)
    else {
        return Vec::new();
    };
    let config = &policy
        .response_headers_policy_config
        .security_headers_config;
    let hsts = &config.strict_transport_security;
    let mut transport = format!("max-age={}", hsts.access_control_max_age_sec);
    if hsts.include_subdomains {
        transport.push_str("; includeSubDomains");
    }
    if hsts.preload {
        transport.push_str("; preload");
    }
    vec![
        (
            "content-security-policy",
            expected_text(&config.content_security_policy.content_security_policy),
        ),
        ("x-content-type-options", "nosniff".to_owned()),
        ("x-frame-options", config.frame_options.frame_option.clone()),
        (
            "referrer-policy",
            config.referrer_policy.referrer_policy.clone(),
        ),
        ("strict-transport-security", transport),
    ]
}

/// The smoke test at the end of a deploy, on the stack's outputs: `Some(exit code)` when it
/// failed, so the deploy is reported as failed although the stack is up.
pub async fn after_deploy(
    env: &Environment,
    outputs: &BTreeMap<String, String>,
    palette: Palette,
) -> Option<ExitCode> {
    let Some(site) = outputs.get(OUTPUT_SITE_URL) else {
        println!("Smoke test not run: the stack has no {OUTPUT_SITE_URL} output to check");
        return None;
    };
    let report = run(&Target {
        site: site.clone(),
        direct_api: outputs.get(OUTPUT_API_URL).cloned(),
        headers: security_headers(env),
    })
    .await;
    print!("{}", render_table(&report, palette));
    if report.passed() {
        return None;
    }
    eprintln!(
        "error: the stack is deployed, but the smoke test failed ({}): see why in `cargo xtask \
         logs --env {} --errors`, and check again with `cargo xtask smoke --env {}`",
        report.failed().join(", "),
        env.name,
        env.name
    );
    Some(ExitCode::FAILURE)
}

/// The text of a header value in the model: a plain string, or a `Fn::Sub` string with its
/// placeholders left in.
fn expected_text(value: &Expr) -> String {
    match value {
        Expr::Str(text) | Expr::Sub(text) => text.clone(),
        other => format!("{other:?}"),
    }
}
