//! The OpenAPI document served at `/api/openapi.json`: every route of the contract with its
//! request body and the shape of each answer, so a client (or schemathesis) can check both.

use serde_json::{Value, json};

use crate::guardrail::{Blocked, Outcome};
use crate::state::AppState;
use chatbot_contract::ROUTES;

/// The document for this deployment: the chat body's limits and model list come from `state`.
pub fn document(state: &AppState) -> Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let method = route.method.to_ascii_lowercase();
        let mut operation = json!({
            "summary": route.summary,
            "responses": responses(&method, route.path),
        });
        let mut parameters = Vec::new();
        if route.path.contains("{id}") {
            parameters.push(json!(
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}
            ));
        }
        if route.path.contains("{message_id}") {
            parameters.push(json!(
                {"name": "message_id", "in": "path", "required": true, "schema": message_id()}
            ));
        }
        if route.path == "/api/sessions" {
            parameters.push(json!({
                "name": "limit", "in": "query", "required": false,
                "description": "Most chats in the page",
                "schema": {"type": "integer", "minimum": 1, "maximum": state.tuning.sessions_page_max},
            }));
            parameters.push(json!({
                "name": "cursor", "in": "query", "required": false,
                "description": "next_cursor of the page before",
                "schema": string(),
            }));
        }
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if route.signed_in && state.config.auth.users().is_some() {
            operation["security"] = json!([{"bearer": []}]);
        }
        let body = match (method.as_str(), route.path) {
            ("post", p) if p.ends_with("/chat") => Some(chat_request(state)),
            ("patch", _) => Some(rename_request()),
            ("put", p) if p.ends_with("/feedback") => Some(rating_request()),
            ("post", p) if p.ends_with("/stop") => Some(stop_request()),
            _ => None,
        };
        if let Some(schema) = body {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema}},
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
        "components": {"securitySchemes": {"bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "In users mode: the OAuth access token of the environment's identity provider (Cognito, or any OpenID Connect issuer) for the page's app client",
        }}},
    })
}

fn rename_request() -> Value {
    json!({
        "type": "object",
        "required": ["title"],
        "additionalProperties": false,
        "properties": {"title": {
            "type": "string",
            "pattern": "\\S",
            "maxLength": crate::store::MAX_TITLE_CHARS,
        }},
    })
}

/// A chat as `GET /api/sessions` lists it.
fn session_summary() -> Value {
    object(json!({
        "id": {"type": "string", "format": "uuid"},
        "title": string(),
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "message_count": count(),
    }))
}

fn session_list() -> Value {
    object(json!({
        "sessions": {"type": "array", "items": session_summary()},
        "next_cursor": {"type": "string", "nullable": true},
    }))
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
            "replaces": {
                "type": "string",
                "pattern": MESSAGE_ID_PATTERN,
                "nullable": true,
                "description": "A question of session_id (its user_message_id) that this message replaces: it and every message after it are dropped first. Edit a question by sending the new text; ask for another answer by sending the same text",
            },
        },
    })
}

/// A message's id: when it was begun, a sequence number and a random part.
const MESSAGE_ID_PATTERN: &str = "^[0-9]{13}-[0-9]{10}-[0-9a-f]{8}$";

fn message_id() -> Value {
    json!({"type": "string", "pattern": MESSAGE_ID_PATTERN})
}

fn rating_request() -> Value {
    json!({
        "type": "object",
        "required": ["rating"],
        "additionalProperties": false,
        "properties": {
            "rating": {
                "type": "string",
                "enum": ["up", "down", null],
                "nullable": true,
                "description": "The reader's rating of the answer; null takes it back",
            },
        },
    })
}

