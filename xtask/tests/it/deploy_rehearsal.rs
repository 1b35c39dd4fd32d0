//! The deploy rehearsal: the real `cargo xtask` binary against a local `moto_server`, reached
//! the standard way (`AWS_ENDPOINT_URL`), through a whole life: first deploy, a deploy with
//! nothing to do, diffs, a change, a reviewed plan, the guards, destroy.
//!
//! moto cannot execute the real stack (its API Gateway ignores the REST API's OpenAPI body and
//! refuses the deployment: "The REST API doesn't contain any methods"), so the rehearsal
//! deploys a small template of the same shape: the SAM transform declared, the
//! `CodeBucket`/`CodeKey` parameters, a site bucket, a table and a SAM function, the
//! `SiteBucketName` and `TableName` outputs.
//!
//! moto rehearses the call sequence only: it does not apply the SAM transform (it keeps the
//! declaration, answers both template stages with the template as sent, and skips the
//! `AWS::Serverless::Function`, so no version, alias or CodeDeploy deployment exists and no
//! rollout can be rehearsed here), skips CloudFront and API Gateway's account settings, returns
//! no outputs after a change set, no per-resource events and no property details (the rendering
//! of those is tested in `review.rs` against documented shapes, rollouts in
//! `deploy_faults.rs`). What is checked here is what moto really does: stacks, change sets, S3
//! objects, the bootstrap stack's template.
//!
//! moto has no Bedrock control plane and no Lambda account settings, so preflight's calls go to
//! the account stand-in of [`fake_cloudformation`] (`AWS_ENDPOINT_URL_BEDROCK`, `_LAMBDA`,
//! `_ACM`).
//!
//! Every AWS call the CLI makes here is logged (`CHATBOT_AWS_CALL_LOG`) and checked against the
//! deploy role's policy, `docs/deploy-role-policy.json`; so is what CloudFormation's resource
//! handlers need for every resource type the rendered templates declare ([`role_policy`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aws_config::BehaviorVersion;

use crate::support::{self, Run};
use crate::{fake_cloudformation, role_policy};
use aws_sdk_s3::config::{Credentials, Region};
use testkit::moto::{Mode, MotoOptions, MotoServer};

struct Rehearsal {
    endpoint: String,
    /// Bedrock, Lambda and ACM for preflight.
    account: fake_cloudformation::FakeCloudFormation,
    root: PathBuf,
    bundle: PathBuf,
    runtime: tokio::runtime::Runtime,
    cfn: aws_sdk_cloudformation::Client,
    s3: aws_sdk_s3::Client,
}

