//! Preflight's checks on AWS's answers, without AWS: each test states what Bedrock, Lambda and
//! ACM answered and snapshots what a person reads. The calls themselves, and the report through
//! the real binary, are tested in `deploy_faults.rs` against local stand-ins. Refresh the
//! snapshots with `UPDATE_EXPECT=1 cargo test -p xtask --test preflight` and read the diff.

use expect_test::{Expect, expect};
use xtask::env::{Domain, Environment};
use xtask::preflight::{
    self, AccountConcurrency, Answers, Availability, Certificate, Facts, FoundationModel,
    InferenceProfile, ModelAnswers, Reply, template,
};
use xtask::review::Palette;

const ACCOUNT: &str = "123456789012";
/// 2026-05-01T12:00:00Z.
const NOW: i64 = 1_777_636_800;

fn env(name: &str) -> Environment {
    xtask::env::load(&xtask::tools::project_root(), name).expect("the environment loads")
}

/// prod with one allowed model, `id`.
fn prod_with_model(id: &str) -> Environment {
    let mut env = env("prod");
    env.models.truncate(1);
    env.models[0].id = id.to_owned();
    env.models[0].name = "The model".to_owned();
    env.default_model = id.to_owned();
    env
}

fn usable_availability() -> Availability {
    Availability {
        agreement: "AVAILABLE".to_owned(),
        agreement_error: None,
        authorization: "AUTHORIZED".to_owned(),
        entitlement: "AVAILABLE".to_owned(),
        region: "AVAILABLE".to_owned(),
    }
}

/// What Bedrock answers for a model the account may use.
fn usable(id: &str) -> ModelAnswers {
    let lookup = preflight::model_lookup(id);
    let provider = if lookup.foundation_id.starts_with("anthropic.") {
        "Anthropic"
    } else {
        "Amazon"
    };
    ModelAnswers {
        id: id.to_owned(),
        name: "The model".to_owned(),
        profile: lookup.profile.as_ref().map(|_| {
            Reply::Answered(Some(InferenceProfile {
                status: "ACTIVE".to_owned(),
                model_arns: vec![format!(
                    "arn:aws:bedrock:us-west-2::foundation-model/{}",
                    lookup.foundation_id
                )],
            }))
        }),
        foundation_id: lookup.foundation_id,
        foundation: Reply::Answered(Some(FoundationModel {
            provider: provider.to_owned(),
            lifecycle: "ACTIVE".to_owned(),
            inference_types: vec!["ON_DEMAND".to_owned(), "INFERENCE_PROFILE".to_owned()],
        })),
        availability: Reply::Answered(Some(usable_availability())),
    }
}

/// An account where everything in `env` is usable.
fn fine(env: &Environment) -> Answers {
    Answers {
        models: env.models.iter().map(|m| usable(&m.id)).collect(),
        use_case_submitted: Some(Reply::Answered(true)),
        concurrency: Reply::Answered(AccountConcurrency {
            limit: 1000,
            unreserved: 1000,
        }),
        stack_reserved: Reply::Answered(0),
        certificate: None,
    }
}

fn check(env: &Environment, answers: &Answers, expect: Expect) {
    let template = xtask::stack::render(env).expect("the template renders");
    let report = preflight::check(
        &Facts {
            env,
            account: ACCOUNT,
            template: &template,
            now: NOW,
        },
        answers,
    );
    expect.assert_eq(&preflight::render(&report, Palette::PLAIN));
}

/// One model: `change` edits what Bedrock answered about it.
fn check_model(id: &str, change: impl FnOnce(&mut ModelAnswers, &mut Answers), expect: Expect) {
    let env = prod_with_model(id);
    let mut answers = fine(&env);
    let mut model = answers.models.remove(0);
    change(&mut model, &mut answers);
    answers.models.insert(0, model);
    check(&env, &answers, expect);
}

fn availability(model: &mut ModelAnswers) -> &mut Availability {
    match &mut model.availability {
        Reply::Answered(Some(a)) => a,
        _ => unreachable!("usable() answers availability"),
    }
}

fn foundation(model: &mut ModelAnswers) -> &mut FoundationModel {
    match &mut model.foundation {
        Reply::Answered(Some(f)) => f,
        _ => unreachable!("usable() answers the foundation model"),
    }
}

// ---- models ----

