//! The HTTP face of the service: routes, request validation, the error body, SSE encoding.

mod answer;
mod auth;
pub mod error;
mod messages;
mod openapi;
mod rate_limit;
mod site;
pub mod sse;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tracing::Instrument;

pub use auth::user_of;
pub use error::ApiError;

use crate::chat::{self, ChatInput};
use crate::config::Config;
use crate::state::AppState;
use crate::store::{MAX_TITLE_CHARS, MessageId, Owner, SessionCursor, SessionId, SessionSummary};
use chatbot_contract::{API_KEY_HEADER, API_PREFIX, ORIGIN_VERIFY_HEADER};

/// The request id a log line and the `x-request-id` response header carry: Lambda's request
/// id in Lambda, a random one locally.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Every `/api` route of the contract, with JSON errors for unknown paths and methods.
///
/// When the configuration has an origin secret, every `/api` request must carry it in
/// [`ORIGIN_VERIFY_HEADER`] (see [`require_origin`]); that check comes before anything else.
pub fn router(state: Arc<AppState>) -> Router {
    guarded(api(state.clone()).fallback(|| async { not_found() }), state)
}

/// The API plus the files of `site_dir` at `/` (local runs): `cargo xtask dev`.
pub fn router_with_site(state: Arc<AppState>, site_dir: Option<PathBuf>) -> Router {
    match site_dir {
        Some(dir) => {
            let headers = site::SiteHeaders::new(&state.config.auth);
            guarded(
                api(state.clone()).fallback(move |request: Request| {
                    site::serve(dir.clone(), headers.clone(), request)
                }),
                state,
            )
        }
        None => router(state),
    }
}

/// `routes` behind the checks every request passes, outermost first: the request span, the
/// origin header, and in `users` mode the access token (see [`auth`]).
fn guarded(routes: Router, state: Arc<AppState>) -> Router {
    let routes = match state.config.auth.users() {
        Some(users) => {
            let verifier = crate::auth::Verifier::new(
                users,
                state.tuning.verifier,
                crate::auth::FetchJwks::new(&users.jwks_url),
            );
            let sign_in = Arc::new(auth::SignIn {
                state: state.clone(),
                verifier,
            });
            routes.layer(middleware::from_fn_with_state(sign_in, auth::require_user))
        }
        None => routes,
    };
    routes
        .layer(middleware::from_fn_with_state(state, require_origin))
        .layer(middleware::from_fn(request_span))
}

/// Refuses (403 `forbidden`) an `/api` request whose [`ORIGIN_VERIFY_HEADER`] is missing,
/// repeated or not the configured origin secret (nor, during a rotation, the previous one),
/// before validation, rate limiting or any store access. Deployed, API Gateway has already
/// refused requests without CloudFront's API key; this is the second line, for a request that
/// reached the function anyway. CloudFront adds the header to every request it passes to the
/// API, so only a caller of the `execute-api` address directly is refused, and such a caller
/// can no longer choose the `CloudFront-Viewer-Address` the rate limit counts. The header, and
/// [`API_KEY_HEADER`] that carries the same secret, are taken off the request either way, so
/// nothing further down can see or log them.
async fn require_origin(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let given: Vec<HeaderValue> = match request.headers_mut().entry(ORIGIN_VERIFY_HEADER) {
        header::Entry::Occupied(entry) => entry.remove_entry_mult().1.collect(),
        header::Entry::Vacant(_) => Vec::new(),
    };
    request.headers_mut().remove(API_KEY_HEADER);
    if let Some(secret) = &state.config.origin_secret
        && is_api_path(request.uri().path())
    {
        let previous = state.config.previous_origin_secret.as_ref();
        let verified = match given.as_slice() {
            // Both compared every time: which one matched is not told by the time taken.
            [value] => {
                secret.matches(value.as_bytes())
                    | previous.is_some_and(|previous| previous.matches(value.as_bytes()))
            }
            _ => false,
        };
        if !verified {
            state
                .metrics
                .count(chatbot_contract::metrics::ORIGIN_REFUSED);
            tracing::warn!(
                header = ORIGIN_VERIFY_HEADER,
                values = given.len(),
                "request refused: it did not come through CloudFront (origin header missing or wrong)"
            );
            return ApiError::forbidden().into_response();
        }
    }
    next.run(request).await
}

