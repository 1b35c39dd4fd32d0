//! The rest of the account, as preflight and publishing see it: Bedrock's control plane and
//! Lambda (REST-JSON), ACM (JSON 1.1) and CloudFront's invalidations (REST-XML), answering as
//! their API references document. Everything is usable unless a test says otherwise.

use std::collections::BTreeMap;

use serde_json::json;

use super::{ACCOUNT, Answer, Call, REGION, Request, State, esc};

/// What Bedrock says about one foundation model.
#[derive(Debug, Clone)]
pub struct FakeModel {
    /// Bedrock has it in this region at all.
    pub offered: bool,
    pub provider: String,
    pub lifecycle: String,
    pub inference_types: Vec<String>,
    pub agreement: String,
    pub authorization: String,
    pub entitlement: String,
    pub region: String,
}

impl FakeModel {
    /// A model the account may call on demand and through inference profiles.
    pub fn usable(id: &str) -> FakeModel {
        let provider = match id.split('.').next().unwrap_or_default() {
            "anthropic" => "Anthropic",
            "amazon" => "Amazon",
            "openai" => "OpenAI",
            "meta" => "Meta",
            other => other,
        };
        FakeModel {
            offered: true,
            provider: provider.to_owned(),
            lifecycle: "ACTIVE".to_owned(),
            inference_types: vec!["ON_DEMAND".to_owned(), "INFERENCE_PROFILE".to_owned()],
            agreement: "AVAILABLE".to_owned(),
            authorization: "AUTHORIZED".to_owned(),
            entitlement: "AVAILABLE".to_owned(),
            region: "AVAILABLE".to_owned(),
        }
    }

    /// A third-party model never subscribed to through AWS Marketplace.
    pub fn not_subscribed(id: &str) -> FakeModel {
        FakeModel {
            agreement: "NOT_AVAILABLE".to_owned(),
            entitlement: "NOT_AVAILABLE".to_owned(),
            ..FakeModel::usable(id)
        }
    }
}

/// An ACM certificate.
#[derive(Debug, Clone)]
pub struct FakeCertificate {
    pub domain: String,
    pub alternative_names: Vec<String>,
    pub status: String,
    /// Seconds since the Unix epoch.
    pub not_after: i64,
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct Account {
    /// Models by foundation id; one not listed is [`FakeModel::usable`].
    pub models: BTreeMap<String, FakeModel>,
    /// Inference-profile ids Bedrock does not offer; every other `<geography>.<model>` routes
    /// to the model in three US regions.
    pub missing_profiles: Vec<String>,
    pub use_case_submitted: bool,
    pub concurrency_limit: u32,
    pub unreserved: u32,
    /// Reserved concurrency by function name.
    pub function_concurrency: BTreeMap<String, u32>,
    /// Certificates in us-east-1, by ARN.
    pub certificates: BTreeMap<String, FakeCertificate>,
    /// IAM actions (`bedrock:GetFoundationModelAvailability`) answered with AccessDenied.
    pub denied: Vec<String>,
    /// Invalidations made, by distribution id.
    pub invalidations: Vec<(String, Vec<String>)>,
}

impl Default for Account {
    fn default() -> Account {
        Account {
            models: BTreeMap::new(),
            missing_profiles: Vec::new(),
            use_case_submitted: true,
            concurrency_limit: 1000,
            unreserved: 1000,
            function_concurrency: BTreeMap::new(),
            certificates: BTreeMap::new(),
            denied: Vec::new(),
            invalidations: Vec::new(),
        }
    }
}

impl Account {
    fn model(&self, id: &str) -> FakeModel {
        self.models
            .get(id)
            .cloned()
            .unwrap_or_else(|| FakeModel::usable(id))
    }
}

const REQUEST_ID: &str = "5f0e7c3a-1b2d-4e6f-8a9b-0c1d2e3f4a5b";

fn json_answer(status: u16, body: serde_json::Value) -> Answer {
    (
        status,
        vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("x-amzn-RequestId".to_owned(), REQUEST_ID.to_owned()),
        ],
        body.to_string(),
    )
}

/// A REST-JSON error: the code in `x-amzn-ErrorType`, the message in the body.
fn rest_error(status: u16, code: &str, message: &str) -> Answer {
    (
        status,
        vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            (
                "x-amzn-ErrorType".to_owned(),
                format!("{code}:http://internal.amazon.com/"),
            ),
        ],
        json!({ "message": message, "Message": message }).to_string(),
    )
}

fn denied(action: &str) -> Answer {
    rest_error(
        403,
        "AccessDeniedException",
        &format!(
            "User: arn:aws:iam::{ACCOUNT}:user/deployer is not authorized to perform: {action} \
             because no identity-based policy allows the {action} action"
        ),
    )
}

pub fn answer(state: &mut State, request: &Request) -> Answer {
    let service = request.service();
    let (action, answer) = match service.as_str() {
        "bedrock" => bedrock(&state.account, request),
        "lambda" => lambda(&state.account, request),
        "acm" => acm(&state.account, request),
        _ => cloudfront(state, request),
    };
    state.calls.push(Call {
        action: action.clone(),
    });
    if let Some(refusal) = state.refused(&action) {
        return rest_error(refusal.status, &refusal.code, &refusal.message);
    }
    answer
}