fn stop_request() -> Value {
    json!({
        "type": "object",
        "required": ["chars"],
        "additionalProperties": false,
        "properties": {
            "chars": {
                "type": "integer",
                "minimum": 0,
                "description": "Characters (Unicode code points) of the answer the reader saw before pressing Stop",
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
        ("put", p) if p.ends_with("/feedback") => {
            json!({"204": {"description": "The rating is saved"}})
        }
        ("post", p) if p.ends_with("/stop") => json!({"200": json_response(
            "The answer, cut to what the reader saw and marked stopped. 404 while the answer is not saved yet (it is once the service notices the reader left): ask again shortly; 409 when it is shorter than chars",
            message(),
        )}),
        ("delete", _) => json!({"204": {"description": "The session and its history are deleted"}}),
        ("patch", _) => {
            json!({"200": json_response("The chat, renamed (users mode; another person's chat answers 404)", session_summary())})
        }
        ("get", p) if p.ends_with("/sessions") => json!({"200": json_response(
            "The caller's chats, newest activity first (users mode; a public chatbot answers 404)",
            session_list(),
        )}),
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
    let mut error = object(json!({"code": string(), "message": string()}));
    error["properties"]["session_id"] = json!({
        "type": "string",
        "format": "uuid",
        "description": "A chat turn that failed after its question was saved: the conversation",
    });
    error["properties"]["user_message_id"] = json!({
        "type": "string",
        "pattern": MESSAGE_ID_PATTERN,
        "description": "A chat turn that failed after its question was saved: the question, for replaces",
    });
    object(json!({ "error": error }))
}

/// What the guardrail did to a turn (absent when it did nothing).
const GUARDRAIL_OUTCOMES: [&str; 3] = [
    Outcome::Blocked(Blocked::Input).as_str(),
    Outcome::Blocked(Blocked::Output).as_str(),
    Outcome::Masked.as_str(),
];

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// Tokens of an answer; cache tokens only when the model reported some, `estimated` only when
/// the counts are the service's estimate.
fn usage() -> Value {
    let mut usage = object(json!({"input_tokens": count(), "output_tokens": count()}));
    usage["properties"]["cache_read_input_tokens"] = count();
    usage["properties"]["cache_write_input_tokens"] = count();
    usage["properties"]["estimated"] = json!({
        "type": "boolean",
        "description": "The model's own counts never arrived (a stopped or broken answer): these are the service's estimate, about four characters a token",
    });
    usage
}

/// What an answer cost at its model's price.
fn cost() -> Value {
    let mut cost = object(json!({
        "micro_usd": {
            "type": "integer",
            "minimum": 0,
            "description": "US$ 0.000001 units: tokens × the model's price per million, rounded once to the nearest, halves up",
        },
        "usd": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2,6}$", "description": "The same amount in dollars, as text"},
    }));
    cost["properties"]["estimated"] = json!({
        "type": "boolean",
        "description": "Priced from the service's token estimate",
    });
    cost["description"] = json!("Absent for a model without a price");
    cost
}

fn chat_reply() -> Value {
    let mut reply = object(json!({
        "session_id": {"type": "string", "format": "uuid"},
        "message_id": message_id(),
        "user_message_id": message_id(),
        "reply": string(),
        "model": {
            "type": "string",
            "description": "The model that answered; offline-demo for the offline demo model of local runs",
        },
        "usage": usage(),
        "stop_reason": {
            "type": "string",
            "description": "Bedrock's stop reason: end_turn, max_tokens, guardrail_intervened, ...",
        },
        "latency_ms": {"type": "integer", "minimum": 0},
        "created_at": {"type": "string", "format": "date-time"},
    }));
    reply["properties"]["guardrail"] = json!({
        "type": "string",
        "enum": GUARDRAIL_OUTCOMES,
        "description": "Present when the environment's guardrail acted on the turn",
    });
    reply["properties"]["cost"] = cost();
    reply
}

/// A message as the history lists it (`http::messages::message_json`).
fn message() -> Value {
    let mut usage = usage();
    usage["nullable"] = json!(true);
    let mut cost = cost();
    cost["nullable"] = json!(true);
    cost["description"] = json!(
        "null for a model without a price, on questions, and on answers saved before costs were kept"
    );
    object(json!({
        "id": message_id(),
        "role": {"type": "string", "enum": ["user", "assistant"]},
        "content": string(),
        "created_at": {"type": "string", "format": "date-time"},
        "model": {"type": "string", "nullable": true},
        "incomplete": {"type": "boolean"},
        "blocked": {
            "type": "string",
            "enum": ["input", "output", null],
            "nullable": true,
            "description": "Set when the guardrail blocked the turn: on the prompt (whose text is not kept) and on the guardrail's message that stands in for the answer",
        },
        "usage": usage,
        "latency_ms": {"type": "integer", "minimum": 0, "nullable": true},
        "stop_reason": {
            "type": "string",
            "nullable": true,
            "description": "Bedrock's stop reason, or stopped (the reader pressed Stop), disconnected (the reader left mid-answer), error (the model failed mid-answer); null on questions",
        },
        "feedback": {"type": "string", "enum": ["up", "down", null], "nullable": true},
        "cost": cost,
    }))
}

fn history() -> Value {
    object(json!({
        "session_id": {"type": "string", "format": "uuid"},
        "messages": {"type": "array", "items": message()},
    }))
}

fn models() -> Value {
    let mut model = object(json!({"id": string(), "name": string()}));
    let mut price = object(json!({
        "input": count(),
        "output": count(),
        "as_of": {"type": "string", "format": "date"},
    }));
    price["properties"]["cache_read"] = count();
    price["properties"]["cache_write"] = count();
    price["description"] =
        json!("US$ 0.000001 units per million tokens, as read from the AWS price list on as_of");
    model["properties"]["price"] = price;
    let positive = json!({"type": "integer", "minimum": 1});
    object(json!({
        "default": string(),
        "models": {"type": "array", "items": model},
        "demo": {"type": "boolean"},
        "starter_prompts": {
            "type": "array",
            "items": string(),
            "maxItems": chatbot_contract::STARTER_PROMPTS_MAX,
            "description": "Prompts the page offers on an empty chat",
        },
        "limits": object(json!({"message_chars": positive, "request_bytes": positive})),
        "auth": {
            "type": "object",
            "required": ["mode"],
            "description": "How to sign in: public (no sign-in) or users (the identity provider's endpoints and the page's client)",
            "properties": {
                "mode": {"type": "string", "enum": ["public", "users"]},
                "issuer": string(),
                "client_id": string(),
                "authorize_url": string(),
                "token_url": string(),
                "logout_url": string(),
                "scopes": {"type": "array", "items": string()},
            },
        },
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
        for key in ["id", "usage", "latency_ms", "stop_reason", "feedback"] {
            assert!(
                message["required"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(key)),
                "{key}"
            );
        }
        let rating = &doc["paths"]["/api/sessions/{id}/messages/{message_id}/feedback"]["put"];
        assert_eq!(
            rating["requestBody"]["content"]["application/json"]["schema"]["properties"]["rating"]
                ["enum"],
            json!(["up", "down", null])
        );
        assert_eq!(rating["parameters"][1]["name"], "message_id");
        let stop = &doc["paths"]["/api/sessions/{id}/messages/{message_id}/stop"]["post"];
        assert_eq!(
            stop["requestBody"]["content"]["application/json"]["schema"]["required"],
            json!(["chars"])
        );
        assert_eq!(body["properties"]["replaces"]["nullable"], json!(true));
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