fn is_api_path(path: &str) -> bool {
    path.strip_prefix(API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn api(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/chat", post(chat))
        .route("/api/sessions/{id}/messages", get(session_messages))
        .route(
            "/api/sessions/{id}/messages/{message_id}/feedback",
            put(messages::rate),
        )
        .route(
            "/api/sessions/{id}/messages/{message_id}/stop",
            post(messages::stop),
        )
        .route("/api/sessions", get(list_sessions))
        .route(
            "/api/sessions/{id}",
            delete(delete_session).patch(rename_session),
        )
        .route("/api/models", get(models))
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(openapi))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
}

/// What a session id of nobody, or of someone else, gets.
pub(crate) fn no_such_session() -> ApiError {
    ApiError::not_found("there is no session with this id")
}

fn not_found() -> ApiError {
    ApiError::not_found("there is nothing at this path")
}

/// What the request span and the request log line call a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "(no route)";

/// Wraps each request in a span carrying its id, method and route, logs its outcome, and
/// echoes the id.
///
/// The span names the route template the router matched (`/api/sessions/{id}/messages`), never
/// the path: a session id is the only key to a conversation, and logs outlive history. A path
/// no route matched is not logged either, as it may hold a session id too.
async fn request_span(mut request: Request, next: Next) -> Response {
    let id = match request.extensions().get::<RequestId>() {
        Some(RequestId(id)) => id.clone(),
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            request.extensions_mut().insert(RequestId(id.clone()));
            id
        }
    };
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

async fn chat(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let stream = wants_event_stream(&parts.headers);
    let input = match read_chat_input(&state, &parts.headers, body).await {
        Ok(input) => input,
        Err(err) => {
            tracing::info!(code = err.code, reason = %err.message, "chat request refused");
            return err.into_response();
        }
    };
    let client = crate::client_ip::of_request(&parts.extensions);
    let user = user_of(&parts.extensions);
    let turn = match chat::start_turn(&state, client, user, input).await {
        Ok(turn) => turn,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let headers = rate_limit::headers_of(turn.limits());
    let result = if stream {
        chat::answer_stream(state.clone(), turn)
            .await
            .map(|events| answer::event_stream(events, state.tuning.heartbeat))
    } else {
        chat::answer_json(&state, turn)
            .await
            .map(|answer| Json(answer::ChatReply::from(answer)).into_response())
    };
    let mut response = result.unwrap_or_else(|err| ApiError::from(err).into_response());
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    response
}

fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("text/event-stream"))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatBody {
    message: String,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    replaces: Option<String>,
}

/// Checks a chat request from its headers to its fields; every failure is a 4xx.
async fn read_chat_input(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<ChatInput, ApiError> {
    let bytes = read_body(state, headers, body).await?;
    parse_chat_body(&bytes, &state.config, state.tuning.max_message_chars)
}

/// A JSON request body: `application/json` in UTF-8, within the size and time limits, and a
/// `T` (`shape` shows one in the error when it is not). Every failure is a 4xx.
async fn read_json_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    request: Request,
    shape: &str,
) -> Result<T, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = read_body(state, &parts.headers, body).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::invalid("the request body is not valid UTF-8"))?;
    serde_json::from_str(text)
        .map_err(|err| ApiError::invalid(format!("the request body is not {shape} ({err})")))
}

/// The bytes of a request body sent as `application/json` in UTF-8, refused when larger than
/// the limit or slower than the timeout.
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Bytes, ApiError> {
    if !is_json_content_type(headers) {
        return Err(ApiError::unsupported_media_type());
    }
    let limit = state.tuning.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::payload_too_large(limit));
    }
    tokio::time::timeout(state.tuning.body_timeout, read_limited(body, limit))
        .await
        .map_err(|_| ApiError::body_timeout(state.tuning.body_timeout))?
}

