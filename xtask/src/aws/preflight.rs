//! Preflight's calls: Bedrock's control plane for each allowed model, Lambda's account
//! settings and what the deployed stack reserves, ACM for the custom domain's certificate. Thin:
//! every answer becomes a [`Reply`] and the checks are `crate::preflight`'s. A refused call is
//! [`Reply::Denied`] with the IAM action it needs; a failed one [`Reply::Failed`].

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{Clients, cfn, errors};
use crate::env::{Environment, Model};
use crate::preflight::{
    self, AccountConcurrency, Answers, Availability, Certificate, FoundationModel,
    InferenceProfile, ModelAnswers, Reply,
};
use crate::review::DeployedStack;

/// Asks AWS what preflight checks for `env`, whose stack is `deployed` (when it exists).
pub async fn answers(
    clients: &Clients,
    env: &Environment,
    deployed: Option<&DeployedStack>,
) -> Answers {
    // The models are looked up at once, each on its own task.
    let lookups: Vec<_> = env
        .models
        .iter()
        .map(|model| {
            let clients = clients.clone();
            let model = model.clone();
            tokio::spawn(async move { model_answers(&clients, &model).await })
        })
        .collect();
    let concurrency = account_concurrency(clients);
    let stack_reserved = stack_reserved(clients, deployed);
    let certificate = async {
        match &env.domain {
            Some(domain) => Some(certificate(clients, &domain.certificate_arn).await),
            None => None,
        }
    };
    let (concurrency, stack_reserved, certificate) =
        tokio::join!(concurrency, stack_reserved, certificate);
    let mut models = Vec::new();
    for (lookup, model) in lookups.into_iter().zip(&env.models) {
        models.push(match lookup.await {
            Ok(answers) => answers,
            Err(err) => ModelAnswers {
                id: model.id.clone(),
                name: model.name.clone(),
                profile: None,
                foundation_id: model.id.clone(),
                foundation: Reply::Failed(format!("the lookup stopped: {err}")),
                availability: Reply::Failed(format!("the lookup stopped: {err}")),
            },
        });
    }
    let use_case_submitted = if models.iter().any(ModelAnswers::is_anthropic) {
        Some(use_case_submitted(clients).await)
    } else {
        None
    };
    Answers {
        models,
        use_case_submitted,
        concurrency,
        stack_reserved,
        certificate,
    }
}

/// The codes AWS answers a refused call with.
fn is_denied<E: ProvideErrorMetadata>(err: &E) -> bool {
    matches!(
        err.code(),
        Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation")
    )
}

/// A call's result as a [`Reply`]: `None` inside when AWS answers one of `absent`.
fn reply<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    action: &str,
    absent: &[&str],
) -> Reply<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(value) => Reply::Answered(Some(value)),
        Err(err) if err.code().is_some_and(|code| absent.contains(&code)) => Reply::Answered(None),
        Err(err) if is_denied(&err) => Reply::Denied {
            action: action.to_owned(),
        },
        Err(err) => Reply::Failed(errors::describe(&err)),
    }
}

fn map<T, U>(reply: Reply<Option<T>>, f: impl FnOnce(T) -> U) -> Reply<Option<U>> {
    match reply {
        Reply::Answered(value) => Reply::Answered(value.map(f)),
        Reply::Denied { action } => Reply::Denied { action },
        Reply::Failed(error) => Reply::Failed(error),
    }
}

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

