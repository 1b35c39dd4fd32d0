//! The templates as CloudFormation runs them: each expanded by the real `aws-sam-translator`
//! (the library behind the `AWS::Serverless-2016-10-31` transform), installed into
//! `target/tools/` on first use. One translator process expands every variant the tests need.
//! The resource lists are snapshots in `tests/it/snapshots/expanded_*.txt`; refresh them with
//! `UPDATE_EXPECT=1 cargo test -p xtask --test sam`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use expect_test::expect_file;
use serde_json::{Value, json};
use xtask::env::{self, Environment};
use xtask::sam::{self, Request};
use xtask::stack::{self, ids};

const ENVS: [&str; 3] = ["dev", "staging", "prod"];
const OTHER_KEY: &str =
    "bootstrap/1111111111111111111111111111111111111111111111111111111111111111.zip";

fn load(name: &str) -> Environment {
    env::load(&xtask::tools::project_root(), name).unwrap()
}

/// The expanded templates: the three environments, then dev with another bundle, then dev
/// with another timeout.
fn expanded() -> &'static BTreeMap<String, Value> {
    static EXPANDED: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    EXPANDED.get_or_init(|| {
        let mut requests = Vec::new();
        for name in ENVS {
            let env = load(name);
            requests.push(
                Request::from_yaml(
                    name,
                    &stack::render(&env).unwrap(),
                    sam::sample_parameters(&env.region),
                )
                .unwrap(),
            );
        }
        let dev = load("dev");
        let mut other_bundle = sam::sample_parameters(&dev.region);
        other_bundle.insert(stack::PARAM_CODE_KEY.into(), OTHER_KEY.into());
        requests.push(
            Request::from_yaml(
                "dev-new-bundle",
                &stack::render(&dev).unwrap(),
                other_bundle,
            )
            .unwrap(),
        );
        let mut longer = dev.clone();
        longer.function.timeout_seconds = 30;
        requests.push(
            Request::from_yaml(
                "dev-new-timeout",
                &stack::render(&longer).unwrap(),
                sam::sample_parameters(&dev.region),
            )
            .unwrap(),
        );
        let names: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
        names
            .into_iter()
            .zip(sam::expand(&requests).unwrap())
            .collect()
    })
}

fn source(name: &str) -> Value {
    serde_json::to_value(xtask::cfn::to_value(&stack::template(&load(name))).unwrap()).unwrap()
}

fn resources(template: &Value) -> &serde_json::Map<String, Value> {
    template["Resources"].as_object().unwrap()
}

fn of_type<'a>(template: &'a Value, type_name: &str) -> Vec<&'a str> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == type_name)
        .map(|(id, _)| id.as_str())
        .collect()
}

/// `LogicalId  Type` per resource, with the hash ending a version's or a deployment's ID
/// written as `<hash>`.
fn resource_list(template: &Value) -> String {
    let mut lines: Vec<String> = resources(template)
        .iter()
        .map(|(id, r)| {
            let id = [
                ids::generated::FUNCTION_VERSION_PREFIX,
                ids::API_DEPLOYMENT_PREFIX,
            ]
            .iter()
            .find_map(|prefix| id.strip_prefix(prefix).map(|_| format!("{prefix}<hash>")))
            .unwrap_or_else(|| id.clone());
            format!("{id:<34} {}", r["Type"].as_str().unwrap())
        })
        .collect();
    lines.sort();
    lines.join("\n") + "\n"
}

#[test]
fn expanded_resource_lists() {
    for name in ENVS {
        expect_file![format!("snapshots/expanded_{name}.txt")]
            .assert_eq(&resource_list(&expanded()[name]));
    }
}

#[test]
fn the_transform_leaves_the_stateful_resources_as_they_are() {
    for name in ENVS {
        let (before, after) = (source(name), &expanded()[name]);
        for id in [
            "Table",
            "SiteBucket",
            "OriginSecret",
            "FunctionLogGroup",
            "ApiAccessLogGroup",
        ] {
            assert_eq!(
                resources(after)[id],
                resources(&before)[id],
                "{name}: {id} changed by the transform"
            );
        }
    }
}

#[test]
fn the_function_becomes_a_lambda_function_with_one_version_and_the_live_alias() {
    for name in ENVS {
        let t = &expanded()[name];
        let function = &resources(t)[ids::FUNCTION];
        assert_eq!(function["Type"], "AWS::Lambda::Function");
        // The code parameters resolved, so a new bundle is a new version.
        let env = load(name);
        assert_eq!(
            function["Properties"]["Code"],
            json!({
                "S3Bucket": sam::sample_parameters(&env.region)[stack::PARAM_CODE_BUCKET],
                "S3Key": sam::sample_parameters(&env.region)[stack::PARAM_CODE_KEY],
            })
        );
        // The reasons for the skipped checkov checks go along.
        assert_eq!(
            function["Metadata"],
            resources(&source(name))[ids::FUNCTION]["Metadata"]
        );
        let versions = of_type(t, "AWS::Lambda::Version");
        assert_eq!(versions.len(), 1, "{name}");
        let hash = versions[0]
            .strip_prefix(ids::generated::FUNCTION_VERSION_PREFIX)
            .unwrap();
        assert!(
            hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{}",
            versions[0]
        );
        assert_eq!(resources(t)[versions[0]]["DeletionPolicy"], "Retain");
        assert_eq!(
            of_type(t, "AWS::Lambda::Alias"),
            [ids::generated::FUNCTION_ALIAS]
        );
        let alias = &resources(t)[ids::generated::FUNCTION_ALIAS];
        assert_eq!(alias["Properties"]["Name"], stack::ALIAS_NAME);
        assert_eq!(
            alias["Properties"]["FunctionVersion"],
            json!({"Fn::GetAtt": [versions[0], "Version"]})
        );
    }
}