/// Checks the bytes of a chat request body: a JSON object with a non-empty `message` of at
/// most `max_chars` characters, an optional `session_id` in UUID form, an optional `model`
/// from `config`'s allowlist and, with a `session_id`, an optional message id in `replaces`.
/// Every refusal is a 400.
pub fn parse_chat_body(
    bytes: &[u8],
    config: &Config,
    max_chars: usize,
) -> Result<ChatInput, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::invalid("the request body is not valid UTF-8"))?;
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::invalid(
            "the request body is not a JSON object; send {\"message\": \"...\", \"session_id\"?: \"...\", \"model\"?: \"...\"}",
        ));
    }
    let body: ChatBody = serde_json::from_str(text).map_err(|err| {
        if err.is_data() {
            ApiError::invalid(format!(
                "the request body is not a chat request ({err}); send {{\"message\": \"...\", \"session_id\"?: \"...\", \"model\"?: \"...\"}}"
            ))
        } else {
            ApiError::invalid(format!("the request body is not valid JSON ({err})"))
        }
    })?;

    if body.message.trim().is_empty() {
        return Err(ApiError::invalid("the message is empty"));
    }
    if body.message.chars().count() > max_chars {
        return Err(ApiError::invalid(format!(
            "the message is longer than {max_chars} characters"
        )));
    }
    if body.message.contains('\0') {
        return Err(ApiError::invalid("the message contains a NUL character"));
    }
    let session = match body.session_id.as_deref() {
        None => None,
        Some(text) => Some(SessionId::parse(text).ok_or_else(|| {
            ApiError::invalid("session_id is not a session id (a UUID such as 0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10)")
        })?),
    };
    let replaces = match body.replaces.as_deref() {
        None => None,
        Some(_) if session.is_none() => {
            return Err(ApiError::invalid(
                "replaces names a message of a conversation: send its session_id too",
            ));
        }
        Some(text) => Some(MessageId::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "replaces is not a message id (such as 1744202096789-0000000042-a1b2c3d4)",
            )
        })?),
    };
    let model = config
        .resolve_model(body.model.as_deref())
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "the model {} is not available here; GET {API_PREFIX}/models lists the ones that are",
                body.model.as_deref().unwrap_or_default()
            ))
        })?;
    Ok(ChatInput {
        message: body.message,
        session,
        replaces,
        model,
    })
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    if essence != "application/json" {
        return false;
    }
    parts.all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

async fn read_limited(body: axum::body::Body, limit: usize) -> Result<Bytes, ApiError> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::payload_too_large(limit))
        }
        Err(_) => Err(ApiError::invalid("the request body could not be read")),
    }
}

fn session_id(path: Result<Path<String>, PathRejection>) -> Result<SessionId, ApiError> {
    let Path(text) =
        path.map_err(|_| ApiError::invalid("the session id in the path is malformed"))?;
    SessionId::parse(&text)
        .ok_or_else(|| ApiError::invalid("the session id in the path is not a session id (a UUID)"))
}

async fn session_messages(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = session_id(path)?;
    let messages = state
        .store
        .recent_messages(session, state.tuning.history_page)
        .await
        .map_err(|err| store_failed(&state, &err))?;
    if messages.is_empty() {
        return Err(ApiError::not_found("there is no session with this id"));
    }
    let messages: Vec<Value> = messages.iter().map(messages::message_json).collect();
    Ok(Json(
        json!({"session_id": session.to_string(), "messages": messages}),
    ))
}

async fn delete_session(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let session = session_id(path)?;
    match state.store.delete_session(session).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::not_found("there is no session with this id")),
        Err(err) => Err(store_failed(&state, &err)),
    }
}

/// `GET /api/sessions?limit=N&cursor=C` (`users` mode): the caller's chats, newest activity
/// first. A public environment has no list on the server: 404, and the page keeps its own.
async fn list_sessions(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let Some(user) = user_of(request.extensions()) else {
        return Err(ApiError::not_found(
            "this chatbot keeps no list of chats: it is public, without sign-in",
        ));
    };
    let max = state.tuning.sessions_page_max;
    let mut limit = state.tuning.sessions_page_default;
    let mut cursor = None;
    for (name, value) in
        url_pairs(request.uri().query().unwrap_or_default()).map_err(ApiError::invalid)?
    {
        match name.as_str() {
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid(format!("limit is a whole number from 1 to {max}"))
                    })?;
            }
            "cursor" => {
                cursor = Some(SessionCursor::parse(&value).ok_or_else(|| {
                    ApiError::invalid("cursor is not one this API gave out (next_cursor)")
                })?);
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown query parameter {other:?}; use limit and cursor"
                )));
            }
        }
    }
    let owner = Owner::new(user.id.clone());
    let page = state
        .store
        .list_sessions(&owner, limit, cursor.as_ref())
        .await
        .map_err(|err| store_failed(&state, &err))?;
    let sessions: Vec<Value> = page.sessions.iter().map(session_json).collect();
    Ok(Json(json!({
        "sessions": sessions,
        "next_cursor": page.next.map(|cursor| cursor.encode()),
    })))
}

