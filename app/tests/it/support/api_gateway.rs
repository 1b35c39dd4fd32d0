//! API Gateway REST proxy events for `POST /api/chat`, as Lambda delivers them, and one event
//! through the function's `lambda_http` adapter.

use bytes::Bytes;
use http::StatusCode;
use lambda_http::tower::ServiceExt;
use serde_json::{Value, json};

/// An API Gateway REST proxy event for `POST /api/chat` on `stage`, from the TCP peer
/// `source_ip` (CloudFront's edge when through CloudFront), with `headers` (a JSON object of
/// single values, also sent as `multiValueHeaders`) and `body` as its JSON body.
pub fn rest_event(stage: &str, source_ip: &str, headers: &Value, body: &Value) -> String {
    let multi: serde_json::Map<String, Value> = headers
        .as_object()
        .expect("the headers are a JSON object")
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    json!({
        "resource": "/api/{proxy+}",
        "path": "/api/chat",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": {"proxy": "chat"},
        "stageVariables": null,
        "requestContext": {
            "resourceId": "r1",
            "resourcePath": "/api/{proxy+}",
            "httpMethod": "POST",
            "extendedRequestId": "e1",
            "requestTime": "09/Apr/2025:12:34:56 +0000",
            "path": format!("/{stage}/api/chat"),
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1744202096000_u64,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": source_ip, "userAgent": "Amazon CloudFront"},
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "apiId": "abc123"
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
    .to_string()
}

/// One API Gateway event through `lambda_http`'s adapter, as `bootstrap` serves it: the answer's
/// status and body.
pub async fn through_lambda(router: &axum::Router, event: &str) -> (StatusCode, Bytes) {
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway event");
    let response = chatbot::lambda::handler(router.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, body)
}

/// [`through_lambda`], with the answer's body read as JSON.
pub async fn through_lambda_json(router: &axum::Router, event: &str) -> (StatusCode, Value) {
    let (status, body) = through_lambda(router, event).await;
    (status, serde_json::from_slice(&body).unwrap())
}
