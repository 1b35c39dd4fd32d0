//! The issuer's signing keys: a JSON Web Key Set fetched over HTTPS, cached, and fetched again
//! when a token names a key the cache lacks (at most once per interval) or the cache is old.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Refusal, VerifierTuning};
use crate::https::{Https, TrustedRoots};

/// Largest key set read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The signature algorithms accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Algorithm {
    Rs256,
    Es256,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name {
            "RS256" => Some(Algorithm::Rs256),
            "ES256" => Some(Algorithm::Es256),
            _ => None,
        }
    }
}

/// A public key of the set.
#[derive(Debug, Clone)]
pub(super) enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point: `04 || x || y`.
    P256(Vec<u8>),
}

impl PublicKey {
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), ()> {
        match (self, alg) {
            (PublicKey::Rsa { n, e }, Algorithm::Rs256) => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .map_err(|_| ()),
            (PublicKey::P256(point), Algorithm::Es256) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .map_err(|_| ())
            }
            _ => Err(()),
        }
    }
}

/// Where the keys come from: an HTTP(S) GET of the set's URL through an HTTPS client built on
/// the first fetch (so nothing of it runs at start).
pub struct FetchJwks {
    url: String,
    https: tokio::sync::OnceCell<Result<Https, String>>,
}

impl FetchJwks {
    pub fn new(url: impl Into<String>) -> Self {
        FetchJwks {
            url: url.into(),
            https: tokio::sync::OnceCell::new(),
        }
    }

    async fn fetch(
        &self,
        timeout: std::time::Duration,
    ) -> Result<HashMap<String, PublicKey>, String> {
        let https = self
            .https
            .get_or_init(|| async {
                TrustedRoots::from_env()
                    .map(|roots| Https::new(&roots))
                    .map_err(|err| err.to_string())
            })
            .await
            .as_ref()
            .map_err(Clone::clone)?;
        let (status, body) = tokio::time::timeout(timeout, https.get(&self.url, MAX_JWKS_BYTES))
            .await
            .map_err(|_| format!("{} did not answer within {timeout:?}", self.url))??;
        if status != 200 {
            return Err(format!("{} answered {status}", self.url));
        }
        parse_set(&body)
    }
}

/// The cached keys, by key id.
pub struct KeySet {
    fetch: FetchJwks,
    tuning: VerifierTuning,
    cache: Mutex<Cache>,
    /// Held while fetching, so concurrent requests wait for one fetch instead of each
    /// starting their own.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: Arc<HashMap<String, PublicKey>>,
    /// When the keys were last fetched successfully.
    fetched_at: Option<Instant>,
    /// When a fetch was last tried, successful or not.
    tried_at: Option<Instant>,
}

impl KeySet {
    pub fn new(fetch: FetchJwks, tuning: VerifierTuning) -> Self {
        KeySet {
            fetch,
            tuning,
            cache: Mutex::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The key `kid`, fetching the set when it is unknown (at most once per refetch interval)
    /// or the cache is older than its maximum age.
    pub(super) async fn key(&self, kid: &str) -> Result<PublicKey, Refusal> {
        if kid.is_empty() {
            return Err(Refusal::invalid("the token's header names no key (kid)"));
        }
        if let Some(key) = self.fresh_key(kid) {
            return Ok(key);
        }
        let _fetching = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.fresh_key(kid) {
            return Ok(key);
        }
        let (recently_tried, have_keys) = {
            let cache = self.cache();
            let recently_tried = cache
                .tried_at
                .is_some_and(|at| at.elapsed() < self.tuning.refetch_interval);
            (recently_tried, cache.fetched_at.is_some())
        };
        if !have_keys && recently_tried {
            return Err(Refusal::KeysUnavailable(
                "the last fetch failed moments ago".to_owned(),
            ));
        }
        if !recently_tried {
            self.cache().tried_at = Some(Instant::now());
            match self.fetch.fetch(self.tuning.fetch_timeout).await {
                Ok(keys) => {
                    tracing::info!(keys = keys.len(), "fetched the sign-in keys");
                    let mut cache = self.cache();
                    cache.keys = Arc::new(keys);
                    cache.fetched_at = Some(Instant::now());
                }
                Err(err) if have_keys => {
                    tracing::warn!(error = %err, "could not fetch the sign-in keys; using the ones held");
                }
                Err(err) => {
                    tracing::error!(error = %err, "could not fetch the sign-in keys");
                    return Err(Refusal::KeysUnavailable(err));
                }
            }
        }
        let keys = Arc::clone(&self.cache().keys);
        keys.get(kid).cloned().ok_or_else(|| {
            Refusal::invalid("the token is signed with a key the issuer does not publish")
        })
    }

    /// The key `kid` from a cache younger than its maximum age.
    fn fresh_key(&self, kid: &str) -> Option<PublicKey> {
        let cache = self.cache();
        let fresh = cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.tuning.max_age);
        fresh.then(|| cache.keys.get(kid).cloned()).flatten()
    }
}

#[derive(serde::Deserialize)]
struct SetJson {
    keys: Vec<KeyJson>,
}

#[derive(serde::Deserialize)]
struct KeyJson {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(rename = "use", default)]
    usage: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// The signing keys of a JWKS document by key id: RSA keys and P-256 EC keys with a `kid`;
/// encryption keys, other key types and keys without an id are left out.
fn parse_set(body: &[u8]) -> Result<HashMap<String, PublicKey>, String> {
    let set: SetJson = serde_json::from_slice(body)
        .map_err(|err| format!("the key set is not a JWKS document ({err})"))?;
    let decode = |part: &Option<String>| {
        part.as_deref()
            .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
    };
    let mut keys = HashMap::new();
    for key in set.keys {
        let Some(kid) = key.kid.clone() else { continue };
        if key.usage.as_deref().is_some_and(|usage| usage != "sig") {
            continue;
        }
        let public = match (key.kty.as_str(), key.alg.as_deref()) {
            ("RSA", None | Some("RS256")) => match (decode(&key.n), decode(&key.e)) {
                (Some(n), Some(e)) => PublicKey::Rsa { n, e },
                _ => continue,
            },
            ("EC", None | Some("ES256")) if key.crv.as_deref() == Some("P-256") => {
                match (decode(&key.x), decode(&key.y)) {
                    (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                        let mut point = Vec::with_capacity(65);
                        point.push(4);
                        point.extend_from_slice(&x);
                        point.extend_from_slice(&y);
                        PublicKey::P256(point)
                    }
                    _ => continue,
                }
            }
            _ => continue,
        };
        keys.insert(kid, public);
    }
    Ok(keys)
}
