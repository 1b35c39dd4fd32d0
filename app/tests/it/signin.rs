//! Sign-in (`users` mode): every token the API must refuse gets 401 with a `WWW-Authenticate`
//! challenge and reaches neither the store nor the model; a valid one gets through. Tokens come
//! from a stand-in OpenID issuer with keys made here ([`testkit::issuer`]), whose key set the
//! service fetches over HTTP, as it would from any issuer.

use std::time::Duration;

use chatbot::Config;
use chatbot::auth::VerifierTuning;
use chatbot::contract::env_vars as var;
use chatbot::store::Store;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::bedrock::Options;
use testkit::issuer::{Issuer, SigningKey, sign_with};

use crate::support::{self, ConfigVars, Reply, Service};

const CLIENT: &str = "page-client";

struct SignedIn {
    issuer: Issuer,
    service: Service,
}

async fn start(refetch_interval: Duration) -> SignedIn {
    let issuer = Issuer::start().await.expect("the issuer starts");
    issuer.publish("k1", SigningKey::rsa());
    let config = users_config(&issuer, 100, 60, 1_000_000);
    let tuning = chatbot::Tuning {
        verifier: VerifierTuning {
            refetch_interval,
            ..VerifierTuning::default()
        },
        ..support::tuning()
    };
    let service = Service::start_configured(Options::default(), config, tuning).await;
    SignedIn { issuer, service }
}