#[test]
fn a_new_bundle_or_any_changed_setting_publishes_a_new_version() {
    let version = |name: &str| of_type(&expanded()[name], "AWS::Lambda::Version")[0].to_owned();
    let dev = version("dev");
    assert_ne!(version("dev-new-bundle"), dev, "a new CodeKey publishes");
    assert_ne!(
        version("dev-new-timeout"),
        dev,
        "a timeout change publishes, so it reaches the alias"
    );
    assert_ne!(version("staging"), dev);
}

#[test]
fn api_gateway_invokes_the_generated_alias() {
    let alias = json!({"Ref": ids::generated::FUNCTION_ALIAS});
    for name in ENVS {
        let t = &expanded()[name];
        let permission = &resources(t)[ids::FUNCTION_PERMISSION]["Properties"];
        assert_eq!(permission["FunctionName"], alias, "{name}");
        let paths = resources(t)[ids::REST_API]["Properties"]["Body"]["paths"]
            .as_object()
            .unwrap();
        let mut operations = 0;
        for (path, methods) in paths {
            for (method, operation) in methods.as_object().unwrap() {
                let uri = &operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"];
                if name == "staging" {
                    // Signed-in: the stage variable names the alias (see stack/api.rs).
                    assert!(
                        uri.as_str()
                            .unwrap()
                            .contains(":function:${!stageVariables.function}/"),
                        "{name} {method} {path}"
                    );
                } else {
                    assert_eq!(uri[1]["FunctionAlias"], alias, "{name} {method} {path}");
                }
                operations += 1;
            }
        }
        assert_eq!(operations, chatbot_contract::ROUTES.len());
    }
}

#[test]
fn gradual_rollouts_get_codedeploy_with_the_rollback_alarms_and_the_stacks_role() {
    for (name, config) in [
        ("staging", "Linear10PercentEvery1Minute"),
        ("prod", "Canary10Percent5Minutes"),
    ] {
        let t = &expanded()[name];
        let application = &resources(t)[ids::generated::DEPLOYMENT_APPLICATION];
        assert_eq!(application["Type"], "AWS::CodeDeploy::Application");
        assert_eq!(application["Properties"]["ComputePlatform"], "Lambda");
        let group = &resources(t)[ids::generated::DEPLOYMENT_GROUP];
        assert_eq!(group["Type"], "AWS::CodeDeploy::DeploymentGroup");
        let properties = &group["Properties"];
        assert_eq!(
            properties["AlarmConfiguration"],
            json!({"Enabled": true, "Alarms": [
                {"Name": {"Ref": ids::FUNCTION_ERRORS_ALARM}},
                {"Name": {"Ref": ids::FUNCTION_THROTTLES_ALARM}},
            ]})
        );
        assert_eq!(properties["AutoRollbackConfiguration"]["Enabled"], true);
        assert!(
            properties["AutoRollbackConfiguration"]["Events"]
                .as_array()
                .unwrap()
                .contains(&json!("DEPLOYMENT_STOP_ON_ALARM"))
        );
        assert_eq!(
            properties["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"],
            config
        );
        assert_eq!(
            properties["ServiceRoleArn"],
            json!({"Fn::GetAtt": [ids::CODE_DEPLOY_ROLE, "Arn"]})
        );
        let alias = &resources(t)[ids::generated::FUNCTION_ALIAS];
        assert_eq!(
            alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"],
            json!({
                "ApplicationName": {"Ref": ids::generated::DEPLOYMENT_APPLICATION},
                "DeploymentGroupName": {"Ref": ids::generated::DEPLOYMENT_GROUP},
            })
        );
        assert!(
            !resources(t).contains_key("CodeDeployServiceRole"),
            "{name}"
        );
    }
    let dev = &expanded()["dev"];
    assert!(of_type(dev, "AWS::CodeDeploy::Application").is_empty());
    assert!(of_type(dev, "AWS::CodeDeploy::DeploymentGroup").is_empty());
    assert_eq!(
        resources(dev)[ids::generated::FUNCTION_ALIAS].get("UpdatePolicy"),
        None,
        "all-at-once: CloudFormation moves the alias itself"
    );
}

#[test]
fn the_transform_adds_no_role_and_no_permission() {
    for name in ENVS {
        let (before, after) = (source(name), &expanded()[name]);
        let roles = of_type(after, "AWS::IAM::Role");
        assert_eq!(roles, of_type(&before, "AWS::IAM::Role"), "{name}");
        for role in roles {
            assert_eq!(
                resources(after)[role],
                resources(&before)[role],
                "{name}: {role}"
            );
        }
        assert_eq!(
            of_type(after, "AWS::Lambda::Permission"),
            of_type(&before, "AWS::Lambda::Permission"),
            "{name}"
        );
        assert!(of_type(after, "AWS::Lambda::Permission").contains(&ids::FUNCTION_PERMISSION));
        let policies = ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"];
        for type_name in policies {
            assert!(of_type(after, type_name).is_empty(), "{name}: {type_name}");
        }
    }
}

#[test]
fn a_template_sam_refuses_names_the_template_and_the_reason() {
    let mut template = source("dev");
    template["Resources"]["Function"]["Properties"]["AutoPublishAlias"] = json!("not valid!");
    let request = Request {
        name: "broken".into(),
        template,
        parameters: sam::sample_parameters("us-east-1"),
    };
    let err = sam::expand(&[request]).unwrap_err().to_string();
    assert!(
        err.starts_with("the SAM transform refuses broken: "),
        "{err}"
    );
    assert!(err.contains("AutoPublishAlias"), "{err}");
}
