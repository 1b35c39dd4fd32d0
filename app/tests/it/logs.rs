//! What the service writes to its logs about a conversation: ids, sizes, status and timings,
//! never the text of a message or an answer, and never a session id.

use crate::support::{self, Logs, Service};
use http::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn neither_messages_nor_answers_reach_the_logs() {
    let logs = Logs::capture();
    let service = Service::start().await;

    let secret_words = "my card number is 4111 1111 1111 1111";
    let json = service.chat(json!({"message": secret_words})).await;
    assert_eq!(json.status, StatusCode::OK);
    let session = json.json()["session_id"].as_str().unwrap().to_owned();
    let streamed = service
        .chat_stream(json!({"message": format!("again: {secret_words}"), "session_id": session}))
        .await;
    assert_eq!(streamed.status, StatusCode::OK);
    assert_eq!(service.history(&session).await.len(), 4);

    let lines = logs.lines();
    assert!(
        lines.iter().any(|l| l["message"] == "chat turn finished"),
        "no chat log line at all: {lines:?}"
    );
    for line in &lines {
        let text = line.to_string();
        // The card number with its space: a request id (hex) may hold "4111" by chance.
        assert!(
            !text.contains("4111 1111"),
            "a message reached the logs: {text}"
        );
        assert!(
            !text.contains("Fake model reply"),
            "an answer reached the logs: {text}"
        );
    }
}

/// An API Gateway REST proxy event for `method path` on the `live` stage, through CloudFront,
/// as the stack's API (one resource per route of the contract) delivers it to Lambda.
fn api_gateway_event(method: &str, path: &str, body: Option<&Value>, stream: bool) -> String {
    let resource = chatbot::contract::ROUTES
        .iter()
        .map(|route| route.path)
        .find(|template| matches_template(template, path))
        .unwrap_or("/api/{proxy+}");
    let mut headers = json!({
        "Host": "abc123.execute-api.us-west-2.amazonaws.com",
        "CloudFront-Viewer-Address": "2001:db8:1:2::7:53421",
        "Via": "2.0 abcdef.cloudfront.net (CloudFront)",
        "Accept": if stream { "text/event-stream" } else { "application/json" },
    });
    if body.is_some() {
        headers["Content-Type"] = json!("application/json");
    }
    let multi: serde_json::Map<String, Value> = headers
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    let id = path.split('/').nth(3).unwrap_or_default();
    json!({
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": if resource.contains("{id}") { json!({"id": id}) } else { Value::Null },
        "stageVariables": null,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": format!("/live{path}"),
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "live",
            "requestTimeEpoch": 1744202096000_u64,
            "requestId": uuid::Uuid::new_v4().to_string(),
            "identity": {"sourceIp": "130.176.1.1"},
            "domainName": "abc123.execute-api.us-west-2.amazonaws.com",
            "apiId": "abc123"
        },
        "body": body.map(Value::to_string),
        "isBase64Encoded": false
    })
    .to_string()
}

