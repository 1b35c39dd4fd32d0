//! `users` mode at the door: every `/api` request but the public routes must carry a valid
//! access token, checked before the handler runs, so a refused request reaches neither the
//! rate limit, the store nor the model. The person it names rides on the request as
//! [`User`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::ApiError;
use crate::auth::{Refusal, User, Verifier};
use crate::state::AppState;
use crate::store::{Owner, Ownership, SessionId};
use chatbot_contract::{ROUTES, unauthorized};

/// What the sign-in layer shares between requests.
pub(super) struct SignIn {
    pub state: Arc<AppState>,
    pub verifier: Verifier,
}

pub(super) async fn require_user(
    State(sign_in): State<Arc<SignIn>>,
    mut request: Request,
    next: Next,
) -> Response {
    if !needs_user(request.uri().path()) {
        return next.run(request).await;
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match sign_in.verifier.verify(authorization).await {
        Ok(user) => {
            if let Some(session) = session_in_path(request.uri().path()) {
                let owner = Owner::new(user.id.clone());
                match sign_in.state.store.ownership(session).await {
                    Ok(Ownership::Owned(found)) if found == owner => {}
                    Ok(_) => return super::no_such_session().into_response(),
                    Err(err) => return super::store_failed(&sign_in.state, &err).into_response(),
                }
            }
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(refusal) => {
            sign_in
                .state
                .metrics
                .count(chatbot_contract::metrics::UNAUTHORIZED);
            tracing::info!(reason = %refusal, "request refused: no valid access token");
            refused(&refusal)
        }
    }
}

/// The session of a `/api/sessions/{id}...` path, whose routes answer only the chat's owner
/// (anyone else gets the 404 of a chat that does not exist). A malformed id is left to the
/// route, which refuses it.
fn session_in_path(path: &str) -> Option<SessionId> {
    let rest = path.strip_prefix("/api/sessions/")?;
    SessionId::parse(rest.split('/').next().unwrap_or_default())
}

/// Whether `path` is an API path that needs a signed-in person: every `/api` path but the
/// public routes (health, models, the OpenAPI document).
fn needs_user(path: &str) -> bool {
    super::is_api_path(path)
        && !ROUTES
            .iter()
            .any(|route| !route.signed_in && route.path == path)
}

/// `401` with the RFC 6750 challenge (no `error` when no token was sent), or `503` when the
/// issuer's keys cannot be had.
fn refused(refusal: &Refusal) -> Response {
    let realm = unauthorized::REALM;
    let challenge = match refusal {
        Refusal::Missing => format!("Bearer realm=\"{realm}\""),
        Refusal::Invalid(reason) => format!(
            "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{}\"",
            reason.replace(['"', '\\'], "'")
        ),
        Refusal::KeysUnavailable(_) => {
            return ApiError {
                retry_after: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "auth_unavailable",
                    "sign-in cannot be checked right now, try again shortly",
                )
            }
            .into_response();
        }
    };
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        unauthorized::CODE,
        refusal.to_string(),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The signed-in person of a request in `users` mode; `None` in a public environment.
pub fn user_of(extensions: &http::Extensions) -> Option<&User> {
    extensions.get::<User>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_routes_need_no_user() {
        assert!(!needs_user("/api/health"));
        assert!(!needs_user("/api/models"));
        assert!(!needs_user("/api/openapi.json"));
        assert!(!needs_user("/"));
        assert!(!needs_user("/index.html"));
        assert!(needs_user("/api/chat"));
        assert!(needs_user("/api/sessions"));
        assert!(needs_user("/api/health/"));
        assert!(needs_user("/api/nothing-here"));
    }
}
