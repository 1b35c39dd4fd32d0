//! A JSON Web Token in compact form: its parts decoded, its signature checked with a key of
//! the issuer's set, its claims checked against what this service expects.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::jwks::{Algorithm, PublicKey};
use super::{Refusal, User};

/// Longest token accepted; a Cognito access token is about 1 KB.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

pub(super) struct Token {
    pub header: Header,
    pub claims: Claims,
    /// `<header>.<payload>`, the bytes the signature covers.
    signed: String,
    signature: Vec<u8>,
}

#[derive(serde::Deserialize)]
pub(super) struct Header {
    alg: String,
    #[serde(default)]
    pub kid: String,
    #[serde(default)]
    typ: Option<String>,
}

impl Header {
    /// RFC 9068's access-token type, with or without its `application/` prefix.
    pub fn is_access_token_type(&self) -> bool {
        self.typ.as_deref().is_some_and(|typ| {
            let typ = typ.to_ascii_lowercase();
            typ == "at+jwt" || typ == "application/at+jwt"
        })
    }
}

/// The claims this service reads; others are ignored.
#[derive(serde::Deserialize)]
pub(super) struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    nbf: Option<serde_json::Number>,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(default)]
    token_use: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

pub(super) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The header says `at+jwt`.
    pub rfc9068: bool,
    /// Seconds since the epoch.
    pub now: i64,
    pub leeway: i64,
}

impl Token {
    pub fn parse(text: &str) -> Result<Token, Refusal> {
        if text.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::invalid("the token is too long"));
        }
        let malformed =
            || Refusal::invalid("the token is not a signed JWT (header.payload.signature)");
        let mut parts = text.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed());
        let header_json: Header = serde_json::from_slice(&decode(header)?)
            .map_err(|_| Refusal::invalid("the token's header is not a JWT header"))?;
        let claims: Claims = serde_json::from_slice(&decode(payload)?)
            .map_err(|_| Refusal::invalid("the token's claims are not a JSON object of claims"))?;
        let signature = decode(signature)?;
        Ok(Token {
            header: header_json,
            claims,
            signed: format!("{header}.{payload}"),
            signature,
        })
    }

    /// Checks the signature with `key`, which must be of the algorithm the header names.
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), Refusal> {
        let alg = Algorithm::parse(&self.header.alg).ok_or_else(|| {
            Refusal::invalid(format!(
                "the token is signed with {:?}; only RS256 and ES256 are accepted",
                self.header.alg
            ))
        })?;
        key.verify(alg, self.signed.as_bytes(), &self.signature)
            .map_err(|()| Refusal::invalid("the token's signature does not verify"))
    }
}

fn seconds(value: &Option<serde_json::Number>, name: &str) -> Result<Option<i64>, Refusal> {
    match value {
        None => Ok(None),
        Some(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| Refusal::invalid(format!("the token's {name} is not a time"))),
    }
}

impl Claims {
    pub fn check(&self, expected: &Expected<'_>) -> Result<(), Refusal> {
        if self.iss.as_deref() != Some(expected.issuer) {
            return Err(Refusal::invalid("the token is from another issuer"));
        }
        let exp = seconds(&self.exp, "exp")?
            .ok_or_else(|| Refusal::invalid("the token has no expiry (exp)"))?;
        if exp + expected.leeway <= expected.now {
            return Err(Refusal::invalid("the token has expired"));
        }
        if seconds(&self.nbf, "nbf")?.is_some_and(|nbf| nbf - expected.leeway > expected.now) {
            return Err(Refusal::invalid("the token is not valid yet (nbf)"));
        }
        if seconds(&self.iat, "iat")?.is_some_and(|iat| iat - expected.leeway > expected.now) {
            return Err(Refusal::invalid("the token was issued in the future (iat)"));
        }
        match self.token_use.as_deref() {
            Some("access") => {}
            Some("id") => {
                return Err(Refusal::invalid(
                    "this is an ID token; send the access token",
                ));
            }
            Some(_) => return Err(Refusal::invalid("the token is not an access token")),
            None if expected.rfc9068 => {}
            None => {
                return Err(Refusal::invalid(
                    "the token is not an access token (no token_use, no at+jwt type); ID tokens are not accepted",
                ));
            }
        }
        if self.client_id.as_deref() != Some(expected.client_id) {
            return Err(Refusal::invalid("the token was issued to another client"));
        }
        if self.sub.as_deref().is_none_or(str::is_empty) {
            return Err(Refusal::invalid("the token names no subject (sub)"));
        }
        Ok(())
    }

    /// The person, once [`check`](Self::check) passed.
    pub fn user(&self) -> User {
        let name = [
            &self.name,
            &self.username,
            &self.preferred_username,
            &self.email,
        ]
        .into_iter()
        .flatten()
        .find(|name| !name.trim().is_empty())
        .cloned();
        User {
            id: self.sub.clone().unwrap_or_default(),
            name,
        }
    }
}