impl Rehearsal {
    fn new(endpoint: &str) -> Rehearsal {
        // One folder per rehearsal: the tests of this file run at the same time.
        static REHEARSALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = REHEARSALS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("xtask-rehearsal-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("envs")).unwrap();
        std::fs::create_dir_all(root.join("frontend")).unwrap();
        let project = xtask::tools::project_root();
        std::fs::copy(project.join("envs/dev.toml"), root.join("envs/dev.toml")).unwrap();
        for name in ["index.html", "app.js", "style.css"] {
            std::fs::copy(
                project.join("frontend").join(name),
                root.join("frontend").join(name),
            )
            .unwrap();
        }
        std::fs::write(root.join("template.yaml"), sam_stand_in("256")).unwrap();
        let bundle = support::stand_in_bundle(&root);

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(endpoint)
                .credentials_provider(Credentials::new("test", "test", None, None, "rehearsal"))
                .load(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        Rehearsal {
            endpoint: endpoint.to_owned(),
            account: fake_cloudformation::FakeCloudFormation::start(),
            cfn: aws_sdk_cloudformation::Client::new(&config),
            s3,
            root,
            bundle,
            runtime,
        }
    }

    fn xtask(&self, args: &[&str]) -> Run {
        let mut command = support::xtask(args, &self.root, &self.endpoint);
        command
            .env("AWS_ENDPOINT_URL_BEDROCK", &self.account.endpoint)
            .env("AWS_ENDPOINT_URL_LAMBDA", &self.account.endpoint)
            .env("AWS_ENDPOINT_URL_ACM", &self.account.endpoint);
        Run::of(command)
    }

    fn deploy(&self, extra: &[&str]) -> Run {
        let bundle = self.bundle.to_str().unwrap().to_owned();
        let template = self.root.join("template.yaml").to_str().unwrap().to_owned();
        let mut args = vec![
            "deploy",
            "--env",
            "dev",
            "--artifact",
            &bundle,
            "--template",
            &template,
        ];
        args.extend_from_slice(extra);
        self.xtask(&args)
    }

    fn diff(&self, extra: &[&str]) -> Run {
        let bundle = self.bundle.to_str().unwrap().to_owned();
        let template = self.root.join("template.yaml").to_str().unwrap().to_owned();
        let mut args = vec![
            "diff",
            "--env",
            "dev",
            "--artifact",
            &bundle,
            "--template",
            &template,
        ];
        args.extend_from_slice(extra);
        self.xtask(&args)
    }

    fn set_memory(&self, memory: &str) {
        std::fs::write(self.root.join("template.yaml"), sam_stand_in(memory)).unwrap();
    }

    /// The template of the bootstrap stack as deployed, if there is one.
    fn bootstrap_template(&self) -> Option<String> {
        self.runtime.block_on(async {
            let answer = self
                .cfn
                .get_template()
                .stack_name(xtask::aws::artifacts::BOOTSTRAP_STACK)
                .send()
                .await
                .ok()?;
            answer.template_body().map(str::to_owned)
        })
    }

    fn edit_env(&self, from: &str, to: &str) {
        let path = self.root.join("envs/dev.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "envs/dev.toml has {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Keys in `bucket` and their content types.
    fn objects(&self, bucket: &str) -> Vec<(String, String)> {
        self.runtime.block_on(async {
            let listed = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .send()
                .await
                .unwrap();
            let mut out = Vec::new();
            for object in listed.contents() {
                let key = object.key().unwrap().to_owned();
                let head = self
                    .s3
                    .head_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .unwrap();
                out.push((key, head.content_type().unwrap_or("").to_owned()));
            }
            out
        })
    }

    fn bucket_exists(&self, bucket: &str) -> bool {
        self.runtime
            .block_on(self.s3.head_bucket().bucket(bucket).send())
            .is_ok()
    }

    /// Change sets of the stack, by execution status.
    fn change_sets(&self) -> Vec<String> {
        self.runtime.block_on(async {
            match self
                .cfn
                .list_change_sets()
                .stack_name("chatbot-dev")
                .send()
                .await
            {
                Ok(listed) => listed
                    .summaries()
                    .iter()
                    .map(|s| {
                        s.execution_status()
                            .map(|e| e.as_str().to_owned())
                            .unwrap_or_default()
                    })
                    .collect(),
                Err(_) => Vec::new(),
            }
        })
    }

    fn stack_status(&self) -> Option<String> {
        self.runtime.block_on(async {
            let described = self
                .cfn
                .describe_stacks()
                .stack_name("chatbot-dev")
                .send()
                .await
                .ok()?;
            described
                .stacks()
                .first()?
                .stack_status()
                .map(|s| s.as_str().to_owned())
        })
    }
}

impl Drop for Rehearsal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The benchmarks' stand-in template as a SAM template: the transform declared and a SAM
/// function beside the resources moto deploys (it skips the function).
fn sam_stand_in(memory: &str) -> String {
    let template = xtask::bench::deploy::stand_in_template(memory);
    let (head, rest) = template.split_once('\n').unwrap();
    let (resources, outputs) = rest.split_once("Outputs:\n").unwrap();
    format!(
        "{head}\nTransform: AWS::Serverless-2016-10-31\n{resources}  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      MemorySize: {memory}
      AutoPublishAlias: live
      CodeUri:
        Bucket:
          Ref: CodeBucket
        Key:
          Ref: CodeKey
Outputs:\n{outputs}"
    )
}

/// The site bucket named in the deploy's output.
fn site_bucket(run: &Run) -> String {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Site s3://"))
        .unwrap_or_else(|| panic!("no site line in\n{}", run.stdout));
    line["Site s3://".len()..]
        .split(':')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn deploy_life_against_moto() {
    let moto = Moto::start();
    let r = Rehearsal::new(&moto.endpoint);
    let frontend: Vec<&str> = vec!["app.js", "index.html", "style.css"];

    // First deploy: bootstrap bucket, bundle, change set, stack, site.
    let first = r.deploy(&[
        "--yes",
        "--outputs-file",
        r.root.join("outputs.json").to_str().unwrap(),
    ]);
    first
        .expect(0, "first deploy")
        .shows("Creating the artifacts bucket chatbot-artifacts-123456789012-us-east-1")
        .shows("): uploaded")
        .shows("Stack chatbot-dev (create)")
        .shows("Plan: ")
        .shows("CREATE_COMPLETE")
        .shows("3 uploaded, 0 deleted, 0 unchanged")
        // dev sets no alarm destination and allows that: said before and after the review.
        .shows(ALARMS_REACH_NO_ONE);
    assert_eq!(
        first.stdout.matches(ALARMS_REACH_NO_ONE).count(),
        2,
        "{}",
        first.stdout
    );
    assert_eq!(r.stack_status().as_deref(), Some("CREATE_COMPLETE"));
    assert_eq!(
        r.bootstrap_template().as_deref(),
        Some(xtask::aws::artifacts::BOOTSTRAP_TEMPLATE),
        "the bootstrap stack holds the account's API Gateway settings"
    );
    let bucket = site_bucket(&first);
    let objects = r.objects(&bucket);
    let keys: Vec<&str> = objects.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, frontend);
    assert!(objects.contains(&(
        "index.html".to_owned(),
        "text/html; charset=utf-8".to_owned()
    )));
    let artifacts = r.objects("chatbot-artifacts-123456789012-us-east-1");
    let bundles = support::bundle_keys(artifacts.iter().map(|(k, _)| k.as_str()));
    assert_eq!(bundles.len(), 1, "one bundle uploaded: {artifacts:?}");
    // The deployment's record, and its template kept for a rollback.
    assert!(
        artifacts
            .iter()
            .any(|(k, t)| k.starts_with("deployments/dev/") && t == "application/json"),
        "{artifacts:?}"
    );
    assert!(
        artifacts
            .iter()
            .any(|(k, _)| k.starts_with("templates/chatbot-dev/")),
        "{artifacts:?}"
    );
    assert!(bundles[0].starts_with("bootstrap/") && bundles[0].ends_with(".zip"));
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.root.join("outputs.json")).unwrap())
            .unwrap();
    assert_eq!(outputs["outputs"]["SiteBucketName"], bucket.as_str());
    let change_sets_after_first = r.change_sets().len();

    // The same deploy again: nothing uploaded, no change set, nothing executed.
    let started = Instant::now();
    let again = r.deploy(&[]);
    let took = started.elapsed();
    again
        .expect(0, "deploy with nothing changed (no --yes needed)")
        .shows("): already there")
        .shows("No changes: template, parameters and code match")
        .shows("0 uploaded, 0 deleted, 3 unchanged")
        .hides("Plan: ")
        .hides("_IN_PROGRESS");
    assert_eq!(
        r.change_sets().len(),
        change_sets_after_first,
        "no change set made"
    );
    eprintln!("no-op deploy against moto took {took:?}");

    r.diff(&["--exit-code"])
        .expect(0, "diff with nothing changed")
        .shows("No changes");

    // A changed template: diff shows it and exits 2, without changing anything.
    r.set_memory("512");
    let diff = r.diff(&["--exit-code"]);
    diff.expect(2, "diff with a change")
        .shows("Stack chatbot-dev (update)")
        .shows("Plan: ");
    assert!(
        diff.stdout
            .lines()
            .any(|l| l.starts_with("  -") && l.contains("256"))
            && diff
                .stdout
                .lines()
                .any(|l| l.starts_with("  +") && l.contains("512")),
        "the template diff shows 256 → 512:\n{}",
        diff.stdout
    );
    assert_eq!(
        r.change_sets().len(),
        change_sets_after_first,
        "diff deletes its change set"
    );
    let json = r.diff(&["--json"]);
    json.expect(0, "diff --json without --exit-code");
    let review: serde_json::Value =
        serde_json::from_str(&json.stdout).expect("diff --json is JSON");
    assert_eq!(review["has_changes"], true);
    assert_eq!(review["kind"], "UPDATE");
    assert_eq!(review["alarms"]["verdict"], "warn");
    assert_eq!(review["alarms"]["destination_required"], false);
    assert_eq!(review["alarms"]["destinations"], serde_json::json!([]));
    assert!(
        review["alarms"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Alarms reach no one")
    );

    // Without a terminal and without --yes, deploy refuses and leaves no change set behind.
    r.deploy(&[])
        .expect(1, "deploy without a terminal")
        .shows("refusing to deploy without a terminal");
    assert!(
        !r.change_sets().iter().any(|s| s == "AVAILABLE"),
        "{:?}",
        r.change_sets()
    );

    // Deploy the change.
    r.deploy(&["--yes"])
        .expect(0, "deploy the change")
        .shows("UPDATE_COMPLETE");
    r.diff(&["--exit-code"])
        .expect(0, "diff after deploying the change");

    // A reviewed plan runs exactly once; a changed stack refuses it.
    r.set_memory("1024");
    let plan = r.root.join("plan.json");
    let plan_arg = plan.to_str().unwrap();
    r.diff(&["--exit-code", "--out", plan_arg])
        .expect(2, "diff --out")
        .shows("Plan kept in");
    r.deploy(&["--plan", plan_arg, "--yes"])
        .expect(0, "deploy --plan")
        .shows("Executing the reviewed plan")
        .shows("UPDATE_COMPLETE");
    r.deploy(&["--plan", plan_arg, "--yes"])
        .expect(1, "the same plan again")
        .shows("changed since the plan was reviewed");

    // The account guard.
    r.edit_env("stack_name", "account_id = \"999999999999\"\nstack_name");
    r.deploy(&["--yes"])
        .expect(1, "deploy with another account's credentials")
        .shows("credentials are for account 123456789012");
    r.edit_env("account_id = \"999999999999\"\n", "");

    // Destroy: buckets emptied, stack gone.
    r.xtask(&["destroy", "--env", "dev", "--yes"])
        .expect(0, "destroy")
        .shows("Emptied s3://")
        .shows("Deleted stack chatbot-dev");
    assert_eq!(r.stack_status(), None);
    assert!(!r.bucket_exists(&bucket), "the site bucket is gone");
    r.xtask(&["outputs", "--env", "dev"])
        .expect(1, "outputs of a deleted stack")
        .shows("does not exist");

    // The deploy role's policy allows every call made on the way.
    let calls = role_policy::assert_allows_logged_calls(&r.root.join("aws-calls.log"));
    for call in [
        "CloudFormation:CreateStack",
        "CloudFormation:CreateChangeSet",
        "Bedrock:GetInferenceProfile",
        "Lambda:GetAccountSettings",
        "S3:ListObjectVersions",
    ] {
        assert!(
            calls.contains(call),
            "the rehearsal called {call}: {calls:?}"
        );
    }
}

/// Handler permissions CloudFormation's resource schemas list that belong to features the
/// stack does not use, each with the feature.
const UNUSED_FEATURES: [(&str, &str); 3] = [
    ("kinesis:", "DynamoDB streaming to Kinesis Data Streams"),
    (
        "firehose:",
        "Lambda and CloudWatch Logs delivery to Firehose",
    ),
    ("s3tables:", "S3 Metadata tables"),
];

/// What CloudFormation needs to create, read, update and delete each resource type the
/// rendered templates declare (and the bootstrap stack's), read from the resource schemas
/// CloudFormation publishes (as shipped with cfn-lint); templates with a transform are
/// expanded first with SAM's own translator.
#[test]
fn deploy_role_policy_allows_what_cloudformation_needs_for_every_resource_type() {
    let schemas = cfn_lint_schemas();
    let providers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(schemas.join("providers/us-east-1.json")).unwrap(),
    )
    .unwrap();
    let root = xtask::tools::project_root();
    let mut types = std::collections::BTreeSet::new();
    let mut sources = vec![(
        "the bootstrap stack".to_owned(),
        xtask::aws::artifacts::BOOTSTRAP_TEMPLATE.to_owned(),
    )];
    for entry in std::fs::read_dir(root.join("templates")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            sources.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    for (name, text) in &sources {
        let template: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        let resources = if template.get("Transform").is_some() {
            expand_sam(name, text)
        } else {
            serde_json::to_value(&template["Resources"]).unwrap()
        };
        for resource in resources.as_object().expect("Resources").values() {
            types.insert(resource["Type"].as_str().unwrap().to_owned());
        }
    }
    let mut needed = Vec::new();
    for resource_type in &types {
        let hash = providers[resource_type.as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("no resource schema for {resource_type}"));
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(schemas.join(format!("resources/{hash}.json"))).unwrap(),
        )
        .unwrap();
        for handler in ["create", "read", "update", "delete"] {
            for permission in schema["handlers"][handler]["permissions"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let action = permission.as_str().unwrap();
                if UNUSED_FEATURES.iter().any(|(p, _)| action.starts_with(p)) {
                    continue;
                }
                needed.push((
                    action.to_owned(),
                    format!("CloudFormation's {handler} handler of {resource_type}"),
                ));
            }
        }
    }
    assert!(
        types.contains("AWS::CloudFront::Distribution") && types.contains("AWS::Lambda::Function"),
        "{types:?}"
    );
    role_policy::load().assert_allows(&needed);
}

/// cfn-lint's copy of CloudFormation's resource schemas (installed on first use).
fn cfn_lint_schemas() -> PathBuf {
    let cfn_lint = xtask::tools::ensure(&xtask::tools::CFN_LINT).unwrap();
    let python = cfn_lint.with_file_name("python");
    let output = Command::new(&python)
        .args([
            "-c",
            "import cfnlint, os; print(os.path.dirname(cfnlint.__file__))",
        ])
        .output()
        .expect("cfn-lint's python runs");
    assert!(output.status.success(), "{output:?}");
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim()).join("data/schemas")
}

/// The resources of a template after the SAM transform, by SAM's own translator (offline),
/// with the parameters the validators expand with.
fn expand_sam(name: &str, text: &str) -> serde_json::Value {
    let request =
        xtask::sam::Request::from_yaml(name, text, xtask::sam::sample_parameters("us-east-1"))
            .unwrap();
    let mut expanded = xtask::sam::expand(&[request]).unwrap();
    expanded.remove(0)["Resources"].take()
}

/// The real dev template without what moto cannot deploy: its API Gateway refuses a REST API
/// whose methods come from an OpenAPI body, so the API, its stage, keys and usage plan, the
/// function's permission to be invoked by it and the outputs naming it or the distribution
/// (which moto skips) are left out. The parameters, the origin secret slots and their
/// conditions, the function and its environment are the real ones.
fn deployable_real_template(root: &Path) -> String {
    let env = xtask::env::load(root, "dev").unwrap();
    let text = xtask::stack::render(&env).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources = doc["Resources"].as_mapping_mut().unwrap();
    resources.retain(|_, resource| {
        let kind = resource["Type"].as_str().unwrap();
        !(kind.starts_with("AWS::ApiGateway::")
            || kind == "AWS::Lambda::Permission"
            || kind == "AWS::CloudWatch::Dashboard")
    });
    let outputs = doc["Outputs"].as_mapping_mut().unwrap();
    for name in ["ApiUrl", "SiteUrl", "DistributionId"] {
        outputs.remove(name);
    }
    serde_yaml::to_string(&doc).unwrap()
}

impl Rehearsal {
    fn rotate(&self, extra: &[&str]) -> Run {
        let mut args = vec!["rotate-secret", "--env", "dev"];
        args.extend_from_slice(extra);
        self.xtask(&args)
    }

    fn parameters(&self) -> std::collections::BTreeMap<String, String> {
        self.runtime.block_on(async {
            let described = self
                .cfn
                .describe_stacks()
                .stack_name("chatbot-dev")
                .send()
                .await
                .unwrap();
            described.stacks()[0]
                .parameters()
                .iter()
                .map(|p| {
                    (
                        p.parameter_key().unwrap().to_owned(),
                        p.parameter_value().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
    }

    fn deployed_template(&self) -> String {
        self.runtime.block_on(async {
            self.cfn
                .get_template()
                .stack_name("chatbot-dev")
                .send()
                .await
                .unwrap()
                .template_body()
                .unwrap()
                .to_owned()
        })
    }

    /// Sets `OriginSecrets` the way a rotation stopped half-way would have left it.
    fn set_origin_secrets(&self, value: &str) {
        let parameters = self.parameters();
        self.runtime.block_on(async {
            use aws_sdk_cloudformation::types::{Capability, Parameter};
            let mut update = self
                .cfn
                .update_stack()
                .stack_name("chatbot-dev")
                .use_previous_template(true)
                .capabilities(Capability::CapabilityIam);
            for (key, previous) in parameters {
                let value = if key == "OriginSecrets" {
                    value.to_owned()
                } else {
                    previous
                };
                update = update.parameters(
                    Parameter::builder()
                        .parameter_key(key)
                        .parameter_value(value)
                        .build(),
                );
            }
            update.send().await.unwrap();
        });
    }
}

#[test]
fn rotating_the_origin_secret_against_moto() {
    let moto = Moto::start();
    let r = Rehearsal::new(&moto.endpoint);

    // Nothing to rotate before the first deploy.
    r.rotate(&["--yes"])
        .expect(1, "rotate before the stack exists")
        .shows("stack chatbot-dev does not exist: deploy it first");

    // A stack deployed without the slots (the stand-in has no OriginSecrets parameter).
    r.deploy(&["--yes"]).expect(0, "deploy of the stand-in");
    r.rotate(&["--yes"])
        .expect(1, "rotate a stack without slots")
        .shows("stack chatbot-dev has no OriginSecrets parameter");
    r.xtask(&["destroy", "--env", "dev", "--yes"])
        .expect(0, "destroy the stand-in");

    std::fs::write(
        r.root.join("template.yaml"),
        deployable_real_template(&r.root),
    )
    .unwrap();
    r.deploy(&["--yes"])
        .expect(0, "first deploy of the real template");
    let first = r.parameters();
    assert_eq!(
        first["OriginSecrets"], "A",
        "a new stack starts with slot A"
    );
    let template = r.deployed_template();

    // Without a terminal and without --yes, nothing is changed.
    r.rotate(&[])
        .expect(1, "rotate without a terminal")
        .shows("refusing to deploy without a terminal");
    assert_eq!(r.parameters(), first);

    let rotated = r.rotate(&["--yes"]);
    rotated
        .expect(0, "rotate")
        .shows("Now OriginSecrets = A (slot A sent and accepted). 3 updates")
        .shows("1. A → A+B: a new secret and API key in slot B")
        .shows("2. A+B → B+A: CloudFront sends slot B's value")
        .shows("3. B+A → B: slot A's secret and API key removed")
        .shows("Step 3/3: OriginSecrets B+A → B")
        .shows("~ OriginSecrets: B+A → B")
        .shows("Origin secret rotated in");
    assert_eq!(
        rotated
            .stdout
            .matches("Stack chatbot-dev: UPDATE_COMPLETE after")
            .count(),
        3,
        "{}",
        rotated.stdout
    );
    let after = r.parameters();
    assert_eq!(after["OriginSecrets"], "B");
    // Only the slots changed: the same template and the same code.
    assert_eq!(after["CodeKey"], first["CodeKey"]);
    assert_eq!(after["CodeBucket"], first["CodeBucket"]);
    assert_eq!(r.deployed_template(), template);
    // A deploy after it keeps the rotated state rather than going back to slot A.
    r.deploy(&["--yes"]).expect(0, "deploy after a rotation");
    assert_eq!(r.parameters()["OriginSecrets"], "B");

    // A rotation stopped half-way: finished by keeping what CloudFront sends, then rotated.
    r.set_origin_secrets("B+A");
    let resumed = r.rotate(&["--yes"]);
    resumed
        .expect(0, "rotate after a rotation stopped half-way")
        .shows("Now OriginSecrets = B+A (slot B sent, slots B and A accepted). 4 updates")
        .shows("1. B+A → B: slot A's secret and API key removed")
        .shows("4. A+B → A: slot B's secret and API key removed");
    assert_eq!(r.parameters()["OriginSecrets"], "A");
    assert_eq!(r.deployed_template(), template);
}

const ALARMS_REACH_NO_ONE: &str =
    "WARNING Alarms reach no one: envs/dev.toml sets neither alarms.email nor alarms.topic_arn";

/// A local port that counts the connections made to it and answers none.
struct CountingPort {
    endpoint: String,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingPort {
    fn start() -> CountingPort {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        CountingPort {
            endpoint,
            connections,
        }
    }
}

#[test]
fn an_environment_whose_alarms_must_reach_someone_is_not_deployed_until_they_do() {
    let aws = CountingPort::start();
    let r = Rehearsal::new(&aws.endpoint);
    let project = xtask::tools::project_root();
    std::fs::copy(
        project.join("envs/staging.toml"),
        r.root.join("envs/staging.toml"),
    )
    .unwrap();
    let bundle = r.bundle.to_str().unwrap().to_owned();
    let deploy = |extra: &[&str]| {
        let mut args = vec!["deploy", "--env", "staging", "--artifact", &bundle];
        args.extend_from_slice(extra);
        r.xtask(&args)
    };

    let refused = deploy(&["--yes"]);
    refused
        .expect(1, "deploy of staging without an alarm destination")
        .shows("Alarms would reach no one: envs/staging.toml sets neither alarms.email nor alarms.topic_arn")
        .shows("Deploying staging is refused until one is set");
    assert_eq!(
        aws.connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the refused deploy asked AWS something"
    );

    // diff reviews it anyway, saying the deploy would be refused.
    r.xtask(&["diff", "--env", "staging", "--artifact", &bundle])
        .shows("REFUSED Alarms would reach no one");

    // With an address to tell, the deploy goes ahead (to AWS, which answers nothing here).
    let path = r.root.join("envs/staging.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(
            "# email = \"you@example.com\"",
            "email = \"ops@example.com\"",
            1,
        ),
    )
    .unwrap();
    let before = aws.connections.load(std::sync::atomic::Ordering::SeqCst);
    let gone_ahead = deploy(&["--yes"]);
    gone_ahead.expect(1, "deploy against a port that answers nothing");
    assert!(
        !gone_ahead.stderr.contains("Alarms would reach no one"),
        "{}",
        gone_ahead.stderr
    );
    assert!(aws.connections.load(std::sync::atomic::Ordering::SeqCst) > before);
    let reviewed = r.xtask(&["diff", "--env", "staging", "--artifact", &bundle]);
    reviewed
        .shows("Alarms notify email ops@example.com (an address receives them once it confirms");
}

#[test]
fn an_older_bootstrap_stack_is_updated_in_moto() {
    let moto = Moto::start();
    let r = Rehearsal::new(&moto.endpoint);
    let older = xtask::aws::artifacts::BOOTSTRAP_TEMPLATE
        .split("  ApiGatewayCloudWatchRole:")
        .next()
        .unwrap()
        .to_owned()
        + "Outputs:\n  BucketName:\n    Value:\n      Ref: ArtifactsBucket\n";
    r.runtime.block_on(async {
        r.cfn
            .create_stack()
            .stack_name(xtask::aws::artifacts::BOOTSTRAP_STACK)
            .template_body(&older)
            .send()
            .await
            .unwrap();
    });
    r.deploy(&["--yes"])
        .expect(
            0,
            "a first deploy in an account bootstrapped by an older version",
        )
        .shows("Updating the bootstrap stack chatbot-artifacts")
        .hides("Creating the artifacts bucket")
        .shows("CREATE_COMPLETE");
    assert_eq!(
        r.bootstrap_template().as_deref(),
        Some(xtask::aws::artifacts::BOOTSTRAP_TEMPLATE)
    );
    r.deploy(&[])
        .expect(0, "nothing to do")
        .shows("No changes: template, parameters and code match")
        .hides("Updating the bootstrap stack");
}

/// A `moto_server` of our own on a free port (threaded: the rehearsal only needs it fast),
/// stopped on drop.
struct Moto {
    _server: MotoServer,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let binary = std::env::var_os("CHATBOT_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| xtask::tools::ensure(&xtask::tools::MOTO_SERVER).unwrap());
        let server = MotoServer::start_with(MotoOptions {
            binary,
            mode: Mode::Threaded,
            log: None,
        })
        .expect("moto_server starts");
        Moto {
            endpoint: server.endpoint(),
            _server: server,
        }
    }
}

/// The rehearsal's stand-in as SAM's translator expands it: a Lambda function whose code is
/// `CodeBucket`/`CodeKey`, its role, a version and the `live` alias. moto creates the function,
/// the role and the version, and skips the alias (it has no `AWS::Lambda::Alias`), which the
/// test then makes through Lambda's API as the transform would have.
fn expanded_function_template(memory: &str) -> String {
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
  FunctionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      MemorySize: {memory}
      Role:
        Fn::GetAtt: [FunctionRole, Arn]
      Code:
        S3Bucket:
          Ref: CodeBucket
        S3Key:
          Ref: CodeKey
  FunctionVersion:
    Type: AWS::Lambda::Version
    Properties:
      FunctionName:
        Ref: Function
  FunctionAliaslive:
    Type: AWS::Lambda::Alias
    Properties:
      Name: live
      FunctionName:
        Ref: Function
      FunctionVersion: '1'
Outputs:
  SiteBucketName:
    Value:
      Ref: SiteBucket
"
    )
}

/// A stand-in bundle of its own content, written to `root/<name>`.
fn bundle_saying(root: &Path, name: &str, text: &str) -> PathBuf {
    let path = root.join(name);
    let zip = xtask::bundle::deterministic_zip(&[("bootstrap", text.as_bytes(), 0o755)]).unwrap();
    std::fs::write(&path, zip).unwrap();
    path
}

/// Lambda's `CodeSha256` of a zip: its SHA-256 in base64.
fn lambda_code_sha256(zip: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(zip).unwrap());
    aws_smithy_types::base64::encode(digest)
}

impl Rehearsal {
    /// `xtask` with Lambda at moto too (not at the preflight stand-in): the hotswap calls go
    /// to the functions moto made. Preflight is skipped by the callers (moto has no Lambda
    /// account settings).
    fn xtask_lambda_at_moto(&self, args: &[&str]) -> Run {
        let mut command = support::xtask(args, &self.root, &self.endpoint);
        command
            .env("AWS_ENDPOINT_URL_BEDROCK", &self.account.endpoint)
            .env("AWS_ENDPOINT_URL_ACM", &self.account.endpoint)
            .env_remove("AWS_ENDPOINT_URL_LAMBDA");
        Run::of(command)
    }

    fn deploy_code(&self, env: &str, bundle: &Path, extra: &[&str]) -> Run {
        let bundle = bundle.to_str().unwrap().to_owned();
        let template = self.root.join("template.yaml").to_str().unwrap().to_owned();
        let mut args = vec![
            "deploy",
            "--env",
            env,
            "--artifact",
            &bundle,
            "--template",
            &template,
            "--skip-preflight",
        ];
        args.extend_from_slice(extra);
        self.xtask_lambda_at_moto(&args)
    }

    fn lambda(&self) -> aws_sdk_lambda::Client {
        let config = self.runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(&self.endpoint)
                .credentials_provider(Credentials::new("test", "test", None, None, "rehearsal"))
                .load(),
        );
        aws_sdk_lambda::Client::new(&config)
    }

    /// The deployed function's name.
    fn function_name(&self) -> String {
        self.runtime.block_on(async {
            let resources = self
                .cfn
                .list_stack_resources()
                .stack_name("chatbot-dev")
                .send()
                .await
                .unwrap();
            resources
                .stack_resource_summaries()
                .iter()
                .find(|r| r.logical_resource_id() == Some("Function"))
                .and_then(|r| r.physical_resource_id())
                .expect("moto made the function")
                .to_owned()
        })
    }

    /// The alias `live`: the version it points at, and that version's code hash.
    fn live(&self, function: &str) -> (String, String) {
        let lambda = self.lambda();
        self.runtime.block_on(async {
            let alias = lambda
                .get_alias()
                .function_name(function)
                .name("live")
                .send()
                .await
                .unwrap();
            let version = alias.function_version().unwrap().to_owned();
            let configuration = lambda
                .get_function_configuration()
                .function_name(function)
                .qualifier(&version)
                .send()
                .await
                .unwrap();
            (version, configuration.code_sha256().unwrap().to_owned())
        })
    }

    fn deployments_json(&self) -> serde_json::Value {
        let status = self.xtask_lambda_at_moto(&["status", "--env", "dev", "--json"]);
        status.expect(0, "status --json");
        serde_json::from_str(&status.stdout).expect("status --json is JSON")
    }
}

#[test]
fn hotswap_against_moto() {
    let moto = Moto::start();
    let r = Rehearsal::new(&moto.endpoint);
    std::fs::write(
        r.root.join("template.yaml"),
        expanded_function_template("256"),
    )
    .unwrap();
    let first = bundle_saying(&r.root, "first.zip", "#!/bin/sh\necho first\n");
    let second = bundle_saying(&r.root, "second.zip", "#!/bin/sh\necho second\n");

    // A hotswap needs a stack to swap into.
    r.deploy_code("dev", &first, &["--hotswap", "--yes"])
        .expect(0, "--hotswap before the stack exists")
        .shows("Not hotswapping: the stack does not exist yet; deploying through a change set")
        .shows("CREATE_COMPLETE")
        .shows("Deployment ");
    let function = r.function_name();
    let lambda = r.lambda();
    r.runtime.block_on(async {
        lambda
            .create_alias()
            .function_name(&function)
            .name("live")
            .function_version("1")
            .send()
            .await
            .unwrap();
    });
    assert_eq!(r.live(&function).1, lambda_code_sha256(&first));
    let stack_code_key = r.parameters()["CodeKey"].clone();

    // Only the code changed: pushed to the function, a version published, the alias moved;
    // the stack is left as it was, and the output says the two now differ.
    let swapped = r.deploy_code("dev", &second, &["--hotswap", "--yes"]);
    swapped
        .expect(0, "hotswap of new code")
        .shows("Hotswap: only the function's code changed")
        .shows(&format!("Function {function}: code bootstrap/"))
        .shows("version 2 published, alias live → 2")
        .shows("now differs from its template")
        .hides("Plan: ")
        .hides("UPDATE_IN_PROGRESS");
    assert_eq!(
        r.live(&function),
        ("2".to_owned(), lambda_code_sha256(&second))
    );
    assert_eq!(
        r.parameters()["CodeKey"],
        stack_code_key,
        "the stack is untouched"
    );

    // status and diff say so, and diff counts it as a change.
    let status = r.xtask_lambda_at_moto(&["status", "--env", "dev"]);
    status
        .expect(0, "status after a hotswap")
        .shows("Hotswapped: the function runs code hotswapped by deployment")
        .shows("Drift: not checked: ");
    let json = r.deployments_json();
    assert_eq!(json["hotswapped"]["kind"], "hotswap");
    assert_eq!(json["deployments"][0]["kind"], "hotswap");
    assert_eq!(json["deployments"][0]["function"]["version"], "2");
    assert_eq!(json["deployments"][1]["kind"], "deploy");
    assert_eq!(json["drift"]["checked"], false);
    let bundle = second.to_str().unwrap();
    let template = r.root.join("template.yaml");
    let diff_args = [
        "diff",
        "--env",
        "dev",
        "--artifact",
        bundle,
        "--template",
        template.to_str().unwrap(),
        "--skip-preflight",
        "--exit-code",
    ];
    r.xtask_lambda_at_moto(&diff_args)
        .expect(2, "diff after a hotswap")
        .shows("Hotswapped: the function runs code from deployment");

    // The same code again: nothing to do.
    r.deploy_code("dev", &second, &["--hotswap"])
        .expect(0, "hotswap of the code already running (no --yes needed)")
        .shows("No changes: the function already runs this code");

    // A full deploy of the code the stack names puts it back on the function.
    r.deploy_code("dev", &first, &[])
        .expect(0, "full deploy after a hotswap")
        .shows("putting back the code stack chatbot-dev names")
        .shows("version 3 published, alias live → 3");
    assert_eq!(r.live(&function).1, lambda_code_sha256(&first));
    r.xtask_lambda_at_moto(&["status", "--env", "dev"])
        .expect(0, "status after putting the code back")
        .hides("Hotswapped:");

    // Anything else changed: a normal deploy, saying why.
    std::fs::write(
        r.root.join("template.yaml"),
        expanded_function_template("512"),
    )
    .unwrap();
    r.deploy_code("dev", &second, &["--hotswap", "--yes"])
        .expect(0, "hotswap with a changed template")
        .shows("Not hotswapping: the template changed; deploying through a change set")
        .shows("Plan: ")
        .shows("UPDATE_COMPLETE");
    assert_eq!(
        r.parameters()["CodeKey"],
        format!(
            "bootstrap/{}.zip",
            xtask_sha256_hex(&std::fs::read(&second).unwrap())
        )
    );

    // Environments whose env file does not allow it refuse before asking AWS anything.
    let project = xtask::tools::project_root();
    for env in ["staging", "prod"] {
        std::fs::copy(
            project.join(format!("envs/{env}.toml")),
            r.root.join(format!("envs/{env}.toml")),
        )
        .unwrap();
        let refused = r.deploy_code(env, &second, &["--hotswap", "--yes"]);
        refused
            .expect(1, "hotswap where the env file does not allow it")
            .shows(&format!("--hotswap is not allowed for {env}"));
        refused.one_error_line();
    }

    role_policy::assert_allows_logged_calls(&r.root.join("aws-calls.log"));
}

fn xtask_sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn rollback_against_moto() {
    let moto = Moto::start();
    let r = Rehearsal::new(&moto.endpoint);

    r.xtask(&["rollback", "--env", "dev", "--yes"])
        .expect(1, "rollback before any deployment")
        .shows("no deployment of dev is recorded");

    r.deploy(&["--yes"]).expect(0, "first deploy");
    let first_template = r.deployed_template();
    let first_code = r.parameters()["CodeKey"].clone();
    r.xtask(&["rollback", "--env", "dev", "--yes"])
        .expect(1, "rollback with one deployment")
        .shows("no earlier deployment of dev differs from the current one");

    // A second deployment: another template and other code.
    r.set_memory("512");
    std::fs::write(
        &r.bundle,
        xtask::bundle::deterministic_zip(&[("bootstrap", b"#!/bin/sh\necho two\n", 0o755)])
            .unwrap(),
    )
    .unwrap();
    r.deploy(&["--yes"]).expect(0, "second deploy");
    assert_ne!(r.deployed_template(), first_template);
    assert_ne!(r.parameters()["CodeKey"], first_code);
    let before = r.deployments_json();
    let first_id = before["deployments"][1]["id"].as_str().unwrap().to_owned();
    let second_id = before["deployments"][0]["id"].as_str().unwrap().to_owned();

    // Without a terminal and without --yes, nothing changes, as for a deploy.
    r.xtask(&["rollback", "--env", "dev"])
        .expect(1, "rollback without a terminal")
        .shows("refusing to deploy without a terminal");

    let rolled = r.xtask(&["rollback", "--env", "dev", "--yes"]);
    rolled
        .expect(0, "rollback")
        .shows(&format!("Rolling back dev to deployment {first_id}"))
        .shows(&format!("the current one is {second_id}"))
        .shows("Stack chatbot-dev (update)")
        .shows("Plan: ")
        .shows("UPDATE_COMPLETE")
        .shows("Site files left as they are");
    assert_eq!(r.deployed_template(), first_template);
    assert_eq!(r.parameters()["CodeKey"], first_code);
    let after = r.deployments_json();
    assert_eq!(after["deployments"][0]["kind"], "rollback");
    assert_eq!(after["deployments"][0]["rolled_back_to"], first_id.as_str());
    assert_eq!(after["deployments"][0]["code"]["key"], first_code.as_str());
    assert_eq!(after["deployments"][1]["id"], second_id.as_str());
    r.xtask(&["status", "--env", "dev"])
        .expect(0, "status")
        .shows("Deployments (newest first)")
        .shows(&format!("rollback to {first_id}"));

    // Back to the second with --to; then its code deleted from the bucket: a clear error.
    r.xtask(&["rollback", "--env", "dev", "--to", &second_id, "--yes"])
        .expect(0, "rollback --to the second deployment")
        .shows("UPDATE_COMPLETE");
    r.runtime.block_on(async {
        r.s3.delete_object()
            .bucket("chatbot-artifacts-123456789012-us-east-1")
            .key(&first_code)
            .send()
            .await
            .unwrap();
    });
    let gone = r.xtask(&["rollback", "--env", "dev", "--to", &first_id, "--yes"]);
    gone.expect(1, "rollback to a deployment whose code is gone")
        .shows(&format!(
            "the code of deployment {first_id} is gone from s3://"
        ));
    r.xtask(&["rollback", "--env", "dev", "--to", "1999", "--yes"])
        .expect(1, "rollback to an unknown id")
        .shows("no deployment 1999 of dev is recorded");

    role_policy::assert_allows_logged_calls(&r.root.join("aws-calls.log"));
}
