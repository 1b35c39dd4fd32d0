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

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};

struct Rehearsal {
    endpoint: String,
    root: PathBuf,
    bundle: PathBuf,
    runtime: tokio::runtime::Runtime,
    cfn: aws_sdk_cloudformation::Client,
    s3: aws_sdk_s3::Client,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn expect(&self, code: i32, what: &str) -> &Run {
        assert_eq!(
            self.code, code,
            "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn shows(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "expected {text:?} in the output\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    fn hides(&self, text: &str) -> &Run {
        assert!(
            !self.stdout.contains(text),
            "did not expect {text:?} in the output\n--- stdout\n{}",
            self.stdout
        );
        self
    }
}

impl Rehearsal {
    fn new(endpoint: &str) -> Rehearsal {
        // One folder per rehearsal: the tests of this file run at once.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "xtask-rehearsal-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
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
        // A stand-in bundle: moto never runs the function, and the real one takes minutes.
        let bundle = root.join("bootstrap.zip");
        let zip = xtask::build::deterministic_zip(&[("bootstrap", b"#!/bin/sh\n", 0o755)]).unwrap();
        std::fs::write(&bundle, zip).unwrap();

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
            cfn: aws_sdk_cloudformation::Client::new(&config),
            s3,
            root,
            bundle,
            runtime,
        }
    }

    fn xtask(&self, args: &[&str]) -> Run {
        let output: Output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .arg("--root")
            .arg(&self.root)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_CONFIG_FILE", self.root.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.root.join("no-aws-credentials"),
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_ENDPOINT_URL_S3")
            .env_remove("AWS_ENDPOINT_URL_CLOUDFORMATION")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the xtask binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
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
    let template = xtask::aws::bench::stand_in_template(memory);
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
        .shows("3 uploaded, 0 deleted, 0 unchanged");
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
    let bundles = r.objects("chatbot-artifacts-123456789012-us-east-1");
    assert_eq!(bundles.len(), 1, "one bundle uploaded: {bundles:?}");
    assert!(bundles[0].0.starts_with("bootstrap/") && bundles[0].0.ends_with(".zip"));
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

/// A `moto_server` of our own on a free port, stopped on drop.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let binary = std::env::var_os("CHATBOT_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| xtask::tools::ensure(&xtask::tools::MOTO_SERVER).unwrap());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", Path::new(&binary).display()));
        let moto = Moto {
            child,
            endpoint: format!("http://localhost:{port}"),
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto_server did not listen on port {port}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