#[test]
fn everything_usable_passes_in_one_line() {
    check(
        &env("prod"),
        &fine(&env("prod")),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): passed (3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits)
        "#]],
    );
}

#[test]
fn profile_not_offered_in_the_region_names_the_geography() {
    check_model(
        "eu.amazon.nova-lite-v1:0",
        |m, _| m.profile = Some(Reply::Answered(None)),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model eu.amazon.nova-lite-v1:0 (The model) cannot be used: Bedrock has no inference profile eu.amazon.nova-lite-v1:0 in us-west-2. `eu.` profiles route only between regions of that geography; in us-west-2 use a `us.` profile. Pick a profile offered there (`aws bedrock list-inference-profiles --region us-west-2 --query 'inferenceProfileSummaries[].inferenceProfileId'`) and put it in models.allowed in envs/prod.toml

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn profile_not_active() {
    check_model(
        "us.amazon.nova-lite-v1:0",
        |m, _| {
            m.profile = Some(Reply::Answered(Some(InferenceProfile {
                status: "INACTIVE".to_owned(),
                model_arns: vec![],
            })))
        },
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model us.amazon.nova-lite-v1:0 (The model) cannot be used: its inference profile is INACTIVE in us-west-2, not ACTIVE. Pick another profile (`aws bedrock list-inference-profiles --region us-west-2`) and put it in models.allowed in envs/prod.toml

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn model_not_offered_in_the_region() {
    check_model(
        "meta.llama4-maverick-17b-instruct-v1:0",
        |m, _| {
            m.foundation = Reply::Answered(None);
            m.availability = Reply::Answered(None);
        },
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model meta.llama4-maverick-17b-instruct-v1:0 (The model) cannot be used: Bedrock does not offer meta.llama4-maverick-17b-instruct-v1:0 in us-west-2 to account 123456789012. Pick a model offered there (`aws bedrock list-foundation-models --region us-west-2 --query 'modelSummaries[].modelId'`) and put it in models.allowed in envs/prod.toml, or deploy the environment to a region that offers it

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn region_not_available_to_the_account() {
    check_model(
        "amazon.nova-lite-v1:0",
        |m, _| availability(m).region = "NOT_AVAILABLE".to_owned(),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model amazon.nova-lite-v1:0 (The model) cannot be used: Bedrock does not offer amazon.nova-lite-v1:0 in us-west-2 to account 123456789012. Pick a model offered there (`aws bedrock list-foundation-models --region us-west-2 --query 'modelSummaries[].modelId'`) and put it in models.allowed in envs/prod.toml, or deploy the environment to a region that offers it

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn model_only_served_through_a_profile_names_the_profile_to_use() {
    check_model(
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        |m, _| foundation(m).inference_types = vec!["INFERENCE_PROFILE".to_owned()],
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model anthropic.claude-haiku-4-5-20251001-v1:0 (The model) cannot be called on demand by its own id in us-west-2: Bedrock serves it only through an inference profile. Put `us.anthropic.claude-haiku-4-5-20251001-v1:0` in models.allowed in envs/prod.toml instead (check it with `aws bedrock get-inference-profile --inference-profile-identifier us.anthropic.claude-haiku-4-5-20251001-v1:0 --region us-west-2`)

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn legacy_model_is_a_warning() {
    check_model(
        "amazon.titan-text-express-v1",
        |m, _| foundation(m).lifecycle = "LEGACY".to_owned(),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 warning

            ! Model amazon.titan-text-express-v1 (The model) is a legacy model: it works until AWS retires it, and accounts that never used it may be refused. Plan the move to its successor (`aws bedrock list-foundation-models --region us-west-2 --by-provider Amazon`)

            Passed: 1 model usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn anthropic_without_the_use_case_form() {
    check_model(
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        |m, answers| {
            availability(m).authorization = "NOT_AUTHORIZED".to_owned();
            answers.use_case_submitted = Some(Reply::Answered(false));
        },
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model us.anthropic.claude-haiku-4-5-20251001-v1:0 (The model) is not authorized for account 123456789012 (authorizationStatus NOT_AUTHORIZED): Anthropic asks each account for a one-time use-case form before its models answer, and Bedrock has none on record. Submit it once (in an AWS Organization, once in the management account covers every member): open https://us-west-2.console.aws.amazon.com/bedrock/home?region=us-west-2#/model-catalog, choose an Anthropic model and fill in the use-case details it asks for, or send the same form with `aws bedrock put-use-case-for-model-access --form-data fileb://use-case.json --region us-west-2`. Access follows within minutes

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn anthropic_not_authorized_with_the_form_on_record() {
    check_model(
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        |m, _| availability(m).authorization = "NOT_AUTHORIZED".to_owned(),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model us.anthropic.claude-haiku-4-5-20251001-v1:0 (The model) is not authorized for account 123456789012 (authorizationStatus NOT_AUTHORIZED), although Anthropic's use-case form is on record: a Service Control Policy or an IAM policy denies the model, or Anthropic's review is not done yet. Ask the organization's administrator to allow it, or wait and run the command again

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn anthropic_authorized_without_a_form_on_record_is_a_warning() {
    check_model(
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        |_, answers| answers.use_case_submitted = Some(Reply::Answered(false)),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 warning

            ! Bedrock has no Anthropic use-case form on record for account 123456789012, yet reports us.anthropic.claude-haiku-4-5-20251001-v1:0 as authorized (an organization's management account may have sent the form). If chats fail with "Model use case details have not been submitted", submit the form: open https://us-west-2.console.aws.amazon.com/bedrock/home?region=us-west-2#/model-catalog, choose an Anthropic model and fill in the use-case details it asks for

            Passed: 1 model usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn other_model_not_authorized() {
    check_model(
        "amazon.nova-lite-v1:0",
        |m, _| availability(m).authorization = "NOT_AUTHORIZED".to_owned(),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model amazon.nova-lite-v1:0 (The model) is not authorized for account 123456789012 in us-west-2 (authorizationStatus NOT_AUTHORIZED): a Service Control Policy or the account's model access settings deny it. Ask the organization's administrator to allow it, or choose another model in models.allowed in envs/prod.toml

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn no_marketplace_subscription() {
    check_model(
        "openai.gpt-oss-120b-1:0",
        |m, _| {
            availability(m).agreement = "NOT_AVAILABLE".to_owned();
            availability(m).entitlement = "NOT_AVAILABLE".to_owned();
        },
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model openai.gpt-oss-120b-1:0 (The model) has no AWS Marketplace subscription in account 123456789012 yet (agreementAvailability NOT_AVAILABLE, entitlementAvailability NOT_AVAILABLE). Bedrock subscribes an account on the first call to a third-party model, but only when the caller may use AWS Marketplace, and the chatbot's function may not. Subscribe once, as a user or role allowed aws-marketplace:Subscribe, aws-marketplace:Unsubscribe and aws-marketplace:ViewSubscriptions (the account also needs a valid payment method): open the model in the playground of https://us-west-2.console.aws.amazon.com/bedrock/home?region=us-west-2#/model-catalog and send one message, or accept its offer with `aws bedrock list-foundation-model-agreement-offers --model-id openai.gpt-oss-120b-1:0 --region us-west-2`, then `aws bedrock create-foundation-model-agreement --model-id openai.gpt-oss-120b-1:0 --offer-token <offerToken> --region us-west-2`. It takes a few minutes; run the command again once it is done

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn agreement_pending_is_a_warning() {
    check_model(
        "openai.gpt-oss-120b-1:0",
        |m, _| availability(m).agreement = "PENDING".to_owned(),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 warning

            ! Model openai.gpt-oss-120b-1:0 (The model): its AWS Marketplace agreement is still being set up (agreementAvailability PENDING). It usually completes within minutes; until then chats with it fail with AccessDeniedException

            Passed: 1 model usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn agreement_failed_says_why() {
    check_model(
        "openai.gpt-oss-120b-1:0",
        |m, _| {
            availability(m).agreement = "ERROR".to_owned();
            availability(m).agreement_error =
                Some("The payment method on file was declined.".to_owned());
        },
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Model openai.gpt-oss-120b-1:0 (The model) cannot be used: its AWS Marketplace agreement failed (agreementAvailability ERROR: The payment method on file was declined). Check the account's payment method and subscriptions in AWS Marketplace (https://console.aws.amazon.com/marketplace/home#/subscriptions), then accept the model's offer again: `aws bedrock list-foundation-model-agreement-offers --model-id openai.gpt-oss-120b-1:0 --region us-west-2`, then `aws bedrock create-foundation-model-agreement --model-id openai.gpt-oss-120b-1:0 --offer-token <offerToken> --region us-west-2`

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn refused_and_failed_calls_are_not_checked_and_not_passed() {
    check_model(
        "us.amazon.nova-lite-v1:0",
        |m, _| {
            m.profile = Some(Reply::Denied {
                action: "bedrock:GetInferenceProfile".to_owned(),
            });
            m.availability = Reply::Failed(
                "could not reach Bedrock GetFoundationModelAvailability: Connection refused \
                 (os error 111)"
                    .to_owned(),
            );
        },
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 2 not checked

            ? Not checked: the inference profile us.amazon.nova-lite-v1:0: the credentials may not call bedrock:GetInferenceProfile (AccessDenied). Grant bedrock:GetInferenceProfile to the deploy role (docs/deploy-role-policy.json has it). Preflight went on without this check

            ? Not checked: whether account 123456789012 may use amazon.nova-lite-v1:0: could not reach Bedrock GetFoundationModelAvailability: Connection refused (os error 111). Preflight went on without this check

            Passed: reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn model_ids_name_their_profile_and_foundation_model() {
    for (id, profile, foundation) in [
        (
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            Some("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
            "anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            Some("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "us-gov.amazon.nova-lite-v1:0",
            Some("us-gov.amazon.nova-lite-v1:0"),
            "amazon.nova-lite-v1:0",
        ),
        ("amazon.nova-lite-v1:0", None, "amazon.nova-lite-v1:0"),
        ("openai.gpt-oss-120b-1:0", None, "openai.gpt-oss-120b-1:0"),
    ] {
        let lookup = preflight::model_lookup(id);
        assert_eq!(lookup.profile.as_deref(), profile, "{id}");
        assert_eq!(lookup.foundation_id, foundation, "{id}");
    }
    let profile = InferenceProfile {
        status: "ACTIVE".to_owned(),
        model_arns: vec![
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0".to_owned(),
            "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0".to_owned(),
        ],
    };
    assert_eq!(
        profile.foundation_id("us-west-2").as_deref(),
        Some("amazon.nova-lite-v1:0")
    );
}

// ---- concurrency ----

fn check_concurrency(limit: u32, unreserved: u32, stack_reserved: u32, expect: Expect) {
    let env = env("prod");
    let mut answers = fine(&env);
    answers.concurrency = Reply::Answered(AccountConcurrency { limit, unreserved });
    answers.stack_reserved = Reply::Answered(stack_reserved);
    check(&env, &answers, expect);
}

#[test]
fn new_account_cannot_reserve_anything() {
    check_concurrency(
        10,
        10,
        0,
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Reserving 50 concurrent executions for the function would leave 0 of account 123456789012's Lambda concurrency unreserved in us-west-2, and Lambda keeps at least 10 unreserved (the account's quota is 10, 10 unreserved now). Lambda would refuse the function. To fix it, raise the account's quota of concurrent executions to at least 150: `aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 150 --region us-west-2` (new accounts start low; an increase can take a day)

            Passed: 3 models usable in us-west-2, 7 names within their limits
        "#]],
    );
}

#[test]
fn reservation_fitting_exactly_passes() {
    check_concurrency(
        150,
        150,
        0,
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): passed (3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits)
        "#]],
    );
}

#[test]
fn reservation_over_what_other_functions_leave() {
    check_concurrency(
        1000,
        120,
        0,
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ Reserving 50 concurrent executions for the function would leave 70 of account 123456789012's Lambda concurrency unreserved in us-west-2, and Lambda keeps at least 100 unreserved (the account's quota is 1000, 120 unreserved now). Lambda would refuse the function. To fix it, lower function.reserved_concurrency in envs/prod.toml to at most 20, or raise the account's quota of concurrent executions to at least 1030: `aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 1030 --region us-west-2` (new accounts start low; an increase can take a day)

            Passed: 3 models usable in us-west-2, 7 names within their limits
        "#]],
    );
}

#[test]
fn what_the_stack_holds_today_is_counted() {
    check_concurrency(
        1000,
        100,
        50,
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): passed (3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits)
        "#]],
    );
}

#[test]
fn unreadable_stack_reservation_is_counted_as_zero_and_said() {
    let env = env("prod");
    let mut answers = fine(&env);
    answers.concurrency = Reply::Answered(AccountConcurrency {
        limit: 1000,
        unreserved: 100,
    });
    answers.stack_reserved = Reply::Denied {
        action: "lambda:GetFunctionConcurrency".to_owned(),
    };
    check(
        &env,
        &answers,
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem, 1 not checked

            ✗ Reserving 50 concurrent executions for the function would leave 50 of account 123456789012's Lambda concurrency unreserved in us-west-2, and Lambda keeps at least 100 unreserved (the account's quota is 1000, 100 unreserved now). Lambda would refuse the function. To fix it, raise the account's quota of concurrent executions to at least 1050: `aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 1050 --region us-west-2` (new accounts start low; an increase can take a day)

            ? Not checked: what the deployed stack reserves today (counted as 0): the credentials may not call lambda:GetFunctionConcurrency (AccessDenied). Grant lambda:GetFunctionConcurrency to the deploy role (docs/deploy-role-policy.json has it). Preflight went on without this check

            Passed: 3 models usable in us-west-2, 7 names within their limits
        "#]],
    );
}

#[test]
fn minimum_unreserved_is_100_or_the_whole_quota() {
    for (limit, minimum) in [(10, 10), (50, 50), (100, 100), (1000, 100)] {
        assert_eq!(preflight::minimum_unreserved(limit), minimum, "{limit}");
    }
}

// ---- names ----

fn place(stack_name: &str) -> template::Place<'_> {
    template::Place {
        stack_name,
        region: "us-west-2",
        account: ACCOUNT,
    }
}

#[test]
fn long_stack_name_overflows_the_origin_access_control_name() {
    let mut env = env("prod");
    env.stack_name = format!("chatbot-{}", "p".repeat(70));
    check(
        &env,
        &fine(&env),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 2 problems

            ✗ The Bedrock guardrail name of Guardrail would be "chatbot-pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp-guardrail": 88 characters, over the limit of 50. CloudFormation would fail to create it. To fix it, shorten stack_name in envs/prod.toml to at most 40 characters ("chatbot-pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" has 78)

            ✗ The CloudFront origin access control name of SiteOriginAccessControl would be "chatbot-pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp-us-west-2-site": 93 characters, over the limit of 64. CloudFormation would fail to create it. To fix it, shorten stack_name in envs/prod.toml to at most 49 characters ("chatbot-pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" has 78)

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account
        "#]],
    );
}

#[test]
fn names_are_read_from_the_template_with_pseudo_parameters_filled_in() {
    let yaml = template::parse(
        "Resources:
  Oac:
    Type: AWS::CloudFront::OriginAccessControl
    Properties:
      OriginAccessControlConfig:
        Name: !Sub '${AWS::StackName}-${AWS::Region}-site'
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName:
        Fn::Join: ['/', ['', chatbot, !Ref AWS::StackName, !Ref AWS::AccountId]]
  Unknown:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub '${Table}-logs'
  Literal:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: alarms
",
    )
    .unwrap();
    let names: Vec<(String, String, Option<usize>)> = template::names(&yaml, place("chat"))
        .into_iter()
        .map(|n| (n.logical_id, n.value, n.max_stack_name))
        .collect();
    assert_eq!(
        names,
        [
            (
                "Oac".to_owned(),
                "chat-us-west-2-site".to_owned(),
                Some(64 - 15)
            ),
            (
                "Logs".to_owned(),
                "/chatbot/chat/123456789012".to_owned(),
                Some(512 - 22)
            ),
            ("Literal".to_owned(), "alarms".to_owned(), None),
        ],
        "the name with another resource's value is left out"
    );
}

/// Every name the stack model derives from the stack name has a limit on record (or a note
/// that AWS documents none), so a new named resource cannot slip past preflight.
#[test]
fn every_name_made_from_the_stack_name_has_a_limit_on_record() {
    for name in ["dev", "staging", "prod"] {
        let env = env(name);
        let rendered = xtask::stack::render(&env).unwrap();
        let yaml = template::parse(&rendered).unwrap();
        let marker = "zzstacknamezz";
        let found = template::names(&yaml, place(marker));
        let resources = yaml["Resources"].as_mapping().unwrap();
        for (id, resource) in resources {
            let id = id.as_str().unwrap();
            let mut paths = Vec::new();
            name_like_properties(&resource["Properties"], String::new(), &mut paths);
            for path in paths {
                assert!(
                    found.iter().any(|n| n.logical_id == id
                        && n.limit.path.join(".") == path
                        && n.value.contains(marker)),
                    "{name}: {id}.{path} is made from the stack name but has no limit in \
                     preflight::template::NAME_LIMITS"
                );
            }
        }
    }
}

/// Paths of properties named like names (`…Name`, `Comment`) whose value uses the stack name.
fn name_like_properties(value: &serde_yaml::Value, path: String, out: &mut Vec<String>) {
    let Some(map) = value.as_mapping() else {
        return;
    };
    for (key, inner) in map {
        let Some(key) = key.as_str() else { continue };
        let here = if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        };
        let uses_stack_name = serde_yaml::to_string(inner)
            .unwrap()
            .contains("AWS::StackName");
        let name_like = (key.ends_with("Name") || key == "Comment") && !key.starts_with("Fn::");
        if name_like && uses_stack_name && !inner.is_sequence() {
            out.push(here);
        } else if inner.is_mapping() && !key.starts_with("Fn::") {
            name_like_properties(inner, here, out);
        }
    }
}

#[test]
fn reserved_concurrency_is_read_from_functions_and_sam_globals() {
    for (yaml, reserved) in [
        (
            "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      ReservedConcurrentExecutions: 7\n",
            7,
        ),
        (
            "Globals:\n  Function:\n    ReservedConcurrentExecutions: 3\nResources:\n  A:\n    Type: AWS::Serverless::Function\n  B:\n    Type: AWS::Serverless::Function\n    Properties:\n      ReservedConcurrentExecutions: 5\n",
            8,
        ),
        ("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n", 0),
    ] {
        let parsed = template::parse(yaml).unwrap();
        assert_eq!(template::reserved_concurrency(&parsed), reserved, "{yaml}");
    }
    let rendered = xtask::stack::render(&env("prod")).unwrap();
    assert_eq!(
        template::reserved_concurrency(&template::parse(&rendered).unwrap()),
        env("prod").function.reserved_concurrency
    );
}

// ---- the custom domain's certificate ----

const CERTIFICATE: &str = "arn:aws:acm:us-east-1:123456789012:certificate/1111-2222";

fn check_certificate(answer: Reply<Option<Certificate>>, expect: Expect) {
    let mut env = env("prod");
    env.domain = Some(Domain {
        name: "chat.example.com".to_owned(),
        certificate_arn: CERTIFICATE.to_owned(),
    });
    let mut answers = fine(&env);
    answers.certificate = Some(answer);
    check(&env, &answers, expect);
}

fn certificate(change: impl FnOnce(&mut Certificate)) -> Reply<Option<Certificate>> {
    let mut certificate = Certificate {
        arn: CERTIFICATE.to_owned(),
        status: "ISSUED".to_owned(),
        domain: "example.com".to_owned(),
        alternative_names: vec!["example.com".to_owned(), "*.example.com".to_owned()],
        not_after: Some(NOW + 200 * 24 * 3600),
        kind: Some("AMAZON_ISSUED".to_owned()),
    };
    change(&mut certificate);
    Reply::Answered(Some(certificate))
}

#[test]
fn wildcard_certificate_covering_the_name_passes() {
    check_certificate(
        certificate(|_| {}),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): passed (3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits, certificate valid for chat.example.com)
        "#]],
    );
}

#[test]
fn certificate_not_in_us_east_1() {
    check_certificate(
        Reply::Answered(None),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ The certificate arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 in domain.certificate_arn is not in ACM in us-east-1 for account 123456789012: CloudFront serves only certificates from us-east-1 of the deploying account. Request one there: `aws acm request-certificate --domain-name chat.example.com --validation-method DNS --region us-east-1`, add the DNS record it asks for, and put the new ARN in domain.certificate_arn in envs/prod.toml

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn certificate_of_another_account() {
    let mut env = env("prod");
    env.domain = Some(Domain {
        name: "chat.example.com".to_owned(),
        certificate_arn: "arn:aws:acm:us-east-1:210987654321:certificate/1111-2222".to_owned(),
    });
    let mut answers = fine(&env);
    answers.certificate = Some(Reply::Answered(None));
    check(
        &env,
        &answers,
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ The certificate arn:aws:acm:us-east-1:210987654321:certificate/1111-2222 in domain.certificate_arn belongs to account 210987654321, and                  CloudFront serves only certificates of the deploying account (123456789012). Request one                  in this account: `aws acm request-certificate --domain-name chat.example.com --validation-method DNS --region us-east-1`, add the DNS record it asks for, and put the new ARN in domain.certificate_arn in envs/prod.toml

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn certificate_pending_validation() {
    check_certificate(
        certificate(|c| c.status = "PENDING_VALIDATION".to_owned()),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ The certificate arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 for example.com is not validated yet (PENDING_VALIDATION), and CloudFront refuses it until ACM issues it. Create the DNS records ACM asks for (`aws acm describe-certificate --certificate-arn arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 --region us-east-1 --query Certificate.DomainValidationOptions`), wait for ISSUED, then deploy

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn certificate_expired() {
    check_certificate(
        certificate(|c| {
            c.status = "EXPIRED".to_owned();
            c.not_after = Some(NOW - 3600);
        }),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ The certificate arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 for example.com is EXPIRED: CloudFront cannot use it. Request a new one: `aws acm request-certificate --domain-name chat.example.com --validation-method DNS --region us-east-1`, add the DNS record it asks for, and put the new ARN in domain.certificate_arn in envs/prod.toml

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn issued_certificate_past_its_end_date() {
    check_certificate(
        certificate(|c| c.not_after = Some(NOW - 60)),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ The certificate arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 for example.com has expired, and CloudFront refuses expired certificates. Request a new one: `aws acm request-certificate --domain-name chat.example.com --validation-method DNS --region us-east-1`, add the DNS record it asks for, and put the new ARN in domain.certificate_arn in envs/prod.toml

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn imported_certificate_expiring_soon_is_a_warning() {
    check_certificate(
        certificate(|c| {
            c.kind = Some("IMPORTED".to_owned());
            c.not_after = Some(NOW + 10 * 24 * 3600);
        }),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 warning

            ! The imported certificate arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 for example.com expires within 30 days, and ACM does not renew imported certificates: import a renewed one before then

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn certificate_for_another_name() {
    check_certificate(
        certificate(|c| {
            c.domain = "www.example.org".to_owned();
            c.alternative_names = vec!["www.example.org".to_owned()];
        }),
        expect![[r#"
            Preflight for prod (account 123456789012, us-west-2): 1 problem

            ✗ The certificate arn:aws:acm:us-east-1:123456789012:certificate/1111-2222 does not cover chat.example.com (it covers www.example.org), so CloudFront would refuse the name. Request one that does (for chat.example.com or *.example.com): `aws acm request-certificate --domain-name chat.example.com --validation-method DNS --region us-east-1`, add the DNS record it asks for, and put the new ARN in domain.certificate_arn in envs/prod.toml

            Passed: 3 models usable in us-west-2, reserved concurrency 50 fits the account, 7 names within their limits
        "#]],
    );
}

#[test]
fn certificate_names_cover_by_the_rules_of_wildcards() {
    for (pattern, name, covered) in [
        ("chat.example.com", "chat.example.com", true),
        ("Chat.Example.com.", "chat.example.com", true),
        ("*.example.com", "chat.example.com", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "a.chat.example.com", false),
        ("example.com", "chat.example.com", false),
        ("*.chat.example.com", "chat.example.com", false),
    ] {
        assert_eq!(
            preflight::covers(pattern, name),
            covered,
            "{pattern} covers {name}"
        );
    }
}

// ---- the report ----

#[test]
fn json_has_the_same_findings_with_counts() {
    let env = prod_with_model("openai.gpt-oss-120b-1:0");
    let mut answers = fine(&env);
    answers.models[0].availability = Reply::Denied {
        action: "bedrock:GetFoundationModelAvailability".to_owned(),
    };
    answers.concurrency = Reply::Answered(AccountConcurrency {
        limit: 10,
        unreserved: 10,
    });
    let template = xtask::stack::render(&env).unwrap();
    let report = preflight::check(
        &Facts {
            env: &env,
            account: ACCOUNT,
            template: &template,
            now: NOW,
        },
        &answers,
    );
    let json = preflight::report_json(&report);
    assert_eq!(json["problems"], 1);
    assert_eq!(json["unchecked"], 1);
    assert_eq!(json["findings"][0]["severity"], "unchecked");
    assert_eq!(json["findings"][0]["check"], "model");
    assert_eq!(json["findings"][1]["severity"], "problem");
    assert_eq!(json["findings"][1]["check"], "concurrency");
    assert!(
        report
            .refusal("deploy")
            .unwrap()
            .starts_with("preflight found 1 problem for prod in account 123456789012, us-west-2")
    );
}
