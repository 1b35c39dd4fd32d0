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
//! - The store reads today's token spend, a request every chat turn makes, through the SDK
//!   client the turns use, [`STORE_CONNECTIONS`] times at once: that opens as many
//!   connections as a turn's first round trip sends requests together (DynamoDB answers one
//!   request at a time per HTTP/1.1 connection, so requests sent together each need their
//!   own), and takes the SDK's first-request work (credentials, endpoint rules, signing) out
//!   of the first turn.
//! - Bedrock gets an unsigned `GET /` through the same connector the model's client uses
//!   (see [`crate::https::Https::open`]): no model is invoked and nothing is billed.
//!
//! Both are single attempts bounded by [`LIMIT`]: an in-region round trip takes milliseconds,
//! and an endpoint that is missing or refuses the handshake costs INIT no more than that. A
//! failure is logged and the function starts anyway; the first turn opens its own connections
//! when these are missing.
//!
//! # When INIT waits for it
//!
//! [`Schedule`] decides, from `AWS_LAMBDA_INITIALIZATION_TYPE`. Lambda freezes the process
//! between invokes: once the runtime asks for the next event, nothing runs until an event is
//! handed out, so work started during INIT progresses only while INIT or an invoke runs.
//!
//! - **On demand** (the usual cold start): a request is already waiting for INIT to end. The
//!   warm-up runs in the background ([`in_background`]) and INIT asks for the first event at
//!   once. Requests that call no AWS service (the health check, the models list, the API
//!   document) answer without waiting for it; the others wait for [`Ready`] first (see
//!   [`crate::lambda::handler_after`]), so a chat turn uses the connections the warm-up opens
//!   instead of opening its own beside them, and pays only what of the warm-up is left.
//!   When the first request is a health check, the warm-up runs while that invoke runs and is
//!   frozen with the process when it ends; it resumes with the next invoke. Its bound is a
//!   deadline on the monotonic clock, which keeps counting while the process is frozen: after
//!   a freeze longer than [`LIMIT`], the next turn finds the warm-up given up at once and opens
//!   its own connections, so no turn ever waits for a handshake frozen half-way.
//! - **Provisioned concurrency**: INIT runs ahead of demand and nobody waits for it, and the
//!   process is frozen as soon as INIT ends, which would stop a background warm-up mid-way.
//!   INIT waits for it, so the first turn finds the connections open.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_bedrockruntime::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::service_config::ServiceConfigKey;
use tokio::sync::watch;

use crate::clock;
use crate::https::{Https, TrustedRoots};
use crate::store::Store;

/// How long the warm-up may take, from its start.
pub const LIMIT: Duration = Duration::from_millis(500);

/// The most store requests a chat turn sends at once: the rate window, the day's spend and
/// the history before the model is called; the answer, its session and the day's spend after
/// its last token (see [`crate::chat`]).
pub const STORE_CONNECTIONS: usize = 3;

/// The variable Lambda sets to how it initialises the function.
pub const INITIALIZATION_TYPE: &str = "AWS_LAMBDA_INITIALIZATION_TYPE";

/// Whether INIT waits for the warm-up; see the module's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// INIT waits for the warm-up: Lambda initialises ahead of demand.
    DuringInit,
    /// The warm-up runs beside the first invoke; requests that need AWS wait for it.
    BesideFirstInvoke,
}

impl Schedule {
    pub fn from_env() -> Schedule {
        Schedule::for_initialization_type(std::env::var(INITIALIZATION_TYPE).ok().as_deref())
    }

    /// `provisioned-concurrency` waits during INIT. `on-demand`, no value (a local run) and
    /// any other value run beside the first invoke: a request may be waiting for INIT, and a
    /// warm-up that does not finish costs a turn no more than having none.
    pub fn for_initialization_type(value: Option<&str>) -> Schedule {
        match value {
            Some("provisioned-concurrency") => Schedule::DuringInit,
            _ => Schedule::BesideFirstInvoke,
        }
    }
}

/// Opens once the warm-up is over, whether its connections opened or not.
#[derive(Clone, Debug)]
pub struct Ready(watch::Receiver<bool>);

impl Ready {
    /// Already open: the warm-up is over, or there is none.
    pub fn open() -> Ready {
        Ready(watch::channel(true).1)
    }

    /// Whether the warm-up is over: it said so, or its task ended without saying so.
    pub fn is_open(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Waits until the warm-up is over (at most [`LIMIT`] after it started).
    pub async fn wait(&self) {
        let mut receiver = self.0.clone();
        // An error means the warm-up's task ended without saying so (it panicked): over too.
        let _ = receiver.wait_for(|over| *over).await;
    }
}

/// Runs `warm_up` as a task of its own and returns what opens when it is over.
pub fn in_background<F>(warm_up: F) -> Ready
where
    F: Future<Output = ()> + Send + 'static,
{
    let (over, ready) = watch::channel(false);
    tokio::spawn(async move {
        warm_up.await;
        let _ = over.send(true);
    });
    Ready(ready)
}

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
        let reads = (0..STORE_CONNECTIONS).map(|_| store.open_connection(&today));
        futures_util::future::join_all(reads)
            .await
            .into_iter()
            .collect::<Result<Vec<()>, _>>()
            .map(|_| ())
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
    pub fn log(&self, roots: &TrustedRoots, schedule: Schedule) {
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
            warm_up = ?schedule,
            "warm-up over"
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