async fn model_answers(clients: &Clients, model: &Model) -> ModelAnswers {
    let lookup = preflight::model_lookup(&model.id);
    let mut foundation_id = lookup.foundation_id;
    let profile = match &lookup.profile {
        Some(id) => {
            let answer = clients
                .bedrock
                .get_inference_profile()
                .inference_profile_identifier(id)
                .send()
                .await;
            let profile = map(
                reply(answer, "bedrock:GetInferenceProfile", NOT_FOUND),
                |out| InferenceProfile {
                    status: out.status().as_str().to_owned(),
                    model_arns: out
                        .models()
                        .iter()
                        .filter_map(|m| m.model_arn().map(str::to_owned))
                        .collect(),
                },
            );
            if let Reply::Answered(Some(found)) = &profile
                && let Some(id) = found.foundation_id(&clients.region)
            {
                foundation_id = id;
            }
            Some(profile)
        }
        None => None,
    };
    let (foundation, availability) = tokio::join!(
        clients
            .bedrock
            .get_foundation_model()
            .model_identifier(&foundation_id)
            .send(),
        clients
            .bedrock
            .get_foundation_model_availability()
            .model_id(&foundation_id)
            .send(),
    );
    let foundation = map(
        reply(
            foundation,
            "bedrock:GetFoundationModel",
            &["ResourceNotFoundException", "ValidationException"],
        ),
        |out| {
            let details = out.model_details();
            FoundationModel {
                provider: details
                    .and_then(|d| d.provider_name())
                    .unwrap_or_default()
                    .to_owned(),
                lifecycle: details
                    .and_then(|d| d.model_lifecycle())
                    .map(|l| l.status().as_str().to_owned())
                    .unwrap_or_else(|| "ACTIVE".to_owned()),
                inference_types: details
                    .map(|d| {
                        d.inference_types_supported()
                            .iter()
                            .map(|t| t.as_str().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        },
    );
    let availability = map(
        reply(
            availability,
            "bedrock:GetFoundationModelAvailability",
            NOT_FOUND,
        ),
        |out| Availability {
            agreement: out
                .agreement_availability()
                .map(|a| a.status().as_str().to_owned())
                .unwrap_or_else(|| "AVAILABLE".to_owned()),
            agreement_error: out
                .agreement_availability()
                .and_then(|a| a.error_message())
                .map(str::to_owned),
            authorization: out.authorization_status().as_str().to_owned(),
            entitlement: out.entitlement_availability().as_str().to_owned(),
            region: out.region_availability().as_str().to_owned(),
        },
    );
    ModelAnswers {
        id: model.id.clone(),
        name: model.name.clone(),
        profile,
        foundation_id,
        foundation,
        availability,
    }
}

async fn use_case_submitted(clients: &Clients) -> Reply<bool> {
    let answer = clients.bedrock.get_use_case_for_model_access().send().await;
    match reply(answer, "bedrock:GetUseCaseForModelAccess", NOT_FOUND) {
        Reply::Answered(found) => Reply::Answered(found.is_some()),
        Reply::Denied { action } => Reply::Denied { action },
        Reply::Failed(error) => Reply::Failed(error),
    }
}

async fn account_concurrency(clients: &Clients) -> Reply<AccountConcurrency> {
    let answer = clients.lambda.get_account_settings().send().await;
    match reply(answer, "lambda:GetAccountSettings", &[]) {
        Reply::Answered(Some(out)) => match out.account_limit() {
            Some(limit) => {
                let total = u32::try_from(limit.concurrent_executions()).unwrap_or(0);
                Reply::Answered(AccountConcurrency {
                    limit: total,
                    unreserved: limit
                        .unreserved_concurrent_executions()
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(total),
                })
            }
            None => Reply::Failed("Lambda GetAccountSettings named no account limits".to_owned()),
        },
        Reply::Answered(None) => Reply::Failed("Lambda GetAccountSettings answered nothing".into()),
        Reply::Denied { action } => Reply::Denied { action },
        Reply::Failed(error) => Reply::Failed(error),
    }
}

/// What the deployed stack's functions reserve today: 0 for a stack not created yet.
async fn stack_reserved(clients: &Clients, deployed: Option<&DeployedStack>) -> Reply<u32> {
    let Some(stack) = deployed.filter(|stack| !stack.is_under_review()) else {
        return Reply::Answered(0);
    };
    let resources = match cfn::stack_resources(&clients.cfn, &stack.id).await {
        Ok(resources) => resources,
        Err(err) => return Reply::Failed(format!("{err:#}")),
    };
    let mut total = 0;
    // CloudFormation lists the transform's result (`AWS::Lambda::Function`); an emulator that
    // does not apply the transform keeps the SAM type, whose physical id is the function too.
    for function in resources.iter().filter(|r| {
        matches!(
            r.resource_type.as_str(),
            "AWS::Lambda::Function" | "AWS::Serverless::Function"
        ) && !r.physical_id.is_empty()
    }) {
        let answer = clients
            .lambda
            .get_function_concurrency()
            .function_name(&function.physical_id)
            .send()
            .await;
        match reply(answer, "lambda:GetFunctionConcurrency", NOT_FOUND) {
            Reply::Answered(out) => {
                total += out
                    .and_then(|o| o.reserved_concurrent_executions())
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0);
            }
            Reply::Denied { action } => return Reply::Denied { action },
            Reply::Failed(error) => return Reply::Failed(error),
        }
    }
    Reply::Answered(total)
}

async fn certificate(clients: &Clients, arn: &str) -> Reply<Option<Certificate>> {
    let answer = clients
        .acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await;
    match reply(answer, "acm:DescribeCertificate", NOT_FOUND) {
        Reply::Answered(Some(out)) => match out.certificate() {
            Some(detail) => Reply::Answered(Some(Certificate {
                arn: detail.certificate_arn().unwrap_or(arn).to_owned(),
                status: detail
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                domain: detail.domain_name().unwrap_or_default().to_owned(),
                alternative_names: detail.subject_alternative_names().to_vec(),
                not_after: detail.not_after().map(|t| t.secs()),
                kind: detail.r#type().map(|t| t.as_str().to_owned()),
            })),
            None => Reply::Answered(None),
        },
        Reply::Answered(None) => Reply::Answered(None),
        Reply::Denied { action } => Reply::Denied { action },
        Reply::Failed(error) => Reply::Failed(error),
    }
}
