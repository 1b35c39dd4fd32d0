//! What API Gateway answers by itself, before or instead of the function, in the API's own
//! error shape: `{"error": {"code": "...", "message": "..."}}`. Part of the OpenAPI body
//! (`x-amazon-apigateway-gateway-responses`), so a change deploys with the API.

use std::collections::BTreeMap;

use chatbot_contract::forbidden;

use crate::cfn::Expr;

/// The gateway responses: response type → status, headers and the JSON body. `signed_in`:
/// the API has a Cognito authorizer, whose refusals answer 401 with a bearer challenge.
pub fn gateway_responses(signed_in: bool) -> Expr {
    let mut responses = vec![
        // A missing or wrong API key: a call that did not come through CloudFront.
        (
            "INVALID_API_KEY",
            Some("403"),
            body(forbidden::CODE, &quoted(forbidden::MESSAGE)),
            None,
        ),
        // More requests than the stage's throttle allows.
        (
            "THROTTLED",
            Some("429"),
            body(
                "throttled",
                &quoted(
                    "the chatbot is receiving more requests than it can answer, try again in a moment",
                ),
            ),
            Some(("Retry-After", "1")),
        ),
        // A path or method the API does not have: API Gateway says 403 by default.
        (
            "MISSING_AUTHENTICATION_TOKEN",
            Some("404"),
            body("not_found", &quoted("there is nothing at this path")),
            None,
        ),
        (
            "DEFAULT_4XX",
            None,
            body("bad_request", "$context.error.messageString"),
            None,
        ),
        (
            "DEFAULT_5XX",
            None,
            body("gateway_error", "$context.error.messageString"),
            None,
        ),
    ];
    if signed_in {
        // A missing, malformed, forged or expired access token, refused by the authorizer
        // before the function runs; the function refuses the rest in the same shape.
        responses.push((
            "UNAUTHORIZED",
            Some("401"),
            body("unauthorized", "$context.error.messageString"),
            Some(("WWW-Authenticate", r#"Bearer realm="chatbot""#)),
        ));
    }
    Expr::Map(
        responses
            .into_iter()
            .map(|(kind, status, body, header)| {
                let mut headers = BTreeMap::from([(
                    "gatewayresponse.header.Cache-Control".to_owned(),
                    Expr::str("'no-store'"),
                )]);
                if let Some((name, value)) = header {
                    headers.insert(
                        format!("gatewayresponse.header.{name}"),
                        Expr::Str(format!("'{value}'")),
                    );
                }
                let mut response = BTreeMap::from([
                    ("responseParameters".to_owned(), Expr::Map(headers)),
                    (
                        "responseTemplates".to_owned(),
                        Expr::Map(BTreeMap::from([(
                            "application/json".to_owned(),
                            Expr::Str(body),
                        )])),
                    ),
                ]);
                if let Some(status) = status {
                    response.insert("statusCode".to_owned(), Expr::str(status));
                }
                (kind.to_owned(), Expr::Map(response))
            })
            .collect(),
    )
}

/// The error body with `message` as given: a JSON string, or API Gateway's
/// `$context.error.messageString`, which it writes as one.
fn body(code: &str, message: &str) -> String {
    format!(r#"{{"error":{{"code":"{code}","message":{message}}}}}"#)
}

fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}
