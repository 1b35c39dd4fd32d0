//! A stand-in OpenID issuer for the sign-in tests: signing keys made in the test (RSA and
//! P-256), their JSON Web Key Set served on 127.0.0.1, and tokens signed with any of them,
//! with whatever header and claims a test wants (an access token, an ID token, an expired
//! one...). Keys can be added and removed while it runs (a rotation), and it counts how
//! often the set was fetched.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A signing key of the issuer.
pub enum SigningKey {
    Rsa(RsaKeyPair),
    P256(EcdsaKeyPair),
}

impl SigningKey {
    pub fn rsa() -> SigningKey {
        SigningKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).expect("an RSA key"))
    }

    pub fn p256() -> SigningKey {
        SigningKey::P256(
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a P-256 key"),
        )
    }

    fn alg(&self) -> &'static str {
        match self {
            SigningKey::Rsa(_) => "RS256",
            SigningKey::P256(_) => "ES256",
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            SigningKey::Rsa(pair) => json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": b64(pair.public_key().modulus().big_endian_without_leading_zero()),
                "e": b64(pair.public_key().exponent().big_endian_without_leading_zero()),
            }),
            SigningKey::P256(pair) => {
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": kid,
                    "x": b64(&point[1..33]), "y": b64(&point[33..65]),
                })
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            SigningKey::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .expect("an RSA signature");
                signature
            }
            SigningKey::P256(pair) => pair
                .sign(&rng, message)
                .expect("an ECDSA signature")
                .as_ref()
                .to_vec(),
        }
    }
}

struct State {
    /// The published keys, by key id.
    keys: Mutex<Vec<(String, Arc<SigningKey>)>>,
    fetches: AtomicUsize,
}

/// The issuer, serving `GET /jwks.json` until dropped.
pub struct Issuer {
    pub url: String,
    pub jwks_url: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Issuer {
    /// An issuer on a free port of 127.0.0.1 publishing no key yet.
    pub async fn start() -> anyhow::Result<Issuer> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            keys: Mutex::new(Vec::new()),
            fetches: AtomicUsize::new(0),
        });
        let served = Arc::clone(&state);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&state, &request)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let url = format!("http://{address}");
        Ok(Issuer {
            jwks_url: format!("{url}/jwks.json"),
            url,
            state,
            server,
        })
    }

    /// Publishes `key` under `kid`.
    pub fn publish(&self, kid: &str, key: SigningKey) {
        self.keys().push((kid.to_owned(), Arc::new(key)));
    }

    /// Stops publishing the key `kid`.
    pub fn withdraw(&self, kid: &str) {
        self.keys().retain(|(id, _)| id != kid);
    }

    /// How often the key set was fetched.
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Vec<(String, Arc<SigningKey>)>> {
        self.state.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A compact JWT of `claims` with `header` (its `alg` filled in from the key), signed with
    /// the published key `kid`.
    pub fn sign(&self, kid: &str, header: Value, claims: &Value) -> String {
        let key = self
            .keys()
            .iter()
            .find(|(id, _)| id == kid)
            .map(|(_, key)| Arc::clone(key))
            .unwrap_or_else(|| panic!("no published key {kid}"));
        sign_with(&key, kid, header, claims)
    }
}

/// A compact JWT signed with `key`, whether published or not.
pub fn sign_with(key: &SigningKey, kid: &str, mut header: Value, claims: &Value) -> String {
    header["alg"] = json!(key.alg());
    header["kid"] = json!(kid);
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn answer(state: &State, request: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/jwks.json" {
        return Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
            .expect("a response");
    }
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = state
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(kid, key)| key.jwk(kid))
        .collect();
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(json!({ "keys": keys }).to_string())))
        .expect("a response")
}
