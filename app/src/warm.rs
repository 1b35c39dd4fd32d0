//! Opening the connections a chat turn needs while Lambda initialises the function, before it
//! asks for the first event.
//!
//! A cold chat turn otherwise opens them on its critical path, one after the other: DNS, TCP
//! and TLS to DynamoDB before the rate limit is checked, then again to Bedrock before the
//! model is called, with the process's first TLS handshakes paying for the TLS library's
//! one-time set-up. Here both open at once, during INIT, which Lambda may run before any
//! request arrives (provisioned concurrency, environments started ahead of demand) and which
//! otherwise precedes the first request anyway.
//!
//! - The store reads today's token spend once, a request every chat turn makes, through the
//!   SDK client the turns use: it opens the connection and takes the SDK's first-request work
//!   (credentials, endpoint rules, signing) out of the first turn.
//! - Bedrock gets an unsigned `GET /` through the same connector the model's client uses
//!   (see [`crate::https::Https::open`]): no model is invoked and nothing is billed.
//!
//! Both are single attempts bounded by [`LIMIT`]: an in-region round trip takes milliseconds,
//! and an endpoint that is missing or refuses the handshake costs INIT no more than that. A
//! failure is logged and the function starts anyway; the first turn opens its own connections
//! when these are missing.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_bedrockruntime::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::service_config::ServiceConfigKey;

use crate::clock;
use crate::https::{Https, TrustedRoots};
use crate::store::Store;

/// How long INIT waits for the connections.
pub const LIMIT: Duration = Duration::from_millis(500);

/// The model's endpoint and the timeouts its client sends with.
pub struct ModelEndpoint {
    pub url: String,
    pub timeouts: Option<TimeoutConfig>,
}

/// What the warm-up did, for the start-up log.
#[derive(Debug)]
pub struct WarmUp {
    pub store: Result<(), String>,
    /// The status Bedrock's endpoint answered `GET /` with.
    pub model: Result<u16, String>,
    pub elapsed: Duration,
}

/// Opens the store's and the model's connections at once, within [`LIMIT`]. `model` is the
/// model's endpoint, or why it could not be resolved.
pub async fn open_connections(
    store: &Store,
    https: &Https,
    model: Result<ModelEndpoint, String>,
) -> WarmUp {
    let started = Instant::now();
    let store_call = async {
        let today = clock::utc_day(clock::now_ms().div_euclid(1000));
        store
            .open_connection(&today)
            .await
            .map_err(|err| err.to_string())
    };
    let model_call = async {
        let model = model?;
        https.open(&model.url, model.timeouts.as_ref()).await
    };
    let both = async { tokio::join!(store_call, model_call) };
    let (store, model) = match tokio::time::timeout(LIMIT, both).await {
        Ok(results) => results,
        Err(_) => {
            let late = format!("not done within {} ms", LIMIT.as_millis());
            (Err(late.clone()), Err(late))
        }
    };
    WarmUp {
        store,
        model,
        elapsed: started.elapsed(),
    }
}

impl WarmUp {
    /// The start-up log line: what is trusted, how long the warm-up took, and what failed.
    pub fn log(&self, roots: &TrustedRoots) {
        if self.store.is_err() || self.model.is_err() {
            let failure = |result: Result<(), &String>| match result {
                Ok(()) => "open".to_owned(),
                Err(err) => err.clone(),
            };
            tracing::warn!(
                store = %failure(self.store.as_ref().map(|_| ())),
                model = %failure(self.model.as_ref().map(|_| ())),
                "could not open every connection ahead of the first request; the first turn will"
            );
        }
        tracing::info!(
            trusted_roots = %roots.describe(),
            warm_up_ms = self.elapsed.as_millis() as u64,
            "ready"
        );
    }
}

/// The URL the Bedrock Runtime client sends to, resolved by the SDK's own endpoint rules from
/// the same settings a client built from `sdk` uses: region, FIPS and dual-stack, and an
/// endpoint URL from `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL` or the profile.
pub async fn bedrock_endpoint(sdk: &SdkConfig) -> Result<String, String> {
    let configured = ServiceConfigKey::builder()
        .service_id("Bedrock Runtime")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()
        .and_then(|key| sdk.service_config()?.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_owned));
    let params = Params::builder()
        .set_region(sdk.region().map(|region| region.to_string()))
        .use_fips(sdk.use_fips().unwrap_or(false))
        .use_dual_stack(sdk.use_dual_stack().unwrap_or(false))
        .set_endpoint(configured)
        .build()
        .map_err(|err| err.to_string())?;
    let endpoint = DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .map_err(|err| err.to_string())?;
    Ok(endpoint.url().to_owned())
}