fn matches_template(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

/// One request through `lambda_http`'s adapter, as `bootstrap` serves it; status and body.
async fn through_lambda(
    router: &axum::Router,
    method: &str,
    path: &str,
    body: Option<Value>,
    stream: bool,
) -> (StatusCode, String) {
    let event = api_gateway_event(method, path, body.as_ref(), stream);
    let (status, body) = support::through_lambda(router, &event).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn no_log_line_or_metric_of_a_whole_conversation_carries_a_session_id() {
    let logs = Logs::capture();
    let service = Service::start().await;
    let router = chatbot::router(service.state.clone());

    // Create a conversation (JSON), go on streaming, fail, read it, delete it.
    let (status, body) = through_lambda(
        &router,
        "POST",
        "/api/chat",
        Some(json!({"message": "hello"})),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session: Value = serde_json::from_str(&body).unwrap();
    let session = session["session_id"].as_str().unwrap().to_owned();
    let turn = |message: &str| Some(json!({"message": message, "session_id": session}));
    let history = format!("/api/sessions/{session}/messages");
    let unknown = uuid::Uuid::new_v4().to_string();
    // Each request, and what its answer's body shows (anything, when empty).
    for (method, path, body, stream, status, shows) in [
        (
            "POST",
            "/api/chat".to_owned(),
            turn("and streamed?"),
            true,
            StatusCode::OK,
            "event: done",
        ),
        (
            "POST",
            "/api/chat".to_owned(),
            turn("[[error:500]] fail"),
            false,
            StatusCode::BAD_GATEWAY,
            "",
        ),
        (
            "POST",
            "/api/chat".to_owned(),
            turn("[[stream-error:1]] break"),
            true,
            StatusCode::OK,
            "event: error",
        ),
        ("GET", history.clone(), None, false, StatusCode::OK, ""),
        (
            "PUT",
            format!("/api/sessions/{session}"),
            None,
            false,
            StatusCode::METHOD_NOT_ALLOWED,
            "",
        ),
        (
            "GET",
            format!("/api/sessions/{session}/everything"),
            None,
            false,
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            "DELETE",
            format!("/api/sessions/{session}"),
            None,
            false,
            StatusCode::NO_CONTENT,
            "",
        ),
        // Unknown and deleted ids: 404s.
        (
            "GET",
            history.clone(),
            None,
            false,
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            "GET",
            format!("/api/sessions/{unknown}/messages"),
            None,
            false,
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            "DELETE",
            format!("/api/sessions/{unknown}"),
            None,
            false,
            StatusCode::NOT_FOUND,
            "",
        ),
    ] {
        let (got, answer) = through_lambda(&router, method, &path, body, stream).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        assert!(answer.contains(shows), "{method} {path}: {answer}");
    }

    let lines = logs.lines();
    for line in &lines {
        println!("{line}");
    }
    let routes: Vec<&str> = lines
        .iter()
        .filter(|l| l["message"] == "request answered")
        .filter_map(|l| l["span"]["route"].as_str())
        .collect();
    assert_eq!(
        routes,
        [
            "/api/chat",
            "/api/chat",
            "/api/chat",
            "/api/chat",
            "/api/sessions/{id}/messages",
            "/api/sessions/{id}",
            "(no route)",
            "/api/sessions/{id}",
            "/api/sessions/{id}/messages",
            "/api/sessions/{id}/messages",
            "/api/sessions/{id}",
        ],
        "every request is logged with its route"
    );
    assert!(lines.iter().any(|l| l["message"] == "model call failed"));
    assert!(lines.iter().any(|l| l["message"] == "model stream failed"));
    for id in [&session, &unknown] {
        let simple = id.replace('-', "");
        for line in &lines {
            let text = line.to_string().to_ascii_lowercase();
            assert!(
                !text.contains(id.as_str()) && !text.contains(&simple),
                "a session id reached the logs: {text}"
            );
        }
        for metric in service.state.metrics.recorded() {
            assert!(
                !metric.to_string().contains(id.as_str()),
                "a session id is in a metric: {metric}"
            );
        }
    }
}

/// The lines `cargo xtask logs` is tested on (`xtask/tests/it/fixtures/logs/function.jsonl`)
/// are what the service writes: a conversation's lines through the Lambda adapter, written
/// there by `UPDATE_EXPECT=1`, and otherwise compared with it by shape (level, message, field
/// names), so a change to what the service logs fails here until the fixture is refreshed.
#[tokio::test]
async fn the_log_fixture_of_xtask_is_what_the_service_writes() {
    let logs = Logs::capture();
    let service = Service::start().await;
    let router = chatbot::router(service.state.clone());
    let chat = |message: &str| Some(json!({"message": message}));
    for (method, path, body, stream, status) in [
        ("GET", "/api/health", None, false, StatusCode::OK),
        ("POST", "/api/chat", chat("hello"), true, StatusCode::OK),
        (
            "POST",
            "/api/chat",
            chat("[[error:500]] fail"),
            false,
            StatusCode::BAD_GATEWAY,
        ),
        (
            "POST",
            "/api/chat",
            chat("[[stream-error:1]] break"),
            true,
            StatusCode::OK,
        ),
        (
            "POST",
            "/api/chat",
            Some(json!({"message": ""})),
            false,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (got, answer) = through_lambda(&router, method, path, body, stream).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
    }
    let written = logs.text();
    // A field named `message` would stand beside the line's own: JSON readers keep one of them.
    for line in written.lines() {
        assert_eq!(
            line.matches("\"message\":").count(),
            1,
            "a field is named message: {line}"
        );
    }
    let refused = logs.expect("chat request refused");
    assert_eq!(refused["code"], "invalid_request", "{refused}");
    assert_eq!(refused["reason"], "the message is empty", "{refused}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xtask/tests/it/fixtures/logs/function.jsonl");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &written).unwrap();
        return;
    }
    let fixture = std::fs::read_to_string(&path).expect("the fixture exists: UPDATE_EXPECT=1");
    assert_eq!(
        shapes(&fixture),
        shapes(&written),
        "{} is stale: refresh it with UPDATE_EXPECT=1 cargo test -p chatbot --test it the_log_fixture",
        path.display()
    );
}

/// Each line's level, message and field names (the span's too), in order.
fn shapes(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("a JSON line");
            let object = value.as_object().expect("an object");
            let mut keys: Vec<String> = object.keys().cloned().collect();
            if let Some(span) = object.get("span").and_then(Value::as_object) {
                keys.extend(span.keys().map(|k| format!("span.{k}")));
            }
            keys.sort();
            format!(
                "{} {:?} {}",
                value["level"],
                value["message"].as_str(),
                keys.join(",")
            )
        })
        .collect()
}
