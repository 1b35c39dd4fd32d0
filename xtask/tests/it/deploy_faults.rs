//! Deploys that go wrong: the real `cargo xtask` binary, reached through `AWS_ENDPOINT_URL`,
//! against a small local CloudFormation ([`fake_cloudformation`]) that fails on demand in the
//! ways moto cannot (rollbacks with per-resource events, a busy stack, a failed change set,
//! expired credentials, a gradual rollout that CodeDeploy rolls back), plus missing credentials
//! and Ctrl-C during the wait. For each fault: what the user reads, the exit code, and that the
//! next deploy copes with what was left. Also what only a fake can show of a SAM template: the
//! capabilities its change sets acknowledge, the template stage compared, the bootstrap
//! stack's update, and a rollout followed through CodeDeploy, Lambda and CloudWatch.
//!
//! The fake answers as the API references document; what it does on each execution is
//! scripted by the test, so these tests check deploy's handling, not CloudFormation.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fake_cloudformation::{self, FakeCertificate, FakeCloudFormation, FakeModel, Outcome};
use crate::role_policy;
use crate::support::{self, Run};

const STACK: &str = "chatbot-dev";
const ARTIFACTS: &str = "chatbot-artifacts-123456789012-us-east-1";
const SITE: &str = "chatbot-dev-sitebucket-1a2b3c4d";

/// The reason a Lambda function fails to create when its code is missing, as CloudFormation
/// words it.
const NO_SUCH_KEY: &str = "Resource handler returned message: \"Error occurred while GetObject. \
     S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist. (Service: \
     Lambda, Status Code: 400, Request ID: 4a2f8c1e-0b3d-4e5f-9a7b-6c8d0e1f2a3b)\" \
     (RequestToken: 7d9e1f2a-3b4c-5d6e-7f80-91a2b3c4d5e6, HandlerErrorCode: InvalidRequest)";

const CONCURRENCY: &str = "Resource handler returned message: \"Specified \
     ReservedConcurrentExecutions for function decreases account's \
     UnreservedConcurrentExecution below its minimum value of [10]. (Service: Lambda, Status \
     Code: 400, Request ID: 0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f)\" (RequestToken: \
     1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718, HandlerErrorCode: InvalidRequest)";

struct Project {
    root: PathBuf,
    bundle: PathBuf,
    /// The environment deployed: envs/<env>.toml, copied from the project.
    env: &'static str,
    fake: FakeCloudFormation,
}

impl Project {
    fn new(name: &str) -> Project {
        Project::with_env(name, "dev")
    }

