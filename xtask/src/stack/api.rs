//! The REST API: an OpenAPI body generated from the route list, its deployment and stage.

use std::collections::BTreeMap;

use chatbot_contract::ROUTES;

use super::gateway_responses::gateway_responses;
use super::{
    STAGE_NAME, add, alias_reference, get_att, ids, log_group, origin, reference, sign_in,
};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Resource, Template};
use crate::env::Environment;

pub(super) fn add_to(env: &Environment, t: &mut Template) {
    let body = openapi(env);
    add(
        t,
        ids::REST_API,
        Resource::new(Properties::RestApi(RestApi {
            name: Expr::sub("${AWS::StackName}-api"),
            description: format!("Chatbot API ({})", env.name),
            endpoint_configuration: EndpointConfiguration {
                types: vec!["REGIONAL".into()],
            },
            fail_on_warnings: true,
            body: body.clone(),
        })),
    );

    // A deployment is a snapshot of the API: a new definition needs a new one, so its ID
    // carries a hash of the definition and CloudFormation replaces it when the routes change.
    let hash = format!(
        "{:016x}",
        fnv1a(&serde_json::to_vec(&body).unwrap_or_default())
    );
    let deployment_id = format!("{}{}", ids::API_DEPLOYMENT_PREFIX, &hash[..10]);
    add(
        t,
        &deployment_id,
        Resource::new(Properties::Deployment(Deployment {
            rest_api_id: reference(ids::REST_API),
            description: format!("Routes {}", &hash[..10]),
        })),
    );

    add(
        t,
        ids::API_ACCESS_LOGS,
        log_group(env, "api-access", "API access logs"),
    );
    add(
        t,
        ids::API_STAGE,
        Resource::new(Properties::Stage(Stage {
            stage_name: STAGE_NAME.into(),
            rest_api_id: reference(ids::REST_API),
            deployment_id: reference(&deployment_id),
            tracing_enabled: false,
            method_settings: vec![MethodSetting {
                resource_path: "/*".into(),
                http_method: "*".into(),
                throttling_rate_limit: env.api.throttle_rate,
                throttling_burst_limit: env.api.throttle_burst,
                metrics_enabled: true,
                // No execution log: API Gateway would make its log group itself, outside the
                // stack, never expiring and left behind by destroy. The access log below
                // records every request, with the integration's error when there is one.
                logging_level: "OFF".into(),
                data_trace_enabled: false,
            }],
            access_log_setting: AccessLogSetting {
                destination_arn: get_att(ids::API_ACCESS_LOGS, "Arn"),
                format: ACCESS_LOG_FORMAT.into(),
            },
            variables: stage_variables(env),
        }))
        // A stage that starts requiring the API key before CloudFront sends it would refuse
        // the site's requests: the distribution is updated (and waited for) first.
        .depends_on(ids::DISTRIBUTION)
        .skip_check(
            "CKV_AWS_120",
            "Chat answers are per request and streamed; API Gateway caching cannot apply to streamed responses",
        )
        .skip_check(
            "CKV_AWS_73",
            "No X-Ray: the function logs JSON and writes EMF metrics for every request, which is the tracing this service uses",
        ),
    );
}

/// One JSON line per request in the access log. It records the route template
/// (`$context.resourcePath`: `/api/sessions/{id}/messages`), not the path (`$context.path`),
/// which would put session ids, the only key to a conversation, in a log kept longer than the
/// conversation. `errorType` is the gateway response API Gateway answered with
/// (`INVALID_API_KEY`, `THROTTLED`, ...), and `apiId` the API's id: the metric filters of
/// `observability` count refused and throttled requests from them. With execution logging off,
/// `error` and `integrationError` say why API Gateway or the integration failed
/// (`INTEGRATION_FAILURE`, a Lambda permission or timeout message).
pub const ACCESS_LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTimeEpoch","method":"$context.httpMethod","route":"$context.resourcePath","status":"$context.status","bytes":"$context.responseLength","latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency","error":"$context.error.message","errorType":"$context.error.responseType","integrationError":"$context.integrationErrorMessage","apiId":"$context.apiId"}"#;

