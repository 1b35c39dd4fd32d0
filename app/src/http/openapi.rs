//! The OpenAPI document served at `/api/openapi.json`: every route of the contract with its
//! request body and the shape of each answer, so a client (or schemathesis) can check both.

use serde_json::{Value, json};

use crate::AppState;
use crate::contract::ROUTES;
use crate::guardrail::{Blocked, Outcome};

/// The document for this deployment: the chat body's limits and model list come from `state`.
pub fn document(state: &AppState) -> Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let method = route.method.to_ascii_lowercase();
        let mut operation = json!({
            "summary": route.summary,
            "responses": responses(&method, route.path),
        });
        if route.path.contains("{id}") {
            operation["parameters"] = json!([
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}
            ]);
        }
        if method == "post" && route.path.ends_with("/chat") {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": chat_request(state)}},
            });
        }
        let entry = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        entry[method] = operation;
    }
    json!({
        "openapi": "3.0.1",
        "info": {"title": "chatbot", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
    })
}

/// Every character Rust's `char::is_whitespace` (Unicode `White_Space`) calls white space: a
/// message of only these, as `str::trim` sees it, is blank.
const WHITE_SPACE: [char; 25] = [
    '\t', '\n', '\u{0b}', '\u{0c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// A message the service accepts: no NUL, and at least one character that is not white space.
fn message_pattern() -> String {
    let blank: String = WHITE_SPACE
        .iter()
        .map(|c| format!("\\u{:04x}", u32::from(*c)))
        .collect();
    format!("^[^\\u0000]*[^\\u0000{blank}][^\\u0000]*$")
}

fn chat_request(state: &AppState) -> Value {
    // OpenAPI 3.0: a nullable enum lists null among its values.
    let mut models: Vec<Value> = state.config.models.iter().map(|m| json!(m.id)).collect();
    models.push(Value::Null);
    json!({
        "type": "object",
        "required": ["message"],
        "additionalProperties": false,
        "properties": {
            "message": {
                "type": "string",
                "minLength": 1,
                "maxLength": state.tuning.max_message_chars,
                "pattern": message_pattern(),
                "description": "Not blank, no NUL character",
            },
            "session_id": {
                "type": "string",
                "format": "uuid",
                "nullable": true,
                "description": "The conversation to continue; a new one when absent",
            },
            "model": {
                "type": "string",
                "enum": models,
                "nullable": true,
                "description": "One of GET /api/models; the default when absent",
            },
        },
    })
}

/// Every operation answers errors with the same body, under `default`.
fn responses(method: &str, path: &str) -> Value {
    let ok = match (method, path) {
        ("post", p) if p.ends_with("/chat") => json!({"200": {
            "description": "The answer, or server-sent events (meta, delta, done or error) when the request accepts text/event-stream. When the environment's guardrail acts on the turn, stop_reason is guardrail_intervened and guardrail says what it did: blocked_input or blocked_output (reply, or the done event's message, is then the guardrail's message, which replaces any text streamed before it; the turn is saved as blocked, not as an answer) or masked_output (the answer with parts masked)",
            "content": {
                "application/json": {"schema": chat_reply()},
                "text/event-stream": {"schema": {"type": "string"}},
            },
        }}),
        ("get", p) if p.ends_with("/messages") => {
            json!({"200": json_response("The session's recent messages, oldest first", history())})
        }
        ("delete", _) => json!({"204": {"description": "The session and its history are deleted"}}),
        ("get", p) if p.ends_with("/models") => {
            json!({"200": json_response("The models a request may name", models())})
        }
        ("get", p) if p.ends_with("/health") => {
            json!({"200": json_response("The service is up", health())})
        }
        _ => json!({"200": json_response("This document", json!({
            "type": "object",
            "required": ["openapi", "info", "paths"],
        }))}),
    };
    let mut responses = ok;
    responses["default"] = json_response(
        "An error: 4xx for the request, 5xx for the service",
        error(),
    );
    responses
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn object(properties: Value) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    json!({"type": "object", "required": required, "properties": properties})
}

fn error() -> Value {
    object(json!({"error": object(json!({"code": string(), "message": string()}))}))
}

/// What the guardrail did to a turn (absent when it did nothing).
const GUARDRAIL_OUTCOMES: [&str; 3] = [
    Outcome::Blocked(Blocked::Input).as_str(),
    Outcome::Blocked(Blocked::Output).as_str(),
    Outcome::Masked.as_str(),
];

fn chat_reply() -> Value {
    let count = json!({"type": "integer", "minimum": 0});
    let mut reply = object(json!({
        "session_id": {"type": "string", "format": "uuid"},
        "reply": string(),
        "model": string(),
        "usage": object(json!({"input_tokens": count, "output_tokens": count})),
        "stop_reason": {
            "type": "string",
            "description": "Bedrock's stop reason: end_turn, max_tokens, guardrail_intervened, ...",
        },
    }));
    reply["properties"]["guardrail"] = json!({
        "type": "string",
        "enum": GUARDRAIL_OUTCOMES,
        "description": "Present when the environment's guardrail acted on the turn",
    });
    reply
}

fn history() -> Value {
    let message = object(json!({
        "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": string(),
        "created_at": {"type": "string", "format": "date-time"},
        "incomplete": {"type": "boolean"},
        "blocked": {
            "type": "string",
            "enum": ["input", "output", null],
            "nullable": true,
            "description": "Set when the guardrail blocked the turn: on the prompt (whose text is not kept) and on the guardrail's message that stands in for the answer",
        },
    }));
    object(json!({
        "session_id": {"type": "string", "format": "uuid"},
        "messages": {"type": "array", "items": message},
    }))
}

fn models() -> Value {
    object(json!({
        "default": string(),
        "models": {"type": "array", "items": object(json!({"id": string(), "name": string()}))},
        "demo": {"type": "boolean"},
    }))
}

fn health() -> Value {
    object(json!({
        "status": {"type": "string", "enum": ["ok"]},
        "version": string(),
        "environment": string(),
        "demo": {"type": "boolean"},
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::{Config, Tuning};
    use crate::metrics::Metrics;
    use crate::model::{Demo, Model};
    use crate::store::{MemoryStore, Store};

    #[test]
    fn describes_every_route_its_body_and_its_answers() {
        let vars = HashMap::from([
            ("CHATBOT_ENVIRONMENT", "test"),
            ("CHATBOT_MODELS", r#"[{"id": "m1", "name": "One"}]"#),
            ("CHATBOT_DEFAULT_MODEL", "m1"),
            ("CHATBOT_SYSTEM_PROMPT", "Be brief."),
            ("CHATBOT_MAX_OUTPUT_TOKENS", "100"),
            ("CHATBOT_RATE_LIMIT", "10"),
            ("CHATBOT_RATE_WINDOW_SECONDS", "60"),
            ("CHATBOT_DAILY_TOKEN_BUDGET", "1000"),
            ("CHATBOT_HISTORY_DAYS", "1"),
        ]);
        let config = Config::from_lookup(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap();
        let state = AppState {
            metrics: Metrics::discard(&config.environment),
            config,
            tuning: Tuning::default(),
            store: Store::Memory(MemoryStore::default()),
            model: Model::Demo(Demo::default()),
        };
        let doc = document(&state);
        for route in ROUTES {
            let operation = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            assert!(operation["responses"]["default"].is_object(), "{route:?}");
            assert!(
                operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|status| status.starts_with('2')),
                "{route:?}"
            );
        }
        let body = &doc["paths"]["/api/chat"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(body["required"], json!(["message"]));
        assert_eq!(body["additionalProperties"], json!(false));
        assert_eq!(body["properties"]["model"]["enum"], json!(["m1", null]));
        assert_eq!(
            body["properties"]["message"]["maxLength"],
            json!(Tuning::default().max_message_chars)
        );
        let reply = &doc["paths"]["/api/chat"]["post"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            reply["properties"]["guardrail"]["enum"],
            json!(["blocked_input", "blocked_output", "masked_output"])
        );
        assert!(
            !reply["required"]
                .as_array()
                .unwrap()
                .contains(&json!("guardrail")),
            "only present when the guardrail acted"
        );
        let message = &doc["paths"]["/api/sessions/{id}/messages"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"]["properties"]["messages"]["items"];
        assert_eq!(
            message["properties"]["blocked"]["enum"],
            json!(["input", "output", null])
        );
    }

    #[test]
    fn the_message_pattern_excludes_exactly_rusts_white_space() {
        let listed: Vec<char> = (0..=0x10_ffff)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        assert_eq!(listed, WHITE_SPACE);
        let pattern = message_pattern();
        assert!(
            pattern.starts_with(r"^[^\u0000]*[^\u0000\u0009\u000a"),
            "{pattern}"
        );
        assert!(pattern.ends_with(r"\u3000][^\u0000]*$"), "{pattern}");
    }
}
