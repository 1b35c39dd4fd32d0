//! The CI workflows hold roles that deploy to AWS. `cargo xtask test` runs zizmor on them; these
//! checks state the rules we hold them to directly, without the tool: actions pinned to full
//! commits with the release in a comment, no git credentials left on disk, no permission by
//! default, and no `${{ }}` expansion inside a script.

use std::path::PathBuf;

fn workflows() -> Vec<(String, String)> {
    let dir = xtask::tools::project_root().join(".github/workflows");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no workflows in {}", dir.display());
    found
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn steps(workflow: &serde_yaml::Value) -> Vec<&serde_yaml::Value> {
    workflow["jobs"]
        .as_mapping()
        .unwrap()
        .values()
        .flat_map(|job| job["steps"].as_sequence().unwrap())
        .collect()
}

#[test]
fn every_action_is_pinned_to_a_commit_with_its_release_in_a_comment() {
    for (name, text) in workflows() {
        let mut uses = 0;
        for line in text.lines() {
            let Some((_, rest)) = line.split_once("uses:") else {
                continue;
            };
            uses += 1;
            let (reference, comment) = rest.split_once('#').unwrap_or((rest, ""));
            let (action, commit) = reference.trim().split_once('@').unwrap();
            assert!(
                commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: {action} is pinned to {commit:?}, not to a full commit"
            );
            let release = comment.trim();
            assert!(
                release.starts_with('v') && release[1..].starts_with(|c: char| c.is_ascii_digit()),
                "{name}: {action}@{commit} has no release in a comment: {line}"
            );
        }
        assert!(uses > 0, "{name} uses no action");
    }
}

#[test]
fn checkouts_leave_no_credentials_behind() {
    for (name, text) in workflows() {
        let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        for step in steps(&workflow) {
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
            {
                assert_eq!(
                    step["with"]["persist-credentials"],
                    serde_yaml::Value::Bool(false),
                    "{name}: a checkout keeps the token in .git/config"
                );
            }
        }
    }
}

#[test]
fn nothing_is_permitted_by_default_and_each_job_says_what_it_needs() {
    for (name, text) in workflows() {
        let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            workflow["permissions"],
            serde_yaml::Value::Mapping(Default::default()),
            "{name}: the workflow's default permissions are not empty"
        );
        for (job, body) in workflow["jobs"].as_mapping().unwrap() {
            let permissions = body["permissions"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{name}: job {job:?} does not list its permissions"));
            for (scope, level) in permissions {
                assert!(
                    level == "read" || level == "write",
                    "{name}: {job:?} {scope:?}: {level:?}"
                );
                assert_ne!(scope, "write-all");
            }
        }
    }
}

#[test]
fn scripts_read_values_from_the_environment_not_from_expressions() {
    for (name, text) in workflows() {
        let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        for step in steps(&workflow) {
            if let Some(script) = step["run"].as_str() {
                assert!(
                    !script.contains("${{"),
                    "{name}: an expression is expanded into a script: {script}"
                );
            }
        }
    }
}