/// The OpenAPI document of the API: every route of [`ROUTES`], each a streaming Lambda proxy
/// to the function's live alias that requires CloudFront's API key, and API Gateway's own
/// answers in the API's error shape.
pub fn openapi(env: &Environment) -> Expr {
    let integration = Expr::Map(BTreeMap::from([
        ("type".into(), "aws_proxy".into()),
        ("httpMethod".into(), "POST".into()),
        (
            "uri".into(),
            // `Ref: Function.Alias` as a variable rather than `${Function.Alias}` in the
            // string: SAM resolves both, cfn-lint reads only the first on a SAM template.
            integration_uri(env),
        ),
        ("responseTransferMode".into(), "STREAM".into()),
        (
            "timeoutInMillis".into(),
            Expr::Int((i64::from(env.function.timeout_seconds) * 1000).min(900_000)),
        ),
    ]));
    let mut paths: BTreeMap<String, Expr> = BTreeMap::new();
    for route in ROUTES {
        let mut operation = BTreeMap::from([
            ("summary".to_owned(), Expr::str(route.summary)),
            (
                "x-amazon-apigateway-integration".to_owned(),
                integration.clone(),
            ),
            ("security".to_owned(), security(env, route.signed_in)),
            (
                "responses".to_owned(),
                Expr::Map(BTreeMap::from([(
                    "default".to_owned(),
                    Expr::Map(BTreeMap::from([(
                        "description".to_owned(),
                        Expr::str("The function's answer"),
                    )])),
                )])),
            ),
        ]);
        let parameters: Vec<Expr> = path_parameters(route.path)
            .map(|name| {
                Expr::Map(BTreeMap::from([
                    ("name".to_owned(), Expr::str(name)),
                    ("in".to_owned(), Expr::str("path")),
                    ("required".to_owned(), Expr::Bool(true)),
                    (
                        "schema".to_owned(),
                        Expr::Map(BTreeMap::from([("type".to_owned(), Expr::str("string"))])),
                    ),
                ]))
            })
            .collect();
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Expr::List(parameters));
        }
        let methods = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Expr::Map(BTreeMap::new()));
        if let Expr::Map(methods) = methods {
            methods.insert(route.method.to_ascii_lowercase(), Expr::Map(operation));
        }
    }
    Expr::Map(BTreeMap::from([
        ("openapi".into(), "3.0.1".into()),
        (
            "info".into(),
            Expr::Map(BTreeMap::from([
                (
                    "title".to_owned(),
                    Expr::Str(format!("{}-api", env.stack_name)),
                ),
                ("version".to_owned(), Expr::str("1")),
            ])),
        ),
        ("paths".into(), Expr::Map(paths)),
        (
            "components".into(),
            Expr::Map(BTreeMap::from([(
                "securitySchemes".to_owned(),
                security_schemes(env),
            )])),
        ),
        (
            "x-amazon-apigateway-api-key-source".into(),
            Expr::str("HEADER"),
        ),
        (
            "x-amazon-apigateway-gateway-responses".into(),
            gateway_responses(env.auth.users().is_some()),
        ),
    ]))
}

/// The stage variable naming the function's alias in `users` mode (see [`integration_uri`]).
const FUNCTION_VARIABLE: &str = "function";

/// Where API Gateway sends a request: the function's live alias, streaming.
///
/// In `users` mode the alias is named through a stage variable rather than referenced in the
/// API's body: the function's environment holds the app client's id, the client's callback
/// URLs hold the distribution's address and the distribution's origin holds the API's id, so
/// a reference from the body to the function would close a circle CloudFormation refuses.
fn integration_uri(env: &Environment) -> Expr {
    if env.auth.users().is_some() {
        return Expr::sub(format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2021-11-15/functions/arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:${{!stageVariables.{FUNCTION_VARIABLE}}}/response-streaming-invocations"
        ));
    }
    // `Ref: Function.Alias` as a variable rather than `${Function.Alias}` in the string: SAM
    // resolves both, cfn-lint reads only the first on a SAM template.
    Expr::SubWith(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${FunctionAlias}/response-streaming-invocations".into(),
        BTreeMap::from([("FunctionAlias".to_owned(), alias_reference())]),
    )
}

/// The stage's variables: in `users` mode, the function and alias the integration calls.
fn stage_variables(env: &Environment) -> BTreeMap<String, Expr> {
    if env.auth.users().is_none() {
        return BTreeMap::new();
    }
    BTreeMap::from([(
        FUNCTION_VARIABLE.to_owned(),
        Expr::sub(format!("${{{}}}:{}", ids::FUNCTION, super::ALIAS_NAME)),
    )])
}

/// What a route requires: CloudFront's API key always, and in `users` mode an access token of
/// the user pool on the routes that need one.
fn security(env: &Environment, signed_in: bool) -> Expr {
    let Expr::List(mut requirements) = origin::openapi::requirement() else {
        unreachable!("a list of requirements")
    };
    if signed_in
        && env.auth.users().is_some()
        && let Some(Expr::Map(all)) = requirements.first_mut()
    {
        let (scheme, scopes) = sign_in::openapi::requirement();
        all.insert(scheme, scopes);
    }
    Expr::List(requirements)
}

fn security_schemes(env: &Environment) -> Expr {
    let Expr::Map(mut schemes) = origin::openapi::schemes() else {
        unreachable!("a map of schemes")
    };
    if env.auth.users().is_some() {
        let (name, scheme) = sign_in::openapi::scheme();
        schemes.insert(name, scheme);
    }
    Expr::Map(schemes)
}

/// The `{name}` placeholders of an OpenAPI path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

/// 64-bit FNV-1a: a stable hash for naming, not for security.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