    fn with_env(name: &str, env: &'static str) -> Project {
        let root =
            std::env::temp_dir().join(format!("xtask-deploy-faults-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let frontend = root.join("frontend");
        for dir in [
            "envs",
            "frontend/tests",
            "frontend/node_modules/marked",
            "frontend/.cache",
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let project = xtask::tools::project_root();
        let env_file = format!("envs/{env}.toml");
        std::fs::copy(project.join(&env_file), root.join(&env_file)).unwrap();
        if env != "dev" {
            // staging and prod refuse to deploy alarms that reach no one.
            let text = std::fs::read_to_string(root.join(&env_file)).unwrap();
            let routed = text.replacen("# email = ", "email = ", 1);
            assert_ne!(routed, text, "{env_file} has a commented alarm email");
            std::fs::write(root.join(&env_file), routed).unwrap();
        }
        // The page, and what lives beside it in a checkout but is no part of it.
        for (path, text) in [
            ("index.html", "<!doctype html><title>chat</title>"),
            ("app.js", "console.log('chat');"),
            ("style.css", "body { margin: 0 }"),
            ("tests/browser.test.mjs", "import test from 'node:test';"),
            ("tests/package.json", "{\"private\": true}"),
            ("node_modules/marked/index.js", "export {};"),
            ("package.json", "{\"private\": true}"),
            ("package-lock.json", "{\"lockfileVersion\": 3}"),
            (".env", "SECRET=1"),
            (".cache/x.js", "1"),
            ("README.md", "# the page"),
        ] {
            std::fs::write(frontend.join(path), text).unwrap();
        }
        let bundle = support::stand_in_bundle(&root);
        let project = Project {
            root,
            bundle,
            env,
            fake: FakeCloudFormation::start(),
        };
        project.set_template(&template("256"));
        project
    }

    fn set_template(&self, text: &str) {
        std::fs::write(self.root.join("template.yaml"), text).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        support::xtask(args, &self.root, &self.fake.endpoint)
    }

    fn deploy_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "deploy",
            "--env",
            self.env,
            "--artifact",
            self.bundle.to_str().unwrap(),
            "--template",
            self.root.join("template.yaml").to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn run(&self, command: Command) -> Run {
        Run::of(command)
    }

    fn deploy(&self, extra: &[&str]) -> Run {
        let args = self.deploy_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(self.command(&args))
    }

    /// `deploy --yes` with no AWS keys in the environment, `config` as the AWS config file and
    /// an empty credentials file.
    fn deploy_without_credentials_in_the_environment(&self, config: &str) -> Run {
        std::fs::write(self.root.join("no-aws-config"), config).unwrap();
        std::fs::write(self.root.join("no-aws-credentials"), "").unwrap();
        let args = self.deploy_args(&["--yes"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = self.command(&args);
        command
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        self.run(command)
    }

    fn status(&self) -> Option<String> {
        self.fake.state().stack(STACK).map(|s| s.status.clone())
    }

    fn deployed_template(&self) -> String {
        self.fake
            .state()
            .stack(STACK)
            .map(|s| s.template.clone())
            .unwrap_or_default()
    }

    /// Change sets never executed that still exist: what a deploy must not leave behind.
    fn change_sets(&self) -> usize {
        self.fake
            .state()
            .change_sets
            .iter()
            .filter(|c| !c.executed)
            .count()
    }

    /// The actions called from now on are those after the returned mark.
    fn mark(&self) -> usize {
        self.fake.state().calls.len()
    }

    fn actions_since(&self, mark: usize) -> Vec<String> {
        self.fake.state().actions()[mark..].to_vec()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The deployed stack: a site bucket, a table and a function, the code parameters, and the
/// `SiteBucketName` output deploy publishes the page to.
fn template(memory: &str) -> String {
    format!(
        "AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  CodeBucket:
    Type: String
  CodeKey:
    Type: String
Resources:
  SiteBucket:
    Type: AWS::S3::Bucket
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
  Function:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: {memory}
      Code:
        S3Bucket: !Ref CodeBucket
        S3Key: !Ref CodeKey
Outputs:
  SiteBucketName:
    Value: !Ref SiteBucket
"
    )
}

fn fail(logical_id: &str, reason: &str) -> Outcome {
    Outcome::Fail {
        logical_id: logical_id.to_owned(),
        reason: reason.to_owned(),
    }
}

#[test]
fn failed_first_create_is_explained_and_the_next_deploy_creates_the_stack_again() {
    let p = Project::new("create");
    p.fake.state().on_execute = fail("Function", NO_SUCH_KEY);

    let failed = p.deploy(&["--yes"]);
    failed
        .expect(1, "a first create that fails")
        .shows("Deploying chatbot-dev failed: the stack is ROLLBACK_COMPLETE")
        .shows("✗ Function (AWS::Lambda::Function) CREATE_FAILED")
        .shows("S3 Error Code: NoSuchKey")
        .shows("Stack chatbot-dev is in ROLLBACK_COMPLETE: its first create failed")
        .shows("The next `cargo xtask deploy --env dev` deletes it and creates it again");
    let block = failed
        .stdout
        .split("Deploying chatbot-dev failed")
        .nth(1)
        .unwrap();
    assert!(
        !block.contains("✗ Table") && !block.contains("✗ SiteBucket"),
        "only the cause is named, not the resources cancelled because of it\n{failed}"
    );
    assert_eq!(p.status().as_deref(), Some("ROLLBACK_COMPLETE"));
    assert_eq!(p.change_sets(), 0, "no change set waits");
    let first_id = p.fake.state().stack(STACK).unwrap().id.clone();

    // Without a terminal and without --yes: explained, nothing deleted.
    let mark = p.mark();
    let refused = p.deploy(&[]);
    refused
        .expect(
            1,
            "a deploy that would have to delete the stack, unconfirmed",
        )
        .shows("is in ROLLBACK_COMPLETE")
        .shows("✗ Function (AWS::Lambda::Function) CREATE_FAILED")
        .shows("deploy again with --yes to delete it and create it again");
    assert!(!p.actions_since(mark).contains(&"DeleteStack".to_owned()));
    assert_eq!(p.status().as_deref(), Some("ROLLBACK_COMPLETE"));

    // With --yes: deleted, then created again, and the page published.
    p.fake.state().on_execute = Outcome::Succeed;
    let mark = p.mark();
    p.deploy(&["--yes"])
        .expect(0, "the deploy after a failed create")
        .shows("Deleted chatbot-dev; creating it again")
        .shows("Stack chatbot-dev (create)")
        .shows("Stack chatbot-dev: CREATE_COMPLETE")
        .shows(&format!("Site s3://{SITE}: 3 uploaded"));
    let actions = p.actions_since(mark);
    let deleted = actions.iter().position(|a| a == "DeleteStack").unwrap();
    let created = actions.iter().position(|a| a == "CreateChangeSet").unwrap();
    assert!(
        deleted < created,
        "deleted before created again: {actions:?}"
    );
    let state = p.fake.state();
    let stack = state.stack(STACK).unwrap();
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert_ne!(stack.id, first_id, "a new stack");
}

#[test]
fn failed_update_names_the_resource_and_the_next_deploy_works() {
    let p = Project::new("update");
    p.deploy(&["--yes"]).expect(0, "first deploy");
    assert_eq!(p.status().as_deref(), Some("CREATE_COMPLETE"));

    p.set_template(&template("512"));
    p.fake.state().on_execute = fail("Function", CONCURRENCY);
    p.deploy(&["--yes"])
        .expect(1, "an update that fails")
        .shows("~  Function    AWS::Lambda::Function  False")
        .shows("Deploying chatbot-dev failed: the stack is UPDATE_ROLLBACK_COMPLETE")
        .shows("✗ Function (AWS::Lambda::Function) UPDATE_FAILED")
        .shows("UnreservedConcurrentExecution below its minimum value of [10]")
        .shows("The stack was rolled back to its previous state and still serves it")
        .shows("Fix the cause and run `cargo xtask deploy --env dev` again")
        .hides("Site s3://");
    assert_eq!(p.status().as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    assert_eq!(p.deployed_template(), template("256"), "rolled back");
    assert_eq!(p.change_sets(), 0);

    p.fake.state().on_execute = Outcome::Succeed;
    p.deploy(&["--yes"])
        .expect(0, "the deploy after a rolled-back update")
        .shows("Stack chatbot-dev (update)")
        .shows("Stack chatbot-dev: UPDATE_COMPLETE");
    assert_eq!(p.deployed_template(), template("512"));
}

/// [`template`] with the origin secret slots' parameter, as the real stack has it.
fn template_with_origin_secrets() -> String {
    template("256").replace(
        "  CodeKey:\n    Type: String\n",
        "  CodeKey:\n    Type: String\n  OriginSecrets:\n    Type: String\n    Default: A\n    AllowedValues: [A, B, A+B, B+A]\n",
    )
}

fn origin_secrets(p: &Project) -> String {
    let state = p.fake.state();
    let stack = state.stack(STACK).unwrap();
    stack
        .parameters
        .iter()
        .find(|(key, _)| key == "OriginSecrets")
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

#[test]
fn a_rotation_step_that_fails_stops_in_a_safe_state_and_running_again_finishes_it() {
    let p = Project::new("rotate");
    p.set_template(&template_with_origin_secrets());
    p.deploy(&["--yes"]).expect(0, "first deploy");
    assert_eq!(origin_secrets(&p), "A", "the template's default");
    let template = p.deployed_template();
    let rotate = || p.run(p.command(&["rotate-secret", "--env", "dev", "--yes"]));

    // The second step, CloudFront switching to slot B, fails and is rolled back.
    p.fake
        .state()
        .next_executions
        .extend([Outcome::Succeed, fail("Function", CONCURRENCY)]);
    let stopped = rotate();
    stopped
        .expect(1, "a rotation whose second step fails")
        .shows("Step 1/3: OriginSecrets A → A+B")
        .shows("Step 2/3: OriginSecrets A+B → B+A")
        .shows("✗ Function (AWS::Lambda::Function) UPDATE_FAILED")
        .shows("UnreservedConcurrentExecution below its minimum value of [10]")
        .shows("Fix the cause and run `cargo xtask rotate-secret --env dev` again")
        .shows(
            "The rotation stopped at step 2 of 3; the stack keeps OriginSecrets = A+B (slot A \
             sent, slots A and B accepted), in which no request is refused",
        )
        .hides("Step 3/3");
    assert_eq!(origin_secrets(&p), "A+B");
    assert_eq!(p.status().as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    assert_eq!(p.change_sets(), 0, "no change set left behind");

    // Running it again goes back to what CloudFront sends, then rotates in full.
    let mark = p.mark();
    rotate()
        .expect(0, "the rotation run again")
        .shows("Now OriginSecrets = A+B (slot A sent, slots A and B accepted). 4 updates")
        .shows("Step 4/4: OriginSecrets B+A → B")
        .shows("Origin secret rotated");
    assert_eq!(origin_secrets(&p), "B");
    let changes = p
        .actions_since(mark)
        .iter()
        .filter(|a| *a == "ExecuteChangeSet")
        .count();
    assert_eq!(changes, 4);
    assert_eq!(
        p.deployed_template(),
        template,
        "only the parameter changed"
    );

    // A deploy afterwards keeps the rotated secret (CloudFormation would give a parameter left
    // out its default, slot A, and swap the secret in one update).
    p.deploy(&["--yes"])
        .expect(0, "deploy after the rotation")
        .shows("No changes: template, parameters and code match");
    p.set_template(&template_with_origin_secrets().replace("256", "512"));
    p.deploy(&["--yes"])
        .expect(0, "a change after the rotation")
        .shows("Stack chatbot-dev: UPDATE_COMPLETE");
    assert_eq!(origin_secrets(&p), "B");
}

#[test]
fn busy_stack_is_refused_with_its_operation_and_no_change_set() {
    let p = Project::new("busy");
    p.deploy(&["--yes"]).expect(0, "first deploy");
    p.set_template(&template("512"));
    for (status, operation) in [
        ("UPDATE_IN_PROGRESS", "an update is running on it"),
        ("DELETE_IN_PROGRESS", "a delete is running on it"),
        (
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "the rollback of a failed update is running on it",
        ),
        (
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "the clean-up after an update is running on it",
        ),
    ] {
        p.fake.set_status(STACK, status, None);
        let mark = p.mark();
        let run = p.deploy(&["--yes"]);
        run.expect(1, status);
        let line = run.one_error_line();
        for part in [
            &format!("stack chatbot-dev is {status}"),
            operation,
            "wait for it to finish",
            "cargo xtask status --env dev",
        ] {
            assert!(line.contains(part), "{part:?} in {line:?}");
        }
        let actions = p.actions_since(mark);
        assert!(
            !actions
                .iter()
                .any(|a| a == "CreateChangeSet" || a == "ExecuteChangeSet"),
            "{status}: nothing proposed or executed: {actions:?}"
        );
        assert_eq!(p.change_sets(), 0, "{status}: no change set left behind");
        assert_eq!(p.status().as_deref(), Some(status), "the stack untouched");
    }

    // Once the other operation is over, the deploy goes ahead.
    p.fake.set_status(STACK, "UPDATE_COMPLETE", None);
    p.deploy(&["--yes"])
        .expect(0, "deploy once the stack has settled")
        .shows("Stack chatbot-dev: UPDATE_COMPLETE");
}

#[test]
fn stacks_stuck_in_a_failed_state_say_what_to_do() {
    let p = Project::new("stuck");
    p.deploy(&["--yes"]).expect(0, "first deploy");
    p.set_template(&template("512"));
    for (status, reason, fix) in [
        (
            "UPDATE_ROLLBACK_FAILED",
            "The following resource(s) failed to update: [Function].",
            "aws cloudformation continue-update-rollback --stack-name chatbot-dev",
        ),
        (
            "DELETE_FAILED",
            "The following resource(s) failed to delete: [SiteBucket].",
            "cargo xtask destroy --env dev",
        ),
    ] {
        p.fake.set_status(STACK, status, Some(reason));
        let mark = p.mark();
        let run = p.deploy(&["--yes"]);
        run.expect(1, status);
        let line = run.one_error_line();
        for part in [
            &format!("stack chatbot-dev is {status}"),
            reason.trim_end_matches('.'),
            fix,
        ] {
            assert!(line.contains(part), "{part:?} in {line:?}");
        }
        assert!(
            !p.actions_since(mark).iter().any(|a| a == "CreateChangeSet"),
            "{status}: no change set"
        );
    }
}

#[test]
fn failed_change_set_says_why_and_is_deleted() {
    let p = Project::new("change-set");
    p.deploy(&["--yes"]).expect(0, "first deploy");

    p.set_template(&template("512"));
    p.fake.state().fail_next_change_set = Some(
        "Template format error: Unresolved resource dependencies [CodeBukcet] in the Resources \
         block of the template"
            .to_owned(),
    );
    let mark = p.mark();
    let run = p.deploy(&["--yes"]);
    run.expect(1, "a change set that fails");
    let line = run.one_error_line();
    assert!(
        line.contains("CloudFormation refused the change set for stack chatbot-dev")
            && line.contains("Unresolved resource dependencies [CodeBukcet]"),
        "{line}"
    );
    let actions = p.actions_since(mark);
    assert!(
        actions.contains(&"DeleteChangeSet".to_owned()),
        "{actions:?}"
    );
    assert!(!actions.contains(&"ExecuteChangeSet".to_owned()));
    assert_eq!(p.change_sets(), 0, "the failed change set is deleted");
    assert_eq!(p.status().as_deref(), Some("CREATE_COMPLETE"));

    // The next deploy of a good template works.
    p.deploy(&["--yes"])
        .expect(0, "the deploy after a failed change set")
        .shows("Stack chatbot-dev: UPDATE_COMPLETE");
}

#[test]
fn failed_change_set_of_a_new_stack_leaves_no_stack_behind() {
    let p = Project::new("change-set-new");
    p.fake.state().fail_next_change_set = Some("Parameters: [CodeKey] must have values".to_owned());
    let run = p.deploy(&["--yes"]);
    run.expect(1, "the first change set fails");
    assert!(
        run.one_error_line()
            .contains("Parameters: [CodeKey] must have values")
    );
    assert_eq!(p.change_sets(), 0);
    assert_eq!(p.status(), None, "no empty stack under review is left");

    p.deploy(&["--yes"])
        .expect(0, "the next first deploy")
        .shows("Stack chatbot-dev: CREATE_COMPLETE");
}

#[test]
fn change_set_without_changes_is_a_no_op() {
    let p = Project::new("no-changes");
    p.deploy(&["--yes"]).expect(0, "first deploy");

    // Other text, same meaning: CloudFormation finds nothing to change.
    p.set_template(&format!("# the same stack\n{}", template("256")));
    let mark = p.mark();
    p.deploy(&[])
        .expect(0, "a change set without changes (no --yes needed)")
        .shows(
            "No changes: CloudFormation found nothing to change; the empty change set was deleted",
        )
        .shows(&format!(
            "Site s3://{SITE}: 0 uploaded, 0 deleted, 3 unchanged"
        ))
        .hides("Plan: ");
    let actions = p.actions_since(mark);
    assert!(actions.contains(&"CreateChangeSet".to_owned()));
    assert!(actions.contains(&"DeleteChangeSet".to_owned()));
    assert!(!actions.contains(&"ExecuteChangeSet".to_owned()));
    assert_eq!(p.change_sets(), 0);
    assert_eq!(p.status().as_deref(), Some("CREATE_COMPLETE"));
}

#[test]
fn expired_credentials_are_one_line_saying_how_to_fix_them() {
    let p = Project::new("expired");
    p.fake.state().sts_error = Some((
        "ExpiredToken".to_owned(),
        "The security token included in the request is expired".to_owned(),
    ));
    let run = p.deploy(&["--yes"]);
    run.expect(1, "expired credentials");
    let line = run.one_error_line();
    assert!(
        line.contains("the AWS credentials have expired")
            && line.contains("aws sso login")
            && line.contains("ExpiredToken"),
        "{line}"
    );
    assert_eq!(run.stdout, "", "nothing else is said");
    let state = p.fake.state();
    assert_eq!(
        state.actions(),
        ["GetCallerIdentity"],
        "nothing else is asked"
    );
}

#[test]
fn missing_credentials_are_one_line_saying_how_to_fix_them() {
    let p = Project::new("no-credentials");
    let run = p.deploy_without_credentials_in_the_environment("");
    run.expect(1, "no credentials");
    let line = run.one_error_line();
    assert!(
        line.contains("no AWS credentials found")
            && line.contains("AWS_PROFILE")
            && line.contains("AWS_ACCESS_KEY_ID"),
        "{line}"
    );
    assert!(!line.contains("dispatch failure"), "{line}");
    assert!(
        p.fake.state().calls.is_empty(),
        "no request leaves without credentials"
    );
}

#[test]
fn credentials_that_fail_to_load_are_one_line_with_the_cause() {
    let p = Project::new("failing-credentials");
    let run = p.deploy_without_credentials_in_the_environment(
        "[default]\ncredential_process = /bin/false\n",
    );
    run.expect(1, "a credential process that fails");
    let line = run.one_error_line();
    assert!(
        line.contains("the AWS credentials could not be loaded (")
            && line.contains("exit status: 1")
            && line.contains("AWS_PROFILE"),
        "{line}"
    );
    assert!(p.fake.state().calls.is_empty());
}

/// Waits (at most a minute) until `done` holds for the fake's state.
fn wait_for(p: &Project, what: &str, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(&p.fake.state().actions()) {
        assert!(Instant::now() < deadline, "waited a minute for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -INT {}", child.id());
}

/// Runs `deploy --yes`, and presses Ctrl-C once it waits after `action` (it has called
/// `action`, then polled: read the stack's events, or called `action` again).
fn deploy_interrupted_after(p: &Project, action: &str) -> Run {
    let args = p.deploy_args(&["--yes"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = p.command(&args);
    let mark = p.mark();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the xtask binary starts");
    wait_for(
        p,
        &format!("the deploy to wait after {action}"),
        |actions| {
            let actions = &actions[mark..];
            actions.iter().position(|a| a == action).is_some_and(|at| {
                actions[at + 1..]
                    .iter()
                    .any(|a| a == "DescribeStackEvents" || a == action)
            })
        },
    );
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn ctrl_c_while_following_leaves_the_update_running_and_the_next_deploy_copes() {
    let p = Project::new("ctrl-c");
    p.deploy(&["--yes"]).expect(0, "first deploy");

    p.set_template(&template("512"));
    p.fake.state().on_execute = Outcome::Hang;
    let mark = p.mark();
    deploy_interrupted_after(&p, "ExecuteChangeSet")
        .expect(130, "Ctrl-C while following")
        .shows("Stopped following stack chatbot-dev: the update goes on in AWS")
        .shows("cargo xtask status --env dev")
        .hides("error:");
    assert_eq!(
        p.status().as_deref(),
        Some("UPDATE_IN_PROGRESS"),
        "nothing was cancelled"
    );
    assert!(
        !p.actions_since(mark)
            .iter()
            .any(|a| a == "CancelUpdateStack" || a == "DeleteChangeSet"),
    );

    // While it runs, the next deploy refuses.
    let busy = p.deploy(&["--yes"]);
    busy.expect(1, "a deploy while the interrupted update runs");
    assert!(busy.one_error_line().contains("an update is running on it"));

    // Once it has finished, the next deploy finds everything in place.
    p.fake.finish(STACK);
    assert_eq!(p.status().as_deref(), Some("UPDATE_COMPLETE"));
    p.deploy(&[])
        .expect(0, "the deploy after the interrupted update finished")
        .shows("No changes: template, parameters and code match stack chatbot-dev");
}

#[test]
fn ctrl_c_while_a_failed_stack_is_deleted_leaves_the_delete_running() {
    let p = Project::new("ctrl-c-delete");
    p.fake.state().on_execute = fail("Function", NO_SUCH_KEY);
    p.deploy(&["--yes"]).expect(1, "a first create that fails");

    p.fake.state().on_execute = Outcome::Succeed;
    p.fake.state().hang_deletes = true;
    deploy_interrupted_after(&p, "DeleteStack")
        .expect(130, "Ctrl-C while the failed stack is deleted")
        .shows("Stopped following stack chatbot-dev: the delete goes on in AWS")
        .shows("cargo xtask status --env dev");
    assert_eq!(p.status().as_deref(), Some("DELETE_IN_PROGRESS"));

    let busy = p.deploy(&["--yes"]);
    busy.expect(1, "a deploy while the delete runs");
    assert!(busy.one_error_line().contains("a delete is running on it"));

    p.fake.finish(STACK);
    assert_eq!(p.status(), None, "deleted");
    p.deploy(&["--yes"])
        .expect(0, "the deploy after the delete finished")
        .shows("Stack chatbot-dev (create)")
        .shows("Stack chatbot-dev: CREATE_COMPLETE");
}

#[test]
fn ctrl_c_while_the_change_set_is_prepared_leaves_nothing_behind() {
    let p = Project::new("ctrl-c-change-set");
    p.fake.state().pending_change_sets = true;
    let run = deploy_interrupted_after(&p, "DescribeChangeSet");
    run.expect(130, "Ctrl-C while the change set is prepared")
        .shows("Interrupted: nothing was deployed, and the change set was deleted")
        .hides("error:");
    assert_eq!(p.change_sets(), 0, "the change set is deleted");
    assert_eq!(p.status(), None, "no empty stack under review is left");
    assert!(
        !p.fake
            .state()
            .actions()
            .contains(&"ExecuteChangeSet".to_owned())
    );

    p.fake.state().pending_change_sets = false;
    p.deploy(&["--yes"])
        .expect(0, "the next deploy")
        .shows("Stack chatbot-dev: CREATE_COMPLETE");
}

#[test]
fn ctrl_c_while_destroying_leaves_the_delete_running() {
    let p = Project::new("ctrl-c-destroy");
    p.deploy(&["--yes"]).expect(0, "first deploy");
    assert!(!p.fake.state().puts(SITE).is_empty());

    p.fake.state().hang_deletes = true;
    let destroy = ["destroy", "--env", "dev", "--yes"];
    let mut command = p.command(&destroy);
    let mark = p.mark();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the xtask binary starts");
    wait_for(&p, "destroy to follow the delete", |actions| {
        let actions = &actions[mark..];
        actions
            .iter()
            .position(|a| a == "DeleteStack")
            .is_some_and(|at| actions[at..].iter().any(|a| a == "DescribeStackEvents"))
    });
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    run.expect(130, "Ctrl-C while destroying")
        .shows(&format!("Emptied s3://{SITE} (3 objects)"))
        .shows("Stopped following stack chatbot-dev: the delete goes on in AWS")
        .shows("cargo xtask status --env dev");
    assert_eq!(p.status().as_deref(), Some("DELETE_IN_PROGRESS"));

    let busy = p.run(p.command(&destroy));
    busy.expect(1, "destroy while the delete runs");
    assert!(busy.one_error_line().contains("a delete is running on it"));

    p.fake.finish(STACK);
    p.run(p.command(&destroy))
        .expect(0, "destroy once the delete finished")
        .shows("Stack chatbot-dev does not exist in us-east-1: nothing to delete");
}

#[test]
fn refused_execution_leaves_no_change_set_behind() {
    let p = Project::new("execute");
    p.deploy(&["--yes"]).expect(0, "first deploy");

    p.set_template(&template("512"));
    p.fake.state().refuse_next_execute = Some((
        "InvalidChangeSetStatus".to_owned(),
        "The specified change set can't be used to update the stack".to_owned(),
    ));
    let run = p.deploy(&["--yes"]);
    run.expect(1, "a change set CloudFormation will not execute");
    let line = run.one_error_line();
    assert!(
        line.contains("executing the change set") && line.contains("InvalidChangeSetStatus"),
        "{line}"
    );
    assert_eq!(
        p.change_sets(),
        0,
        "the change set that cannot run is deleted"
    );
    assert_eq!(p.status().as_deref(), Some("CREATE_COMPLETE"));

    p.deploy(&["--yes"])
        .expect(0, "the next deploy")
        .shows("Stack chatbot-dev: UPDATE_COMPLETE");
}

#[test]
fn site_publish_uploads_only_the_page() {
    let p = Project::new("site");
    p.deploy(&["--yes"]).expect(0, "first deploy");
    let state = p.fake.state();
    assert_eq!(
        state.puts(SITE),
        ["app.js", "index.html", "style.css"],
        "no tests, node_modules, package*.json, README or dot files"
    );
    // The bundle, and the deployment's record with its template (`deployments/`, `templates/`).
    let bundles: Vec<_> = state
        .puts(ARTIFACTS)
        .into_iter()
        .filter(|k| !k.starts_with("deployments/") && !k.starts_with("templates/"))
        .collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    assert!(bundles[0].starts_with("bootstrap/"), "{bundles:?}");
    drop(state);

    // The same filter, through the function deploy calls.
    let files = xtask::aws::publish::site_files(&p.root.join("frontend")).unwrap();
    let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["app.js", "index.html", "style.css"]);

    // The project's own page too: its browser tests and their npm files stay home.
    let files =
        xtask::aws::publish::site_files(&xtask::tools::project_root().join("frontend")).unwrap();
    assert!(files.iter().any(|f| f.key == "index.html"));
    for file in &files {
        assert!(
            !file.key.starts_with("tests/")
                && !file.key.contains("node_modules")
                && !file.key.starts_with("package")
                && !file.key.starts_with('.'),
            "{} is not part of the page",
            file.key
        );
    }
}

// ---- the SAM template: the transform's capabilities, the Original stage, the bootstrap ----

/// A stack that declares the SAM transform (the fake, like moto, does not apply it).
fn sam_template(memory: &str) -> String {
    format!(
        "AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  CodeBucket:
    Type: String
  CodeKey:
    Type: String
Resources:
  SiteBucket:
    Type: AWS::S3::Bucket
  Function:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: {memory}
      AutoPublishAlias: live
      CodeUri:
        Bucket: !Ref CodeBucket
        Key: !Ref CodeKey
Outputs:
  SiteBucketName:
    Value: !Ref SiteBucket
"
    )
}

#[test]
fn change_sets_acknowledge_the_transform_and_an_unchanged_sam_stack_needs_none() {
    let p = Project::new("sam");
    p.set_template(&sam_template("256"));
    p.deploy(&["--yes"])
        .expect(0, "first deploy of a SAM template");
    let capabilities = p.fake.state().capabilities.clone();
    assert_eq!(
        capabilities,
        [(
            "CreateChangeSet".to_owned(),
            vec![
                "CAPABILITY_IAM".to_owned(),
                "CAPABILITY_NAMED_IAM".to_owned(),
                "CAPABILITY_AUTO_EXPAND".to_owned()
            ]
        )]
    );

    // The deployed side is the template as submitted, not the one the transform made of it:
    // the same template again is no change at all, and nothing is uploaded.
    let mark = p.mark();
    p.deploy(&[])
        .expect(0, "the same SAM template again")
        .shows("No changes: template, parameters and code match stack chatbot-dev");
    let actions = p.actions_since(mark);
    assert!(
        !actions.contains(&"CreateChangeSet".to_owned()),
        "{actions:?}"
    );
    let puts = p.fake.state().puts(ARTIFACTS);
    assert!(
        support::bundle_keys(puts.iter().map(String::as_str)).len() == 1,
        "the bundle once"
    );
    let stages = p.fake.state().template_stages.clone();
    assert!(
        !stages.is_empty() && stages.iter().all(|s| s == "Original"),
        "{stages:?}"
    );

    // A change shows the source template's text, not the expanded one.
    p.set_template(&sam_template("512"));
    let diff = p.run(p.command(&[
        "diff",
        "--env",
        "dev",
        "--artifact",
        p.bundle.to_str().unwrap(),
        "--template",
        p.root.join("template.yaml").to_str().unwrap(),
        "--exit-code",
    ]));
    diff.expect(2, "diff of a SAM template")
        .shows("  -      MemorySize: 256")
        .shows("  +      MemorySize: 512")
        .hides("expanded by the SAM transform");
}

#[test]
fn an_older_bootstrap_stack_is_updated_to_hold_api_gateways_account_settings() {
    let p = Project::new("bootstrap");
    let older = xtask::aws::artifacts::BOOTSTRAP_TEMPLATE
        .split("  ApiGatewayCloudWatchRole:")
        .next()
        .unwrap()
        .to_owned()
        + "Outputs:\n  BucketName:\n    Value:\n      Ref: ArtifactsBucket\n";
    p.fake
        .state()
        .stacks
        .iter_mut()
        .find(|s| s.name == "chatbot-artifacts")
        .unwrap()
        .template = older;

    let mark = p.mark();
    p.deploy(&["--yes"])
        .expect(0, "the first deploy with an older bootstrap stack")
        .shows("Updating the bootstrap stack chatbot-artifacts")
        .shows("Stack chatbot-dev: CREATE_COMPLETE");
    let actions = p.actions_since(mark);
    let updated = actions.iter().position(|a| a == "UpdateStack").unwrap();
    let proposed = actions.iter().position(|a| a == "CreateChangeSet").unwrap();
    assert!(
        updated < proposed,
        "the account settings come first: {actions:?}"
    );
    let state = p.fake.state();
    assert_eq!(
        state.stack("chatbot-artifacts").unwrap().template,
        xtask::aws::artifacts::BOOTSTRAP_TEMPLATE
    );
    assert_eq!(
        state.capabilities[0],
        ("UpdateStack".to_owned(), vec!["CAPABILITY_IAM".to_owned()])
    );
    drop(state);

    // Up to date now: left alone.
    let mark = p.mark();
    p.deploy(&["--yes"]).expect(0, "the next deploy");
    assert!(!p.actions_since(mark).contains(&"UpdateStack".to_owned()));
}

// ---- gradual rollouts ----

/// What the transform makes of a function with a deployment preference, in the resources a
/// rollout involves (the fake does not apply the transform, so the test deploys its result).
fn rollout_template(memory: &str) -> String {
    format!(
        "AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  CodeBucket:
    Type: String
  CodeKey:
    Type: String
Resources:
  SiteBucket:
    Type: AWS::S3::Bucket
  Function:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: {memory}
      Code:
        S3Bucket: !Ref CodeBucket
        S3Key: !Ref CodeKey
  FunctionAliaslive:
    Type: AWS::Lambda::Alias
  ServerlessDeploymentApplication:
    Type: AWS::CodeDeploy::Application
  FunctionDeploymentGroup:
    Type: AWS::CodeDeploy::DeploymentGroup
  FunctionErrorsAlarm:
    Type: AWS::CloudWatch::Alarm
  FunctionThrottlesAlarm:
    Type: AWS::CloudWatch::Alarm
Outputs:
  SiteBucketName:
    Value: !Ref SiteBucket
"
    )
}

const DEPLOYMENT: &str = "d-7XKQ2B9TL";
const ERRORS_ALARM: &str = "chatbot-dev-functionerrorsalarm-1a2b3c4d";

impl Project {
    /// A deployed stack whose env file asks for `rollout`, ready for an update.
    fn with_rollout(name: &str, rollout: &str) -> Project {
        let p = Project::new(name);
        let env = p.root.join("envs/dev.toml");
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(text.contains("rollout = \"all-at-once\""));
        std::fs::write(
            &env,
            text.replace(
                "rollout = \"all-at-once\"",
                &format!("rollout = \"{rollout}\""),
            ),
        )
        .unwrap();
        p.set_template(&rollout_template("256"));
        p.deploy(&["--yes"])
            .expect(0, "first deploy")
            .hides("Rollout");
        p.set_template(&rollout_template("512"));
        p
    }
}

fn shift(phases: &[(f64, Option<&str>)], end: fake_cloudformation::End) -> Outcome {
    Outcome::Rollout(fake_cloudformation::ScriptedRollout {
        deployment_id: DEPLOYMENT.to_owned(),
        old_version: "6".to_owned(),
        new_version: "7".to_owned(),
        phases: phases
            .iter()
            .map(|(weight, alarm)| fake_cloudformation::Phase {
                weight: *weight,
                alarm: alarm.map(str::to_owned),
            })
            .collect(),
        end,
    })
}

#[test]
fn a_canary_is_followed_until_the_new_version_has_all_the_traffic() {
    let p = Project::with_rollout("canary", "canary-10-percent-5-minutes");
    p.fake.state().on_execute = shift(
        &[(0.1, None), (0.1, None)],
        fake_cloudformation::End::Succeed,
    );
    let run = p.deploy(&["--yes"]);
    run.expect(0, "an update shifted by a canary")
        .shows(&format!(
            "Rollout {DEPLOYMENT} (canary: 10 % for 5 minutes, then all) InProgress: 10 % on \
             version 7, 90 % on version 6; alarms: FunctionErrorsAlarm OK, FunctionThrottlesAlarm OK"
        ))
        .shows(&format!(
            "Rollout {DEPLOYMENT} (canary: 10 % for 5 minutes, then all) Succeeded: 100 % on \
             version 7; alarms: FunctionErrorsAlarm OK, FunctionThrottlesAlarm OK"
        ))
        .shows("Stack chatbot-dev: UPDATE_COMPLETE")
        .shows(&format!("Site s3://{SITE}:"))
        .hides("Automatic rollback");
    // A line only when something changed: the two 10 % phases make one.
    assert_eq!(run.stdout.matches("InProgress: 10 %").count(), 1, "{run}");
    let actions = p.fake.state().actions();
    for call in [
        "CodeDeploy ListDeployments",
        "CodeDeploy GetDeployment",
        "Lambda GetAlias",
        "CloudWatch DescribeAlarms",
    ] {
        assert!(actions.iter().any(|a| a == call), "{call}: {actions:?}");
    }
}

#[test]
fn an_alarm_during_a_linear_rollout_is_a_failed_deploy_that_names_it() {
    let p = Project::with_rollout("rollback", "linear-10-percent-every-1-minute");
    p.fake.state().on_execute = shift(
        &[(0.1, None), (0.2, Some("FunctionErrorsAlarm"))],
        fake_cloudformation::End::StopOnAlarm,
    );
    let run = p.deploy(&["--yes"]);
    run.expect(1, "a rollout rolled back by an alarm")
        .shows(&format!(
            "Rollout {DEPLOYMENT} (linear: 10 % more every minute) InProgress: 10 % on version 7"
        ))
        .shows(
            "InProgress: 20 % on version 7, 80 % on version 6; alarms: FunctionErrorsAlarm \
             ALARM, FunctionThrottlesAlarm OK",
        )
        .shows(&format!("Rollout {DEPLOYMENT} (linear: 10 % more every minute) Stopped: all traffic on version 6"))
        .shows("Deploying chatbot-dev failed: the stack is UPDATE_ROLLBACK_COMPLETE")
        .shows("✗ FunctionAliaslive (AWS::Lambda::Alias) UPDATE_FAILED")
        .shows(&format!(
            "Automatic rollback: alarm FunctionErrorsAlarm ({ERRORS_ALARM}) fired, and CodeDeploy moved the traffic back"
        ))
        .shows("FunctionErrorsAlarm: Threshold Crossed: 1 datapoint [2.0")
        .shows(&format!(
            "CodeDeploy deployment {DEPLOYMENT} Stopped: ALARM_ACTIVE: One or more alarms have \
             been activated"
        ))
        .shows("Automatic rollback is triggered with a DeploymentId d-7XKQ2B9TR")
        .shows("The live alias is back on version 6")
        .shows("The stack was rolled back to its previous state and still serves it")
        .hides("Site s3://");
    assert_eq!(p.status().as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    assert_eq!(
        p.deployed_template(),
        rollout_template("256"),
        "rolled back"
    );
    assert_eq!(p.change_sets(), 0);
}

#[test]
fn a_rollout_that_cannot_be_watched_is_still_followed_to_its_end() {
    let p = Project::with_rollout("no-codedeploy", "canary-10-percent-5-minutes");
    {
        let mut state = p.fake.state();
        state.deny_codedeploy = true;
        state.on_execute = shift(&[(0.1, None)], fake_cloudformation::End::Succeed);
    }
    p.deploy(&["--yes"])
        .expect(0, "an update whose rollout cannot be read")
        .shows("Cannot follow the rollout any more (listing CodeDeploy's deployments: the caller lacks a permission")
        .shows("not authorized to perform: codedeploy:ListDeployments")
        .shows("CloudFormation's events still tell how it ends")
        .shows("Stack chatbot-dev: UPDATE_COMPLETE");
}

// ---- Preflight: what would fail (or deploy a chatbot that cannot answer) is found first ----

impl Project {
    /// `deploy` of the environment's own rendered template.
    fn deploy_rendered(&self, extra: &[&str]) -> Run {
        self.rendered("deploy", extra)
    }

    fn diff_rendered(&self, extra: &[&str]) -> Run {
        self.rendered("diff", extra)
    }

    /// `task` (diff or deploy) of the environment's own rendered template.
    fn rendered(&self, task: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            task,
            "--env",
            self.env,
            "--artifact",
            self.bundle.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.run(self.command(&args))
    }

    fn edit_env(&self, from: &str, to: &str) {
        let path = self.root.join(format!("envs/{}.toml", self.env));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "envs/{}.toml has {from:?}", self.env);
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Nothing was proposed, uploaded or executed.
    fn assert_untouched(&self, mark: usize) {
        let actions = self.actions_since(mark);
        assert!(
            !actions.iter().any(|a| a == "CreateChangeSet"
                || a == "ExecuteChangeSet"
                || a == "CreateStack"
                || a.starts_with("S3 PUT")),
            "nothing proposed, created or uploaded: {actions:?}"
        );
    }
}

const HAIKU: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";

/// A new account where Anthropic's models were never used: no use-case form, no Marketplace
/// subscription.
fn claude_not_enabled(p: &Project) {
    let mut state = p.fake.state();
    state.account.use_case_submitted = false;
    state.account.models.insert(
        HAIKU.to_owned(),
        FakeModel {
            authorization: "NOT_AUTHORIZED".to_owned(),
            ..FakeModel::not_subscribed(HAIKU)
        },
    );
}

#[test]
fn prod_with_a_model_not_enabled_is_stopped_before_any_change_set() {
    let p = Project::with_env("preflight-model", "prod");
    claude_not_enabled(&p);
    let mark = p.mark();
    let run = p.deploy_rendered(&["--yes"]);
    run.expect(1, "a model not enabled");
    p.assert_untouched(mark);
    expect_test::expect_file!["snapshots/deploy_prod_model_not_enabled.txt"]
        .assert_eq(&format!("{}\n--- stderr\n{}", run.stdout, run.stderr));
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let p = Project::with_env("preflight-all", "prod");
    // A stack name long enough that the CloudFront origin access control's name passes 64.
    let long_name = format!("chatbot-prod-{}", "x".repeat(47));
    p.edit_env(
        "stack_name = \"chatbot-prod\"",
        &format!("stack_name = \"{long_name}\""),
    );
    p.edit_env(
        "# [domain]",
        "[domain]\nname = \"chat.example.com\"\n\
         certificate_arn = \"arn:aws:acm:us-east-1:123456789012:certificate/1111-2222\"\n# ",
    );
    {
        let mut state = p.fake.state();
        state
            .account
            .missing_profiles
            .push("us.amazon.nova-lite-v1:0".to_owned());
        state.account.models.insert(
            "openai.gpt-oss-120b-1:0".to_owned(),
            FakeModel::not_subscribed("openai.gpt-oss-120b-1:0"),
        );
        // A new account: 10 concurrent executions, all of which Lambda keeps unreserved.
        state.account.concurrency_limit = 10;
        state.account.unreserved = 10;
        state.account.certificates.insert(
            "arn:aws:acm:us-east-1:123456789012:certificate/1111-2222".to_owned(),
            FakeCertificate {
                domain: "example.org".to_owned(),
                alternative_names: vec!["*.example.org".to_owned()],
                status: "ISSUED".to_owned(),
                not_after: 4_102_444_800,
                kind: "AMAZON_ISSUED".to_owned(),
            },
        );
    }
    let mark = p.mark();
    let run = p.deploy_rendered(&["--yes"]);
    run.expect(1, "six problems");
    p.assert_untouched(mark);
    let paragraphs: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("✗ ")).collect();
    assert_eq!(paragraphs.len(), 6, "one paragraph per problem\n{run}");
    for (subject, what, fix) in [
        (
            "us.amazon.nova-lite-v1:0",
            "has no inference profile us.amazon.nova-lite-v1:0 in us-west-2",
            "aws bedrock list-inference-profiles --region us-west-2",
        ),
        (
            "openai.gpt-oss-120b-1:0",
            "has no AWS Marketplace subscription in account 123456789012",
            "aws bedrock create-foundation-model-agreement --model-id openai.gpt-oss-120b-1:0",
        ),
        (
            "Reserving 50 concurrent executions",
            "Lambda keeps at least 10 unreserved (the account's quota is 10",
            "--quota-code L-B99A9384 --desired-value 150 --region us-west-2",
        ),
        (
            "CloudFront origin access control name of SiteOriginAccessControl",
            "75 characters, over the limit of 64",
            "shorten stack_name in envs/prod.toml to at most 49 characters",
        ),
        (
            "Bedrock guardrail name of Guardrail",
            "over the limit of 50",
            "shorten stack_name in envs/prod.toml to at most 40 characters",
        ),
        (
            "arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 does not cover chat.example.com",
            "(it covers example.org, *.example.org)",
            "aws acm request-certificate --domain-name chat.example.com",
        ),
    ] {
        assert!(
            paragraphs
                .iter()
                .any(|p| p.contains(subject) && p.contains(what) && p.contains(fix)),
            "a paragraph with {subject:?}, {what:?} and {fix:?}\n{run}"
        );
    }
    assert!(
        run.one_error_line()
            .contains("preflight found 6 problems for prod")
    );
    assert!(
        run.stdout
            .contains("Passed: 1 of 3 models usable in us-west-2"),
        "{run}"
    );
}

#[test]
fn refused_preflight_calls_are_warnings_naming_the_permission() {
    let p = Project::new("preflight-denied");
    p.fake.state().account.denied = vec![
        "bedrock:GetFoundationModelAvailability".to_owned(),
        "lambda:GetAccountSettings".to_owned(),
    ];
    let run = p.deploy_rendered(&["--yes"]);
    run.expect(0, "preflight calls refused: warned, not stopped")
        .shows("Preflight for dev (account 123456789012, us-east-1): 3 not checked")
        .shows(
            "? Not checked: whether account 123456789012 may use amazon.nova-lite-v1:0: the \
             credentials may not call bedrock:GetFoundationModelAvailability (AccessDenied). \
             Grant bedrock:GetFoundationModelAvailability to the deploy role",
        )
        .shows(
            "? Not checked: whether the reserved concurrency fits the account's Lambda \
             concurrency: the credentials may not call lambda:GetAccountSettings",
        )
        .shows("Stack chatbot-dev: CREATE_COMPLETE");
    assert!(
        run.stdout.contains("Passed: 6 names within their limits\n"),
        "what was not checked does not pass\n{run}"
    );
}

#[test]
fn skip_preflight_asks_nothing_and_goes_ahead() {
    let p = Project::with_env("preflight-skip", "prod");
    claude_not_enabled(&p);
    let mark = p.mark();
    p.deploy(&["--yes", "--skip-preflight"])
        .expect(0, "--skip-preflight")
        .hides("Preflight")
        .shows("Stack chatbot-prod: CREATE_COMPLETE");
    let actions = p.actions_since(mark);
    assert!(
        !actions
            .iter()
            .any(|a| a.starts_with("Bedrock") || a.starts_with("Lambda")),
        "{actions:?}"
    );
}

#[test]
fn diff_runs_preflight_too_and_its_json_carries_it() {
    let p = Project::with_env("preflight-diff", "prod");
    claude_not_enabled(&p);
    let mark = p.mark();
    let run = p.diff_rendered(&["--json"]);
    run.expect(1, "diff --json with a model not enabled");
    p.assert_untouched(mark);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let preflight = &json["preflight"];
    assert_eq!(preflight["ran"], true);
    assert_eq!(preflight["problems"], 2);
    assert_eq!(preflight["findings"][0]["severity"], "problem");
    assert_eq!(preflight["findings"][0]["check"], "model");
    assert_eq!(
        preflight["findings"][0]["subject"],
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    assert!(
        run.one_error_line()
            .contains("run `cargo xtask diff --env prod` again")
    );

    // Once the model is enabled, the review carries the passed preflight.
    p.fake.state().account = Default::default();
    let run = p.diff_rendered(&["--json"]);
    run.expect(0, "diff --json of a usable account");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(json["preflight"]["problems"], 0);
    assert_eq!(json["has_changes"], true);
    let text = p.diff_rendered(&[]);
    text.expect(0, "diff")
        .shows("Preflight for prod (account 123456789012, us-west-2): passed (3 models usable in us-west-2");
    let skipped = p.diff_rendered(&["--json", "--skip-preflight"]);
    let json: serde_json::Value = serde_json::from_str(&skipped.stdout).unwrap();
    assert_eq!(json["preflight"]["ran"], false);
}

#[test]
fn reserved_concurrency_counts_what_the_stack_already_holds() {
    let p = Project::with_env("preflight-concurrency", "prod");
    // prod reserves 50; Lambda keeps 100 unreserved: a quota of 150 fits exactly.
    p.fake.state().account.concurrency_limit = 150;
    p.fake.state().account.unreserved = 150;
    p.deploy_rendered(&["--yes"])
        .expect(0, "first deploy")
        .shows("reserved concurrency 50 fits the account");

    // Now the function holds 50 back: 100 unreserved, and the same deploy still fits.
    {
        let mut state = p.fake.state();
        state.account.unreserved = 100;
        state
            .account
            .function_concurrency
            .insert("chatbot-prod-function-1a2b3c4d".to_owned(), 50);
    }
    p.deploy_rendered(&["--yes"])
        .expect(0, "the same reservation again")
        .shows("reserved concurrency 50 fits the account");

    // Ten more would not fit.
    p.edit_env("reserved_concurrency = 50", "reserved_concurrency = 60");
    let mark = p.mark();
    let run = p.deploy_rendered(&["--yes"]);
    run.expect(1, "a reservation over the account's")
        .shows("Reserving 60 concurrent executions for the function would leave 90")
        .shows("of which this stack's function holds 50 back today")
        .shows("lower function.reserved_concurrency in envs/prod.toml to at most 50")
        .shows("--desired-value 160");
    p.assert_untouched(mark);
}

// ---- Answers no SDK can read: the operation, status, request id and a short excerpt ----

const REQUEST_ID: &str = "00000000-1111-2222-3333-444444444444";

/// What a Rust debug dump of an SDK error looks like; never shown to a user.
const DEBUG_DUMP: [&str; 6] = [
    "Unhandled",
    "ErrorMetadata",
    "source:",
    "raw: Response",
    "DispatchFailure(",
    "ServiceError(",
];

#[test]
fn answers_the_sdk_cannot_read_name_the_operation_status_and_request_id() {
    for (service, status, content_type, body, operation, shown) in [
        (
            "cloudformation",
            200,
            "application/json",
            "{\"Stacks\": []}",
            "CloudFormation DescribeStacks answered HTTP 200",
            "with a body it cannot read: `{\"Stacks\": []}`",
        ),
        (
            "sts",
            502,
            "text/html",
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad \
             Gateway</h1><p>The proxy server received an invalid response.</p></body></html>",
            "STS GetCallerIdentity answered HTTP 502",
            "with a body it cannot read: `502 Bad Gateway`",
        ),
        (
            "cloudformation",
            500,
            "text/plain",
            "",
            "CloudFormation DescribeStacks answered HTTP 500",
            "with an empty body",
        ),
        (
            "sts",
            200,
            "text/xml",
            "\u{1b}[31mnot xml\u{1b}[0m\u{7}",
            "STS GetCallerIdentity answered HTTP 200",
            "with a body it cannot read: `[31mnot xml [0m`",
        ),
    ] {
        let p = Project::new("garbage");
        p.fake.state().garbage.insert(
            service.to_owned(),
            fake_cloudformation::Garbage {
                status,
                content_type: content_type.to_owned(),
                body: body.to_owned(),
            },
        );
        let run = p.deploy(&["--yes"]);
        run.expect(1, operation);
        let line = run.one_error_line();
        for part in [
            operation,
            &format!("request id {REQUEST_ID}"),
            shown,
            &format!("the environment points this service at {}", p.fake.endpoint),
        ] {
            assert!(line.contains(part), "{part:?} in\n{line}");
        }
        for dump in DEBUG_DUMP {
            assert!(!line.contains(dump), "no debug dump ({dump:?}) in\n{line}");
        }
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{7}'),
            "control characters are removed:\n{line:?}"
        );
    }
}

#[test]
fn preflight_calls_answered_with_garbage_are_not_checked_not_passed() {
    let p = Project::new("garbage-preflight");
    p.fake.state().garbage.insert(
        "bedrock".to_owned(),
        fake_cloudformation::Garbage {
            status: 200,
            content_type: "text/xml".to_owned(),
            body: "<ListFoundationModelsResponse/>".to_owned(),
        },
    );
    let run = p.deploy(&["--yes"]);
    run.expect(0, "Bedrock answering XML: warned, deployed")
        .shows("Preflight for dev (account 123456789012, us-east-1): 6 not checked")
        .shows(
            "? Not checked: the inference profile us.anthropic.claude-haiku-4-5-20251001-v1:0: \
             Bedrock GetInferenceProfile answered HTTP 200, request id",
        )
        .shows("with a body it cannot read: `<ListFoundationModelsResponse/>`")
        .shows("Stack chatbot-dev: CREATE_COMPLETE");
    for dump in DEBUG_DUMP {
        assert!(
            !run.stdout.contains(dump),
            "no debug dump ({dump:?})\n{run}"
        );
    }
    assert!(!run.stdout.contains("models usable"), "{run}");
}

// ---- Partial success: the stack is up, publishing is not ----

/// The test template with a CloudFront distribution whose id is an output, as the real
/// stack has.
fn template_with_distribution() -> String {
    template("256").replace(
        "Outputs:\n",
        "  Distribution:\n    Type: AWS::CloudFront::Distribution\nOutputs:\n  DistributionId:\n    \
         Value: !Ref Distribution\n",
    )
}

#[test]
fn page_refused_after_the_stack_is_up_says_the_stack_is_up_and_what_to_run() {
    let p = Project::new("partial-publish");
    p.set_template(&template_with_distribution());
    p.fake.state().refusals.push(fake_cloudformation::Refusal {
        call: format!("S3 PUT /{SITE}/index.html"),
        status: 403,
        code: "AccessDenied".to_owned(),
        message: "Access Denied".to_owned(),
    });
    let outputs = p.root.join("outputs.json");
    let run = p.deploy(&["--yes", "--outputs-file", outputs.to_str().unwrap()]);
    run.expect(1, "the page refused after the stack was created")
        .shows("Stack chatbot-dev: CREATE_COMPLETE");
    let line = run.one_error_line();
    for part in [
        "stack chatbot-dev is deployed (CREATE_COMPLETE) and its outputs are in",
        "but the page was not published: uploading s3://chatbot-dev-sitebucket-1a2b3c4d/index.html",
        "AccessDenied: Access Denied",
        "1 of 3 files were uploaded before it stopped (app.js)",
        "CloudFront was told to forget those",
        "run `cargo xtask deploy --env dev` again",
    ] {
        assert!(line.contains(part), "{part:?} in\n{line}");
    }
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs).expect("the outputs file"))
            .unwrap();
    assert_eq!(written["outputs"]["SiteBucketName"], SITE);
    assert_eq!(p.status().as_deref(), Some("CREATE_COMPLETE"));
    assert_eq!(
        p.fake.state().account.invalidations,
        [(
            "chatbot-dev-distribution-1a2b3c4d".to_owned(),
            vec!["/app.js".to_owned()]
        )],
        "what changed before the refusal is invalidated"
    );

    // The retry publishes the rest and invalidates it.
    p.fake.state().refusals.clear();
    p.deploy(&["--yes"])
        .expect(0, "the retry")
        .shows("No changes: template, parameters and code match stack chatbot-dev")
        .shows(&format!(
            "Site s3://{SITE}: 2 uploaded, 0 deleted, 1 unchanged"
        ));
    assert_eq!(
        p.fake.state().account.invalidations[1].1,
        ["/index.html", "/style.css", "/"]
    );
}

#[test]
fn invalidation_refused_after_the_page_is_published_gives_the_command_to_run() {
    let p = Project::new("partial-invalidation");
    p.set_template(&template_with_distribution());
    p.fake.state().refusals.push(fake_cloudformation::Refusal {
        call: "CloudFront CreateInvalidation".to_owned(),
        status: 403,
        code: "AccessDenied".to_owned(),
        message: "User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: \
                  cloudfront:CreateInvalidation"
            .to_owned(),
    });
    let outputs = p.root.join("outputs.json");
    let run = p.deploy(&["--yes", "--outputs-file", outputs.to_str().unwrap()]);
    run.expect(1, "the invalidation refused").shows(&format!(
        "Site s3://{SITE}: 3 uploaded, 0 deleted, 0 unchanged"
    ));
    let line = run.one_error_line();
    for part in [
        "stack chatbot-dev is deployed (CREATE_COMPLETE) and its outputs are in",
        "and the page was published (3 uploaded, 0 deleted), but CloudFront was not told to \
         forget the changed files",
        "not authorized to perform: cloudfront:CreateInvalidation",
        "run `aws cloudfront create-invalidation --distribution-id \
         chatbot-dev-distribution-1a2b3c4d --paths '/app.js' '/index.html' '/style.css' '/'`",
    ] {
        assert!(line.contains(part), "{part:?} in\n{line}");
    }
    assert!(outputs.is_file(), "the outputs file is written");
    assert_eq!(p.fake.state().puts(SITE).len(), 3);
}

// ---- The deploy role's policy allows every call the CLI makes ----

#[test]
fn every_call_the_cli_makes_is_allowed_by_the_deploy_role_policy() {
    let p = Project::new("policy");
    p.edit_env(
        "# [domain]",
        "[domain]\nname = \"chat.example.com\"\n\
         certificate_arn = \"arn:aws:acm:us-east-1:123456789012:certificate/1111-2222\"\n# ",
    );
    p.fake.state().account.certificates.insert(
        "arn:aws:acm:us-east-1:123456789012:certificate/1111-2222".to_owned(),
        FakeCertificate {
            domain: "*.example.com".to_owned(),
            alternative_names: vec![],
            status: "ISSUED".to_owned(),
            not_after: 4_102_444_800,
            kind: "AMAZON_ISSUED".to_owned(),
        },
    );
    // A life: create with a distribution, a reviewed plan, an update that rolls back, the
    // deploy after it, status, destroy, and a first create that fails and is made again.
    p.set_template(&template_with_distribution());
    p.deploy(&["--yes"]).expect(0, "first deploy");
    p.set_template(&template_with_distribution().replace("256", "512"));
    let plan = p.root.join("plan.json");
    let template_path = p.root.join("template.yaml");
    let diff = [
        "diff",
        "--env",
        "dev",
        "--artifact",
        p.bundle.to_str().unwrap(),
        "--template",
        template_path.to_str().unwrap(),
        "--out",
        plan.to_str().unwrap(),
    ];
    p.run(p.command(&diff)).expect(0, "diff --out");
    p.deploy(&["--yes", "--plan", plan.to_str().unwrap()])
        .expect(0, "deploy --plan");
    p.set_template(&template_with_distribution().replace("256", "1024"));
    p.fake.state().on_execute = fail("Function", CONCURRENCY);
    p.deploy(&["--yes"]).expect(1, "an update that rolls back");
    p.fake.state().on_execute = Outcome::Succeed;
    p.deploy(&["--yes"]).expect(0, "the deploy after it");
    p.run(p.command(&["status", "--env", "dev"]))
        .expect(0, "status");
    p.run(p.command(&["destroy", "--env", "dev", "--yes"]))
        .expect(0, "destroy");
    p.fake.state().on_execute = fail("Function", NO_SUCH_KEY);
    p.deploy(&["--yes"]).expect(1, "a first create that fails");
    p.fake.state().on_execute = Outcome::Succeed;
    p.deploy(&["--yes"]).expect(0, "made again");

    let calls = role_policy::assert_allows_logged_calls(&p.root.join("aws-calls.log"));
    for call in [
        "STS:GetCallerIdentity",
        "Bedrock:GetFoundationModelAvailability",
        "Lambda:GetAccountSettings",
        "Lambda:GetFunctionConcurrency",
        "ACM:DescribeCertificate",
        "CloudFormation:ExecuteChangeSet",
        "CloudFormation:DeleteStack",
        "S3:PutObject",
        "S3:DeleteObjects",
        "CloudFront:CreateInvalidation",
    ] {
        assert!(calls.contains(call), "the life called {call}: {calls:?}");
    }
}
