//! The deployment records: every successful deploy, hotswap and rollback leaves a small JSON
//! record in the artifacts bucket (`deployments/<env>/<id>.json`) naming what it deployed —
//! the template and the code by their content-addressed keys, the parameters, who and from
//! which commit. `status` lists them, `rollback` puts an earlier one back, and a hotswap's
//! record is how `status`, `diff` and the next deploy know the function runs code its stack
//! does not name.
//!
//! **Pure**: the record's shape, choosing a rollback target, rendering. S3 is in
//! `crate::aws::deployments`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::review::{DeployedStack, Palette};
use crate::stack::{PARAM_CODE_BUCKET, PARAM_CODE_KEY};

/// What made a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `cargo xtask deploy` through a change set (or putting hotswapped code back).
    Deploy,
    /// `cargo xtask deploy --hotswap`: the function's code only, outside CloudFormation.
    Hotswap,
    /// `cargo xtask rollback`: an earlier deployment's template, parameters and code.
    Rollback,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deploy => "deploy",
            Kind::Hotswap => "hotswap",
            Kind::Rollback => "rollback",
        }
    }
}

/// One deployment as recorded. Fields are only ever added, so older records stay readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// `<UTC time>-<random>`, sortable: `20261203T143327.041Z-3fa9c1`.
    pub id: String,
    pub env: String,
    pub stack_name: String,
    /// When it finished, RFC 3339 UTC.
    pub time: String,
    pub kind: Kind,
    /// The caller's ARN (STS GetCallerIdentity).
    pub caller_arn: String,
    #[serde(default)]
    pub git: Option<GitState>,
    /// The template, kept in the artifacts bucket under its SHA-256.
    pub template: Artifact,
    /// The stack's parameters as deployed (for a hotswap: as the stack still has them).
    pub parameters: BTreeMap<String, String>,
    /// The code the function runs.
    pub code: Artifact,
    pub stack_status: String,
    /// The stack's last update after this deployment: a hotswap's record is current only
    /// while the stack has not been updated since.
    #[serde(default)]
    pub stack_last_updated: Option<String>,
    #[serde(default)]
    pub change_set_id: Option<String>,
    /// A rollback: the deployment it put back.
    #[serde(default)]
    pub rolled_back_to: Option<String>,
    /// A hotswap: the version published and the alias moved to it.
    #[serde(default)]
    pub function: Option<FunctionVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    pub commit: String,
    /// Uncommitted changes in the working tree.
    pub dirty: bool,
}

/// An object in the artifacts bucket, named by its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub bucket: String,
    pub key: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionVersion {
    pub function_name: String,
    /// `None` when the function has no alias (its `$LATEST` is what is invoked).
    pub version: Option<String>,
    pub alias: Option<String>,
}

/// Where the records of `env` live in the artifacts bucket.
pub fn prefix(env: &str) -> String {
    format!("deployments/{env}/")
}

/// The key of a record.
pub fn key(env: &str, id: &str) -> String {
    format!("{}{id}.json", prefix(env))
}

/// A new record id for a deployment finished at `time` (RFC 3339 UTC): the time to the
/// millisecond, compact, and six hex digits so two deployments at once do not collide. Ids of
/// one environment sort as their deployments happened.
pub fn new_id(time: &str) -> String {
    let (seconds, fraction) = time
        .trim_end_matches('Z')
        .split_once('.')
        .unwrap_or((time.trim_end_matches('Z'), ""));
    let compact: String = seconds.chars().filter(|c| *c != '-' && *c != ':').collect();
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let salt = crate::digest::sha256_hex(format!("{nanos}-{}", std::process::id()).as_bytes());
    format!("{compact}.{millis}Z-{}", &salt[..6])
}

impl Record {
    /// What the deployment is made of, for telling two apart: the template, the code, and
    /// the parameters other than the code's and those other commands own.
    fn content(&self) -> (&str, &str, BTreeMap<&str, &str>) {
        let parameters = self
            .parameters
            .iter()
            .filter(|(name, _)| {
                ![PARAM_CODE_BUCKET, PARAM_CODE_KEY].contains(&name.as_str())
                    && !crate::plan::CARRIED_OVER.contains(&name.as_str())
            })
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        (&self.template.sha256, &self.code.sha256, parameters)
    }

