//! What CloudFormation makes of a SAM template: the templates expanded by `aws-sam-translator`,
//! the library behind the `AWS::Serverless-2016-10-31` transform, so that tests and the
//! validators see the resources a change set really holds.
//!
//! One Python process expands every template it is given: starting the translator costs more
//! than expanding.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::tools;

/// A template to expand, with the parameter values CloudFormation would pass the transform.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub name: String,
    pub template: serde_json::Value,
    pub parameters: BTreeMap<String, String>,
}

impl Request {
    /// `yaml` (a rendered template) as a request named `name`.
    pub fn from_yaml(
        name: &str,
        yaml: &str,
        parameters: BTreeMap<String, String>,
    ) -> anyhow::Result<Request> {
        let value: serde_yaml::Value =
            serde_yaml::from_str(yaml).with_context(|| format!("{name} is not YAML"))?;
        Ok(Request {
            name: name.to_owned(),
            template: serde_json::to_value(value)
                .with_context(|| format!("{name} does not convert to JSON"))?,
            parameters,
        })
    }
}

/// The parameter values the validators expand with: a bundle key of the shape deploy uploads.
pub fn sample_parameters(region: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            crate::stack::PARAM_CODE_BUCKET.to_owned(),
            crate::aws::artifacts::bucket_name("123456789012", region),
        ),
        (
            crate::stack::PARAM_CODE_KEY.to_owned(),
            crate::aws::artifacts::bundle_key(&"0".repeat(64)),
        ),
    ])
}

#[derive(Deserialize)]
struct Answer {
    name: String,
    #[serde(default)]
    expanded: Option<serde_json::Value>,
    #[serde(default)]
    errors: Vec<String>,
}

/// Expands every request in one translator process; the expanded templates in the same order.
/// A template the translator refuses is an error naming it and each of SAM's reasons.
pub fn expand(requests: &[Request]) -> anyhow::Result<Vec<serde_json::Value>> {
    let python = tools::ensure(&tools::SAM_TRANSLATOR)?;
    let mut child = Command::new(&python)
        .args(["-c", TRANSLATE])
        // Only the partition comes from the region; templates use `${AWS::Region}`.
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", python.display()))?;
    let input = serde_json::to_vec(requests)?;
    child
        .stdin
        .take()
        .context("the translator's stdin")?
        .write_all(&input)
        .context("sending the templates to the translator")?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "aws-sam-translator failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let answers: Vec<Answer> =
        serde_json::from_slice(&output.stdout).context("reading the translator's answer")?;
    let mut expanded = Vec::new();
    let mut refused = Vec::new();
    for (request, answer) in requests.iter().zip(answers) {
        debug_assert_eq!(request.name, answer.name);
        match answer.expanded {
            Some(template) if answer.errors.is_empty() => expanded.push(template),
            _ => refused.push(format!(
                "{}: {}",
                answer.name,
                answer.errors.join("; ").trim_end_matches('.')
            )),
        }
    }
    if !refused.is_empty() {
        bail!(
            "the SAM transform refuses {}",
            refused.join("\n").trim_end_matches('.')
        );
    }
    Ok(expanded)
}

/// Where the validators' expanded templates go: `target/expanded/<env>.json`.
pub fn expanded_dir() -> PathBuf {
    tools::project_root().join("target").join("expanded")
}

/// Reads JSON requests on stdin, answers `[{name, expanded} | {name, errors}]` on stdout.
/// Managed policies are never named by the templates, so the loader that would ask IAM for
/// their ARNs is never needed.
const TRANSLATE: &str = r#"
import json, sys
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

class NoManagedPolicyNames:
    def load(self):
        raise RuntimeError("the templates name no managed policy by name")

answers = []
for request in json.load(sys.stdin):
    try:
        expanded = transform(request["template"], request["parameters"], NoManagedPolicyNames())
        answers.append({"name": request["name"], "expanded": expanded})
    except InvalidDocumentException as err:
        answers.append({"name": request["name"], "errors": [str(c) for c in err.causes] or [str(err)]})
json.dump(answers, sys.stdout, sort_keys=True)
"#;