/// `users` mode signing in at `issuer`, with these per-person limits, through the function's
/// variables.
fn users_config(
    issuer: &Issuer,
    rate_limit: u32,
    rate_window_seconds: u32,
    daily_token_quota: u64,
) -> Config {
    ConfigVars::standard()
        .with(var::AUTH_MODE, var::auth_mode::USERS)
        .with(var::AUTH_ISSUER, issuer.url.clone())
        .with(var::AUTH_JWKS_URL, issuer.jwks_url.clone())
        .with(var::AUTH_CLIENT_ID, CLIENT)
        .with(var::AUTH_AUTHORIZE_URL, format!("{}/auth", issuer.url))
        .with(var::AUTH_TOKEN_URL, format!("{}/token", issuer.url))
        .with(var::AUTH_LOGOUT_URL, format!("{}/session/end", issuer.url))
        .with(var::USER_RATE_LIMIT, rate_limit.to_string())
        .with(
            var::USER_RATE_WINDOW_SECONDS,
            rate_window_seconds.to_string(),
        )
        .with(var::USER_DAILY_TOKEN_QUOTA, daily_token_quota.to_string())
        .config()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims of a valid RFC 9068 access token for `sub`; tests change what they test.
fn access_claims(issuer: &Issuer, sub: &str) -> Value {
    json!({
        "iss": issuer.url,
        "sub": sub,
        "client_id": CLIENT,
        "aud": "chatbot",
        "scope": "openid email profile",
        "iat": now(),
        "exp": now() + 600,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn at_jwt() -> Value {
    json!({"typ": "at+jwt"})
}

impl SignedIn {
    async fn chat_with(&self, authorization: Option<&str>) -> Reply {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(value) = authorization {
            headers.push(("authorization", value));
        }
        self.service
            .request(
                Method::POST,
                "/api/chat",
                &headers,
                json!({"message": "Hello"}).to_string(),
            )
            .await
    }

    fn store_operations(&self) -> u64 {
        match &self.service.state.store {
            Store::Memory(store) => store.operations(),
            Store::Dynamo(_) => unreachable!("these tests use the memory store"),
        }
    }
}

/// A chat request with `authorization` is refused with 401, a challenge with `error` (or
/// none when `error` is `None`), a description containing `reason`, and no store or model call.
async fn check_refused(
    signed_in: &SignedIn,
    authorization: Option<&str>,
    error: Option<&str>,
    reason: &str,
) {
    let operations = signed_in.store_operations();
    let model_calls = signed_in.service.fake.calls().len();
    let reply = signed_in.chat_with(authorization).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{authorization:?}");
    assert_eq!(reply.error_code(), "unauthorized");
    let challenge = reply.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"chatbot\""),
        "{challenge}"
    );
    match error {
        Some(error) => {
            assert!(
                challenge.contains(&format!("error=\"{error}\"")),
                "{challenge}"
            );
            assert!(challenge.contains(reason), "{challenge} lacks {reason}");
        }
        None => assert!(!challenge.contains("error="), "{challenge}"),
    }
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains(reason), "{message} lacks {reason}");
    assert_eq!(
        signed_in.store_operations(),
        operations,
        "the store was touched"
    );
    assert_eq!(
        signed_in.service.fake.calls().len(),
        model_calls,
        "the model was called"
    );
}

#[tokio::test]
async fn a_valid_access_token_gets_an_answer() {
    let signed_in = start(Duration::from_secs(30)).await;
    let token = signed_in
        .issuer
        .sign("k1", at_jwt(), &access_claims(&signed_in.issuer, "alice"));
    let reply = signed_in.chat_with(Some(&format!("Bearer {token}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(signed_in.service.fake.calls().len(), 1);
}

#[tokio::test]
async fn a_cognito_access_token_gets_an_answer() {
    let signed_in = start(Duration::from_secs(30)).await;
    signed_in.issuer.publish("ec", SigningKey::p256());
    let mut claims = access_claims(&signed_in.issuer, "bob");
    claims["token_use"] = json!("access");
    claims["username"] = json!("bob");
    let token = signed_in.issuer.sign("ec", json!({}), &claims);
    let reply = signed_in.chat_with(Some(&format!("Bearer {token}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
}

#[tokio::test]
async fn a_request_without_a_token_is_refused() {
    let signed_in = start(Duration::from_secs(30)).await;
    check_refused(&signed_in, None, None, "needs an access token").await;
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let signed_in = start(Duration::from_secs(30)).await;
    for header in [
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer !!!.???.***",
        "Basic YWxpY2U6c2VjcmV0",
    ] {
        check_refused(&signed_in, Some(header), Some("invalid_token"), "").await;
    }
    // A token signed with `none` is never accepted.
    let claims = access_claims(&signed_in.issuer, "alice");
    let unsigned = format!(
        "{}.{}.",
        base64_url(&json!({"alg": "none", "kid": "k1", "typ": "at+jwt"})),
        base64_url(&claims)
    );
    check_bearer_refused(&signed_in, &unsigned, "RS256 and ES256").await;
}

fn base64_url(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn a_token_with_a_wrong_signature_is_refused() {
    let signed_in = start(Duration::from_secs(30)).await;
    // Signed with a key of the same id the issuer never published.
    let forged = sign_with(
        &SigningKey::rsa(),
        "k1",
        at_jwt(),
        &access_claims(&signed_in.issuer, "alice"),
    );
    check_bearer_refused(&signed_in, &forged, "signature does not verify").await;
    // A genuine token whose claims were changed after signing.
    let genuine = signed_in
        .issuer
        .sign("k1", at_jwt(), &access_claims(&signed_in.issuer, "alice"));
    let parts: Vec<&str> = genuine.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64_url(&access_claims(&signed_in.issuer, "mallory")),
        parts[2]
    );
    check_bearer_refused(&signed_in, &tampered, "signature does not verify").await;
}

/// A token's JOSE header and claims, before it is signed.
struct Token {
    header: Value,
    claims: Value,
}

/// A token signed with the issuer's key `k1`, made from a valid access token for alice by
/// `edit`, is refused as an `invalid_token` whose description contains `reason`.
async fn check_token_refused(edit: impl FnOnce(&mut Token), reason: &str) {
    let signed_in = start(Duration::from_secs(30)).await;
    let mut token = Token {
        header: at_jwt(),
        claims: access_claims(&signed_in.issuer, "alice"),
    };
    edit(&mut token);
    let signed = signed_in.issuer.sign("k1", token.header, &token.claims);
    check_bearer_refused(&signed_in, &signed, reason).await;
}

/// `Bearer token` is refused as an `invalid_token` whose description contains `reason`.
async fn check_bearer_refused(signed_in: &SignedIn, token: &str, reason: &str) {
    check_refused(
        signed_in,
        Some(&format!("Bearer {token}")),
        Some("invalid_token"),
        reason,
    )
    .await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    check_token_refused(
        |token| token.claims["iss"] = json!("https://login.example.com/other"),
        "another issuer",
    )
    .await;
}

#[tokio::test]
async fn a_token_for_another_client_is_refused() {
    check_token_refused(
        |token| token.claims["client_id"] = json!("another-app"),
        "another client",
    )
    .await;
}

#[tokio::test]
async fn a_token_without_a_client_is_refused() {
    check_token_refused(
        |token| {
            token.claims.as_object_mut().unwrap().remove("client_id");
        },
        "another client",
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    check_token_refused(
        |token| {
            // Past the minute of leeway for clocks.
            token.claims["iat"] = json!(now() - 3_600);
            token.claims["exp"] = json!(now() - 120);
        },
        "expired",
    )
    .await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    check_token_refused(
        |token| token.claims["nbf"] = json!(now() + 600),
        "not valid yet",
    )
    .await;
}

/// An OpenID Connect ID token from the same issuer as `access`: the client is its audience, no
/// client_id, typ JWT.
fn id_token(access: &Token) -> Token {
    Token {
        header: json!({"typ": "JWT"}),
        claims: json!({
            "iss": access.claims["iss"],
            "sub": "alice",
            "aud": CLIENT,
            "iat": now(),
            "exp": now() + 600,
            "email": "alice@example.com",
        }),
    }
}

#[tokio::test]
async fn an_id_token_is_refused() {
    check_token_refused(
        |token| *token = id_token(token),
        "ID tokens are not accepted",
    )
    .await;
}

#[tokio::test]
async fn a_cognito_id_token_is_refused() {
    // Cognito's: token_use says so.
    check_token_refused(
        |token| {
            *token = id_token(token);
            token.header = json!({});
            token.claims["token_use"] = json!("id");
            token.claims["client_id"] = json!(CLIENT);
        },
        "ID token",
    )
    .await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_a_withdrawn_one_refused() {
    let signed_in = start(Duration::ZERO).await;
    let issuer = &signed_in.issuer;
    let old = issuer.sign("k1", at_jwt(), &access_claims(issuer, "alice"));
    let reply = signed_in.chat_with(Some(&format!("Bearer {old}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(issuer.fetches(), 1);

    // The issuer rotates: a new key signs, the old one is withdrawn.
    issuer.publish("k2", SigningKey::rsa());
    issuer.withdraw("k1");
    let new = issuer.sign("k2", at_jwt(), &access_claims(issuer, "alice"));
    let reply = signed_in.chat_with(Some(&format!("Bearer {new}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(issuer.fetches(), 2, "the unknown key id made one fetch");
    let reply = signed_in.chat_with(Some(&format!("Bearer {new}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        issuer.fetches(),
        2,
        "a known key id is served from the cache"
    );

    check_bearer_refused(&signed_in, &old, "does not publish").await;
}

#[tokio::test]
async fn unknown_key_ids_fetch_the_keys_at_most_once_per_interval() {
    let signed_in = start(Duration::from_secs(3_600)).await;
    let issuer = &signed_in.issuer;
    let token = issuer.sign("k1", at_jwt(), &access_claims(issuer, "alice"));
    assert_eq!(
        signed_in
            .chat_with(Some(&format!("Bearer {token}")))
            .await
            .status,
        StatusCode::OK
    );
    for i in 0..5 {
        let made_up = sign_with(
            &SigningKey::p256(),
            &format!("made-up-{i}"),
            at_jwt(),
            &access_claims(issuer, "alice"),
        );
        check_bearer_refused(&signed_in, &made_up, "does not publish").await;
    }
    assert_eq!(issuer.fetches(), 1);
}

#[tokio::test]
async fn public_routes_stay_open_and_models_describe_sign_in() {
    let signed_in = start(Duration::from_secs(30)).await;
    for path in ["/api/health", "/api/openapi.json"] {
        assert_eq!(
            signed_in.service.get(path).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    let openapi = signed_in.service.get("/api/openapi.json").await.json();
    assert_eq!(
        openapi["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        openapi["paths"]["/api/chat"]["post"]["security"],
        json!([{"bearer": []}])
    );
    assert!(openapi["paths"]["/api/sessions"]["get"].is_object());
    assert!(openapi["paths"]["/api/sessions/{id}"]["patch"].is_object());
    assert!(
        openapi["paths"]["/api/health"]["get"]
            .get("security")
            .is_none()
    );
    let models = signed_in.service.get("/api/models").await;
    assert_eq!(models.status, StatusCode::OK);
    let auth = &models.json()["auth"];
    assert_eq!(auth["mode"], "users");
    assert_eq!(auth["issuer"], json!(signed_in.issuer.url));
    assert_eq!(auth["client_id"], CLIENT);
    assert_eq!(auth["scopes"], json!(["openid", "email", "profile"]));
    for path in [
        "/api/sessions",
        "/api/sessions/0b5e6f1c-8d1a-4c49-9c11-3f0d2d6e7a10/messages",
        "/api/nothing-here",
    ] {
        let reply = signed_in.service.get(path).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(
        signed_in.issuer.fetches(),
        0,
        "no key fetched without a token"
    );
}

impl SignedIn {
    fn bearer(&self, sub: &str) -> String {
        let token = self
            .issuer
            .sign("k1", at_jwt(), &access_claims(&self.issuer, sub));
        format!("Bearer {token}")
    }

    async fn call(&self, sub: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        let bearer = self.bearer(sub);
        let mut headers = vec![("authorization", bearer.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.service.request(method, path, &headers, body).await
    }

    async fn chat_as(&self, sub: &str, body: Value) -> Reply {
        self.call(sub, Method::POST, "/api/chat", Some(body)).await
    }
}

#[tokio::test]
async fn a_persons_chats_are_listed_renamed_and_deleted_and_nobody_elses() {
    let signed_in = start(Duration::from_secs(30)).await;
    let first = signed_in
        .chat_as("alice", json!({"message": "Plan a trip to Lisbon"}))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let chat = first.json()["session_id"].as_str().unwrap().to_owned();
    let second = signed_in
        .chat_as("alice", json!({"message": "Another chat"}))
        .await
        .json()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let list = signed_in
        .call("alice", Method::GET, "/api/sessions", None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    let ids: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), chat.as_str()]);
    assert_eq!(list["sessions"][1]["title"], "Plan a trip to Lisbon");
    assert_eq!(list["sessions"][1]["message_count"], 2);
    assert_eq!(list["next_cursor"], Value::Null);

    let page = signed_in
        .call("alice", Method::GET, "/api/sessions?limit=1", None)
        .await
        .json();
    assert_eq!(page["sessions"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = signed_in
        .call(
            "alice",
            Method::GET,
            &format!("/api/sessions?limit=1&cursor={cursor}"),
            None,
        )
        .await
        .json();
    assert_eq!(rest["sessions"][0]["id"], json!(chat));
    for bad in [
        "/api/sessions?limit=0",
        "/api/sessions?limit=1000",
        "/api/sessions?cursor=nope",
        "/api/sessions?sort=asc",
    ] {
        let reply = signed_in.call("alice", Method::GET, bad, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // Bob sees none of it: every route answers as for a chat that does not exist.
    let bob_list = signed_in
        .call("bob", Method::GET, "/api/sessions", None)
        .await
        .json();
    assert_eq!(bob_list["sessions"], json!([]));
    let messages = format!("/api/sessions/{chat}/messages");
    let alice_messages = signed_in
        .call("alice", Method::GET, &messages, None)
        .await
        .json();
    let answer_id = alice_messages["messages"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attempts = [
        (Method::GET, messages.clone(), None),
        (
            Method::PATCH,
            format!("/api/sessions/{chat}"),
            Some(json!({"title": "Mine"})),
        ),
        (Method::DELETE, format!("/api/sessions/{chat}"), None),
        (
            Method::PUT,
            format!("/api/sessions/{chat}/messages/{answer_id}/feedback"),
            Some(json!({"rating": "down"})),
        ),
        (
            Method::POST,
            format!("/api/sessions/{chat}/messages/{answer_id}/stop"),
            Some(json!({"chars": 0})),
        ),
        (
            Method::POST,
            "/api/chat".to_owned(),
            Some(json!({"message": "hi", "session_id": chat})),
        ),
    ];
    let model_calls = signed_in.service.fake.calls().len();
    for (method, path, body) in attempts {
        let reply = signed_in.call("bob", method.clone(), &path, body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(reply.error_code(), "not_found");
    }
    assert_eq!(signed_in.service.fake.calls().len(), model_calls);
    let after = signed_in
        .call("alice", Method::GET, &messages, None)
        .await
        .json();
    assert_eq!(after, alice_messages, "Bob changed nothing");

    // Alice renames and deletes her own.
    let renamed = signed_in
        .call(
            "alice",
            Method::PATCH,
            &format!("/api/sessions/{chat}"),
            Some(json!({"title": "  Lisbon,  May "})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.json()["title"], "Lisbon, May");
    assert_eq!(renamed.json()["id"], json!(chat));
    for body in [
        json!({"title": " "}),
        json!({"title": "x".repeat(201)}),
        json!({"name": "x"}),
    ] {
        let reply = signed_in
            .call(
                "alice",
                Method::PATCH,
                &format!("/api/sessions/{chat}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }
    let deleted = signed_in
        .call(
            "alice",
            Method::DELETE,
            &format!("/api/sessions/{second}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let list = signed_in
        .call("alice", Method::GET, "/api/sessions", None)
        .await
        .json();
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(list["sessions"][0]["title"], "Lisbon, May");
}

#[tokio::test]
async fn chat_answers_carry_the_persons_limits_and_a_spent_quota_says_when_it_returns() {
    let issuer = Issuer::start().await.unwrap();
    issuer.publish("k1", SigningKey::rsa());
    let config = users_config(&issuer, 3, 3_600, 1);
    let service = Service::start_configured(Options::default(), config, support::tuning()).await;
    let signed_in = SignedIn { issuer, service };

    let first = signed_in
        .chat_as("carol", json!({"message": "Hello"}))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.headers["ratelimit-policy"],
        "\"turns\";q=3;w=3600, \"tokens\";q=1;w=86400"
    );
    let left = first.headers["ratelimit"].to_str().unwrap();
    assert!(left.starts_with("\"turns\";r=2;t="), "{left}");
    assert!(left.contains("\"tokens\";r=1;t="), "{left}");

    // The first answer spent more than the quota's one token.
    let second = signed_in
        .chat_as("carol", json!({"message": "Again"}))
        .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.error_code(), "quota_exhausted");
    let retry: u64 = second.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert!(
        second.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("midnight UTC")
    );
    let left = second.headers["ratelimit"].to_str().unwrap();
    assert!(left.contains("\"tokens\";r=0;"), "{left}");
    assert_eq!(signed_in.service.fake.calls().len(), 1);

    // Someone else has their own quota and window.
    let other = signed_in.chat_as("dave", json!({"message": "Hello"})).await;
    assert_eq!(other.status, StatusCode::OK);

    // The rate window counts turns per person: Carol's third turn is her last.
    let third = signed_in
        .chat_as("carol", json!({"message": "Once more"}))
        .await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    let fourth = signed_in
        .chat_as("carol", json!({"message": "And again"}))
        .await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fourth.error_code(), "rate_limited");
    assert!(
        fourth.headers["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"turns\";r=0;")
    );
}

#[tokio::test]
async fn a_public_chatbot_has_no_server_list_of_chats() {
    let service = Service::start().await;
    let reply = service.get("/api/sessions").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
    assert_eq!(
        service.get("/api/models").await.json()["auth"],
        json!({"mode": "public"})
    );
    let chat = service.chat(json!({"message": "Hello"})).await;
    assert!(chat.headers.get("ratelimit").is_none());
}
