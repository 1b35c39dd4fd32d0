//! Who is calling, in `users` mode: the OAuth access token of `Authorization: Bearer <jwt>`,
//! checked against the issuer's published keys and the environment's issuer and app client.
//!
//! The same checks serve any OpenID Connect issuer (Amazon Cognito, `oidc-provider`, Entra
//! ID...):
//!
//! - the signature: RS256 or ES256, by a key of the issuer's JSON Web Key Set ([`jwks`]),
//!   fetched on the first token rather than at start (the cold path stays short), cached,
//!   fetched again at most once per interval when a token names a key id it does not hold
//!   (the issuer rotated its keys), and after a while in any case;
//! - `iss` equal to the issuer, `exp` in the future and `nbf` / `iat` not in the future, each
//!   within a small leeway for clocks;
//! - an access token for this app client: Cognito's (`token_use` = `access`, `client_id`) or
//!   RFC 9068's (header `typ` = `at+jwt`, `client_id`). ID tokens are refused: they are meant
//!   for the page, not for an API.

mod jwks;
mod jwt;

use std::time::Duration;

pub use jwks::{FetchJwks, KeySet};

use crate::config::UsersAuth;
pub use crate::config::VerifierTuning;

/// A signed-in person, as the verified access token names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The token's `sub`: stable for the person, unique at the issuer.
    pub id: String,
    /// A name to show: `name`, `username`, `email` or `preferred_username`, if the token has
    /// one.
    pub name: Option<String>,
}

/// Why a request was refused. `Missing` gets a bare challenge (RFC 6750 §3.1: no error code
/// for a request without credentials); the others are `invalid_token` with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("sign in: this request needs an access token (Authorization: Bearer <token>)")]
    Missing,
    #[error("{0}")]
    Invalid(String),
    /// The issuer's keys could not be fetched, so no token can be checked: the service's
    /// failure, not the caller's (503).
    #[error("the sign-in keys cannot be fetched right now: {0}")]
    KeysUnavailable(String),
}

impl Refusal {
    fn invalid(reason: impl Into<String>) -> Self {
        Refusal::Invalid(reason.into())
    }
}

/// Checks access tokens for one issuer and app client.
pub struct Verifier {
    issuer: String,
    client_id: String,
    leeway: Duration,
    keys: KeySet,
}

impl Verifier {
    pub fn new(auth: &UsersAuth, tuning: VerifierTuning, fetch: FetchJwks) -> Self {
        Verifier {
            issuer: auth.issuer.clone(),
            client_id: auth.client_id.clone(),
            leeway: tuning.leeway,
            keys: KeySet::new(fetch, tuning),
        }
    }

    /// The person an `Authorization` header's bearer token names, or why it does not.
    pub async fn verify(&self, authorization: Option<&[u8]>) -> Result<User, Refusal> {
        let Some(value) = authorization else {
            return Err(Refusal::Missing);
        };
        let value = std::str::from_utf8(value)
            .map_err(|_| Refusal::invalid("the Authorization header is not text"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(Refusal::invalid(
                    "the Authorization header is not a bearer token",
                ));
            }
        };
        let token = jwt::Token::parse(token)?;
        let key = self.keys.key(&token.header.kid).await?;
        token.verify_signature(&key)?;
        let now = crate::clock::now_ms().div_euclid(1000);
        token.claims.check(&jwt::Expected {
            issuer: &self.issuer,
            client_id: &self.client_id,
            rfc9068: token.header.is_access_token_type(),
            now,
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
        })?;
        Ok(token.claims.user())
    }
}