    pub fn same_content(&self, other: &Record) -> bool {
        self.content() == other.content()
    }

    /// The commit, short, with `+` when the tree was dirty; `-` when unknown.
    pub fn commit(&self) -> String {
        match &self.git {
            Some(git) => format!(
                "{}{}",
                &git.commit[..git.commit.len().min(12)],
                if git.dirty { "+" } else { "" }
            ),
            None => "-".to_owned(),
        }
    }
}

/// The hotswap the function still runs: the newest record, when it is a hotswap and the stack
/// has not been updated since. `records` are newest first.
pub fn live_hotswap<'a>(records: &'a [Record], stack: &DeployedStack) -> Option<&'a Record> {
    let newest = records.first()?;
    (newest.kind == Kind::Hotswap
        && newest.stack_last_updated.as_deref() == stack_updated(stack).as_deref())
    .then_some(newest)
}

/// The stack's last update (its creation when never updated), as records keep it.
pub fn stack_updated(stack: &DeployedStack) -> Option<String> {
    Some(
        stack
            .last_updated
            .clone()
            .unwrap_or_else(|| stack.created.clone()),
    )
}

/// The deployment `rollback` puts back: `to` (an id or a unique start of one), or else the
/// newest one before the current (newest) whose template, code or parameters differ from it.
/// `records` are newest first. The error says what there is instead.
pub fn rollback_target<'a>(
    env: &str,
    records: &'a [Record],
    to: Option<&str>,
) -> Result<&'a Record, String> {
    let Some(current) = records.first() else {
        return Err(format!(
            "no deployment of {env} is recorded, so there is nothing to roll back to: records \
             are written by `cargo xtask deploy` from this version on"
        ));
    };
    if let Some(to) = to {
        let found: Vec<&Record> = records.iter().filter(|r| r.id.starts_with(to)).collect();
        return match found.as_slice() {
            [one] if one.id == current.id => Err(format!(
                "deployment {} is the current one of {env}: name an earlier one (`cargo xtask \
                 status --env {env}` lists them)",
                one.id
            )),
            [one] => Ok(one),
            [] => Err(format!(
                "no deployment {to} of {env} is recorded: `cargo xtask status --env {env}` lists \
                 them"
            )),
            many => Err(format!(
                "{to} names {} deployments of {env}: give more of the id",
                many.len()
            )),
        };
    }
    records[1..]
        .iter()
        .find(|r| !r.same_content(current))
        .ok_or_else(|| {
            format!(
                "no earlier deployment of {env} differs from the current one ({}): there is \
                 nothing to roll back to",
                current.id
            )
        })
}

/// The deployments section of `status`: newest first, one line each.
pub fn render_list(records: &[Record], hotswapped: Option<&Record>, palette: Palette) -> String {
    let mut out = String::new();
    if let Some(hotswap) = hotswapped {
        out.push_str(&format!(
            "{} the function runs code hotswapped by deployment {} ({}), not the code its \
             stack names: the stack differs from its template until the next full deploy\n",
            palette.yellow("Hotswapped:"),
            hotswap.id,
            hotswap.code.key
        ));
    }
    if records.is_empty() {
        out.push_str("Deployments: none recorded\n");
        return out;
    }
    out.push_str(&format!("{}\n", palette.bold("Deployments (newest first)")));
    for record in records {
        let what = match (&record.kind, &record.rolled_back_to) {
            (Kind::Rollback, Some(to)) => format!("rollback to {to}"),
            (kind, _) => kind.as_str().to_owned(),
        };
        out.push_str(&format!(
            "  {}  {:<30}  {:<13}  code {}  template {}  by {}\n",
            record.id,
            what,
            record.commit(),
            &record.code.sha256[..record.code.sha256.len().min(12)],
            &record.template.sha256[..record.template.sha256.len().min(12)],
            record.caller_arn
        ));
    }
    out
}

/// The records for `--json`.
pub fn list_json(records: &[Record]) -> serde_json::Value {
    serde_json::to_value(records).unwrap_or_default()
}
