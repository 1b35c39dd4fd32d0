//! The deploy role's policy, `docs/deploy-role-policy.json`, against what a deploy needs: every
//! AWS call the CLI made in a test (read from the `CHATBOT_AWS_CALL_LOG` file) and, in the
//! rehearsal, what CloudFormation's resource handlers need for every resource type the
//! templates declare.
//!
//! Actions only: an action counts as allowed when an `Allow` statement's `Action` matches it
//! (IAM's wildcards, case-insensitive) and no `Deny` does. Resources and conditions are not
//! evaluated, so this proves no action is missing, not that every resource pattern fits.

use std::collections::BTreeSet;
use std::path::Path;

pub struct Policy {
    statements: Vec<(bool, Vec<String>)>,
}

pub fn load() -> Policy {
    let path = xtask::tools::project_root().join("docs/deploy-role-policy.json");
    let text = std::fs::read_to_string(&path).expect("docs/deploy-role-policy.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the policy is JSON");
    let statements = json["Statement"]
        .as_array()
        .expect("a Statement list")
        .iter()
        .map(|statement| {
            let allow = match statement["Effect"].as_str() {
                Some("Allow") => true,
                Some("Deny") => false,
                other => panic!("Effect {other:?}"),
            };
            assert!(
                statement.get("NotAction").is_none(),
                "NotAction is not evaluated here"
            );
            let actions = match &statement["Action"] {
                serde_json::Value::String(action) => vec![action.clone()],
                serde_json::Value::Array(actions) => actions
                    .iter()
                    .map(|a| a.as_str().expect("actions are strings").to_owned())
                    .collect(),
                other => panic!("Action {other}"),
            };
            (allow, actions)
        })
        .collect();
    Policy { statements }
}

impl Policy {
    pub fn allows(&self, action: &str) -> bool {
        let matches = |patterns: &[String]| patterns.iter().any(|p| wildcard(p, action));
        self.statements
            .iter()
            .any(|(allow, p)| *allow && matches(p))
            && !self
                .statements
                .iter()
                .any(|(allow, p)| !*allow && matches(p))
    }

    /// Panics naming every action of `needed` the policy does not allow, with why it is needed.
    pub fn assert_allows(&self, needed: &[(String, String)]) {
        let missing: Vec<String> = needed
            .iter()
            .filter(|(action, _)| !self.allows(action))
            .map(|(action, why)| format!("{action} ({why})"))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/deploy-role-policy.json does not allow:\n  {}",
            missing.join("\n  ")
        );
    }
}

/// IAM's action matching: `*` any run of characters, `?` one, case-insensitive.
fn wildcard(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// The IAM actions an SDK operation (`S3:PutObject`, as the call log has it) needs.
pub fn iam_actions(call: &str) -> Vec<String> {
    let (service, operation) = call.split_once(':').expect("Service:Operation");
    let prefix = match service {
        "CloudFormation" => "cloudformation",
        "S3" => "s3",
        "STS" => "sts",
        "CloudFront" => "cloudfront",
        "Bedrock" => "bedrock",
        "Lambda" => "lambda",
        "ACM" => "acm",
        other => panic!("{other}: add its IAM prefix here"),
    };
    // S3 authorizes several operations under other actions.
    let actions: &[&str] = match (prefix, operation) {
        ("s3", "HeadObject") => &["GetObject"],
        ("s3", "HeadBucket" | "ListObjectsV2" | "ListObjects") => &["ListBucket"],
        ("s3", "ListObjectVersions") => &["ListBucketVersions"],
        ("s3", "DeleteObjects") => &["DeleteObject", "DeleteObjectVersion"],
        ("s3", "PutObject" | "GetObject" | "CreateBucket" | "DeleteBucket") => &[operation],
        ("s3", other) => panic!("S3 {other}: add the IAM action it needs here"),
        _ => &[operation],
    };
    actions.iter().map(|a| format!("{prefix}:{a}")).collect()
}

/// The distinct calls in a `CHATBOT_AWS_CALL_LOG` file.
pub fn logged_calls(log: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(log)
        .unwrap_or_else(|e| panic!("reading {}: {e}", log.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every call logged in `log` is allowed by the policy; returns the calls.
pub fn assert_allows_logged_calls(log: &Path) -> BTreeSet<String> {
    let calls = logged_calls(log);
    let needed: Vec<(String, String)> = calls
        .iter()
        .flat_map(|call| {
            iam_actions(call)
                .into_iter()
                .map(move |action| (action, format!("the CLI called {call}")))
        })
        .collect();
    load().assert_allows(&needed);
    calls
}