/// `(call name, answer)` for Bedrock's control plane.
fn bedrock(account: &Account, request: &Request) -> (String, Answer) {
    let path = request.path.as_str();
    let (operation, id) = if let Some(id) = path.strip_prefix("/foundation-model-availability/") {
        ("GetFoundationModelAvailability", id)
    } else if let Some(id) = path.strip_prefix("/foundation-models/") {
        ("GetFoundationModel", id)
    } else if let Some(id) = path.strip_prefix("/inference-profiles/") {
        ("GetInferenceProfile", id)
    } else if path == "/use-case-for-model-access" {
        ("GetUseCaseForModelAccess", "")
    } else {
        return (
            format!("Bedrock {} {path}", request.method),
            rest_error(404, "UnknownOperationException", "unknown operation"),
        );
    };
    let call = format!("Bedrock {operation} {id}").trim_end().to_owned();
    let action = format!("bedrock:{operation}");
    if account.denied.contains(&action) {
        return (call, denied(&action));
    }
    let not_found = |what: &str| {
        rest_error(
            404,
            "ResourceNotFoundException",
            &format!("{what} {id} not found."),
        )
    };
    let answer = match operation {
        "GetFoundationModelAvailability" => {
            let model = account.model(id);
            if !model.offered {
                not_found("Model")
            } else {
                json_answer(
                    200,
                    json!({
                        "modelId": id,
                        "agreementAvailability": { "status": model.agreement },
                        "authorizationStatus": model.authorization,
                        "entitlementAvailability": model.entitlement,
                        "regionAvailability": model.region,
                    }),
                )
            }
        }
        "GetFoundationModel" => {
            let model = account.model(id);
            if !model.offered {
                rest_error(
                    400,
                    "ValidationException",
                    "The provided model identifier is invalid.",
                )
            } else {
                json_answer(
                    200,
                    json!({ "modelDetails": {
                        "modelArn": format!("arn:aws:bedrock:{REGION}::foundation-model/{id}"),
                        "modelId": id,
                        "modelName": id,
                        "providerName": model.provider,
                        "inputModalities": ["TEXT"],
                        "outputModalities": ["TEXT"],
                        "responseStreamingSupported": true,
                        "customizationsSupported": [],
                        "inferenceTypesSupported": model.inference_types,
                        "modelLifecycle": { "status": model.lifecycle },
                    }}),
                )
            }
        }
        "GetInferenceProfile" => {
            let model_id = id.split_once('.').map(|(_, m)| m).unwrap_or(id);
            if account.missing_profiles.iter().any(|p| p == id) || !account.model(model_id).offered
            {
                not_found("Inference profile")
            } else {
                let models: Vec<serde_json::Value> = ["us-east-1", "us-east-2", "us-west-2"]
                    .iter()
                    .map(|region| {
                        let arn = format!("arn:aws:bedrock:{region}::foundation-model/{model_id}");
                        json!({ "modelArn": arn })
                    })
                    .collect();
                json_answer(
                    200,
                    json!({
                        "inferenceProfileName": format!("US {model_id}"),
                        "inferenceProfileArn": format!(
                            "arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{id}"
                        ),
                        "inferenceProfileId": id,
                        "models": models,
                        "status": "ACTIVE",
                        "type": "SYSTEM_DEFINED",
                    }),
                )
            }
        }
        _ => {
            if account.use_case_submitted {
                // The form as the console sends it, base64-encoded.
                json_answer(
                    200,
                    json!({ "formData": "eyJjb21wYW55TmFtZSI6IkV4YW1wbGUifQ==" }),
                )
            } else {
                rest_error(
                    404,
                    "ResourceNotFoundException",
                    "No use case details found for this account.",
                )
            }
        }
    };
    (call, answer)
}

/// Lambda: GetAccountSettings and GetFunctionConcurrency.
fn lambda(account: &Account, request: &Request) -> (String, Answer) {
    let path = request.path.trim_end_matches('/');
    if path == "/2016-08-19/account-settings" {
        let call = "Lambda GetAccountSettings".to_owned();
        if account
            .denied
            .iter()
            .any(|a| a == "lambda:GetAccountSettings")
        {
            return (call, denied("lambda:GetAccountSettings"));
        }
        return (
            call,
            json_answer(
                200,
                json!({
                    "AccountLimit": {
                        "TotalCodeSize": 80530636800u64,
                        "CodeSizeUnzipped": 262144000,
                        "CodeSizeZipped": 52428800,
                        "ConcurrentExecutions": account.concurrency_limit,
                        "UnreservedConcurrentExecutions": account.unreserved,
                    },
                    "AccountUsage": { "TotalCodeSize": 0, "FunctionCount": 0 },
                }),
            ),
        );
    }
    if let Some(name) = path
        .strip_prefix("/2019-09-30/functions/")
        .and_then(|rest| rest.strip_suffix("/concurrency"))
    {
        let call = format!("Lambda GetFunctionConcurrency {name}");
        if account
            .denied
            .iter()
            .any(|a| a == "lambda:GetFunctionConcurrency")
        {
            return (call, denied("lambda:GetFunctionConcurrency"));
        }
        let body = match account.function_concurrency.get(name) {
            Some(n) => json!({ "ReservedConcurrentExecutions": n }),
            None => json!({}),
        };
        return (call, json_answer(200, body));
    }
    (
        format!("Lambda {} {path}", request.method),
        rest_error(404, "ResourceNotFoundException", "unknown operation"),
    )
}