/// The name/value pairs of a query string, percent-decoded (`+` is a space).
fn url_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    let decode = |text: &str| -> Result<String, String> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = text
                        .get(i + 1..i + 3)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or("the query string has a malformed %-escape")?;
                    out.push(hex);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| "the query string is not UTF-8".to_owned())
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

/// A chat as the list and a rename show it.
fn session_json(summary: &SessionSummary) -> Value {
    json!({
        "id": summary.id.to_string(),
        "title": summary.title,
        "created_at": crate::clock::rfc3339_ms(summary.created_at_ms),
        "updated_at": crate::clock::rfc3339_ms(summary.updated_at_ms),
        "message_count": summary.messages,
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    title: String,
}

/// `PATCH /api/sessions/{id}` with `{"title": "..."}` (`users` mode): renames the caller's
/// chat (the sign-in layer has already answered 404 for anyone else's).
async fn rename_session(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let session = session_id(path)?;
    let Some(user) = user_of(request.extensions()).cloned() else {
        return Err(ApiError::not_found(
            "chats have no titles on the server in a public chatbot",
        ));
    };
    let body: RenameBody = read_json_body(&state, request, "{\"title\": \"...\"}").await?;
    let title = body.title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        return Err(ApiError::invalid("the title is empty"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::invalid(format!(
            "the title is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    match state
        .store
        .rename_session(session, &Owner::new(user.id), &title)
        .await
    {
        Ok(Some(summary)) => Ok(Json(session_json(&summary))),
        Ok(None) => Err(no_such_session()),
        Err(err) => Err(store_failed(&state, &err)),
    }
}

/// Counts and logs a store failure that ends the request, and answers it; a chat of someone
/// else's is answered as if it did not exist.
pub(crate) fn store_failed(state: &AppState, err: &crate::store::StoreError) -> ApiError {
    if matches!(err, crate::store::StoreError::NotOwner) {
        return no_such_session();
    }
    state.store_failed(err);
    ApiError::store_unavailable()
}

/// What the page needs before the first message: the models, whether the offline demo model
/// answers, the prompts it offers on an empty chat and the largest message it may send.
async fn models(State(state): State<Arc<AppState>>) -> Json<Value> {
    let auth = match state.config.auth.users() {
        None => json!({"mode": chatbot_contract::env_vars::auth_mode::PUBLIC}),
        Some(users) => json!({
            "mode": chatbot_contract::env_vars::auth_mode::USERS,
            "issuer": users.issuer,
            "client_id": users.client_id,
            "authorize_url": users.authorize_url,
            "token_url": users.token_url,
            "logout_url": users.logout_url,
            "scopes": chatbot_contract::AUTH_SCOPES,
        }),
    };
    Json(json!({
        "auth": auth,
        "default": state.config.default_model,
        "models": state.config.models,
        "demo": state.model.is_demo(),
        "starter_prompts": state.config.starter_prompts,
        "limits": {
            "message_chars": state.tuning.max_message_chars,
            "request_bytes": state.tuning.max_body_bytes,
        },
    }))
}

async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "environment": state.config.environment,
        "demo": state.model.is_demo(),
    }))
}

/// The OpenAPI document of the routes, from the same list the template's API uses.
async fn openapi(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(openapi::document(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths() {
        assert!(is_api_path("/api"));
        assert!(is_api_path("/api/chat"));
        assert!(is_api_path("/api/"));
        assert!(!is_api_path("/apis"));
        assert!(!is_api_path("/"));
        assert!(!is_api_path("/index.html"));
    }

    #[test]
    fn json_content_types() {
        let check = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json_content_type(&headers)
        };
        assert!(check("application/json"));
        assert!(check("Application/JSON; charset=UTF-8"));
        assert!(check("application/json;charset=\"utf-8\""));
        assert!(!check("application/json; charset=latin1"));
        assert!(!check("text/plain"));
        assert!(!check("application/jsonx"));
        assert!(!is_json_content_type(&HeaderMap::new()));
    }
}