/// ACM: DescribeCertificate, JSON 1.1 (`X-Amz-Target: CertificateManager.DescribeCertificate`),
/// for the certificates in us-east-1.
fn acm(account: &Account, request: &Request) -> (String, Answer) {
    let target = request.header("x-amz-target").unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
    let call = format!("ACM {operation}");
    let error = |code: &str, message: &str| {
        (
            400,
            vec![(
                "Content-Type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            )],
            json!({ "__type": code, "message": message }).to_string(),
        )
    };
    if operation != "DescribeCertificate" {
        return (
            call,
            error("UnknownOperationException", "unknown operation"),
        );
    }
    if account
        .denied
        .iter()
        .any(|a| a == "acm:DescribeCertificate")
    {
        return (
            call,
            error(
                "AccessDeniedException",
                "User is not authorized to perform: acm:DescribeCertificate",
            ),
        );
    }
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let arn = body["CertificateArn"].as_str().unwrap_or_default();
    // Certificates live in one region; ACM elsewhere does not know them.
    let here = request.region() == "us-east-1";
    let answer = match account.certificates.get(arn).filter(|_| here) {
        None => error(
            "ResourceNotFoundException",
            &format!("Could not find certificate {arn}."),
        ),
        Some(certificate) => {
            let mut names = vec![certificate.domain.clone()];
            names.extend(certificate.alternative_names.iter().cloned());
            (
                200,
                vec![(
                    "Content-Type".to_owned(),
                    "application/x-amz-json-1.1".to_owned(),
                )],
                json!({ "Certificate": {
                    "CertificateArn": arn,
                    "DomainName": certificate.domain,
                    "SubjectAlternativeNames": names,
                    "Status": certificate.status,
                    "Type": certificate.kind,
                    "NotAfter": certificate.not_after,
                    "KeyAlgorithm": "RSA_2048",
                    "InUseBy": [],
                }})
                .to_string(),
            )
        }
    };
    (call, answer)
}

/// CloudFront: CreateInvalidation.
fn cloudfront(state: &mut State, request: &Request) -> (String, Answer) {
    const NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
    let Some(distribution) = request
        .path
        .strip_prefix("/2020-05-31/distribution/")
        .and_then(|rest| rest.strip_suffix("/invalidation"))
    else {
        return (
            format!("CloudFront {} {}", request.method, request.path),
            rest_error(404, "NoSuchResource", "unknown operation"),
        );
    };
    let call = format!("CloudFront CreateInvalidation {distribution}");
    if let Some(refusal) = state.refused(&call) {
        return (
            call,
            (
                refusal.status,
                vec![("Content-Type".to_owned(), "text/xml".to_owned())],
                format!(
                    "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type>\
                     <Code>{}</Code><Message>{}</Message></Error>\
                     <RequestId>{REQUEST_ID}</RequestId></ErrorResponse>",
                    refusal.code,
                    esc(&refusal.message)
                ),
            ),
        );
    }
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let paths: Vec<String> = body
        .split("<Path>")
        .skip(1)
        .filter_map(|p| p.split_once("</Path>").map(|(path, _)| path.to_owned()))
        .collect();
    let reference = body
        .split("<CallerReference>")
        .nth(1)
        .and_then(|r| r.split_once("</CallerReference>"))
        .map(|(r, _)| r.to_owned())
        .unwrap_or_default();
    state
        .account
        .invalidations
        .push((distribution.to_owned(), paths.clone()));
    let items: String = paths
        .iter()
        .map(|p| format!("<Path>{}</Path>", esc(p)))
        .collect();
    let id = format!("I{:012}", state.account.invalidations.len());
    (
        call,
        (
            201,
            vec![
                ("Content-Type".to_owned(), "text/xml".to_owned()),
                (
                    "Location".to_owned(),
                    format!(
                        "https://cloudfront.amazonaws.com/2020-05-31/distribution/{distribution}/invalidation/{id}"
                    ),
                ),
            ],
            format!(
                "<?xml version=\"1.0\"?><Invalidation xmlns=\"{NS}\"><Id>{id}</Id>\
                 <Status>InProgress</Status><CreateTime>2026-05-01T12:00:00Z</CreateTime>\
                 <InvalidationBatch><Paths><Quantity>{}</Quantity><Items>{items}</Items></Paths>\
                 <CallerReference>{}</CallerReference></InvalidationBatch></Invalidation>",
                paths.len(),
                esc(&reference)
            ),
        ),
    )
}
