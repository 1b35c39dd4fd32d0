//! Opening the connections a chat turn needs before a chat turn needs them.
//!
//! A cold chat turn otherwise opens them on its critical path: DNS, TCP and TLS to DynamoDB
//! before the rate limit is checked, and to Bedrock before the model is called. As soon as the
//! SDK's configuration is loaded, INIT starts opening [`STORE_CONNECTIONS`] to DynamoDB, then
//! one to Bedrock, with [`Https::open_early`]: handshakes only, no request, nothing read or
//! billed. The first requests the SDK clients send take them, ready or still opening, instead
//! of opening their own; so the handshakes run beside the rest of INIT, the Runtime API's
//! hand-out of the first event and the first request's own work, instead of after them.
//!
//! - DynamoDB gets [`STORE_CONNECTIONS`]: one for the day's spend, which INIT reads ahead of
//!   the first turn ([`read_spend`]), one for the turn's rate-window update. DynamoDB answers
//!   one request at a time per HTTP/1.1 connection, so requests out together each need their
//!   own; a turn that sends more (a session's history) opens the rest itself.
//! - Bedrock gets one, once the store's are open: it speaks HTTP/2, which carries concurrent
//!   streams on one connection, and it is needed only after the store's first round trip. On
//!   a CPU shared with the rest of INIT, every handshake at once would delay the store's.
//!
//! Their URLs come from the SDK's own endpoint rules, from the settings the clients use
//! ([`Endpoints::resolve`]). When DynamoDB's credentials carry an account ID, the SDK sends to
//! the account's own endpoint instead, and the early connections go unused (Lambda's
//! credentials, from environment variables, carry none). With a proxy set, they open through
//! its tunnel as any other connection does (see [`crate::https`]).
//!
//! # What waits for them
//!
//! [`Schedule`] decides, from `AWS_LAMBDA_INITIALIZATION_TYPE`. Lambda freezes the process
//! between invokes: once the runtime asks for the next event, nothing runs until an event is
//! handed out.
//!
//! - **On demand** (the usual cold start): a request is already waiting for INIT to end, so
//!   INIT asks for it without waiting for the connections, and reads the day's spend beside
//!   it. A first request that needs a connection waits for the early one it takes, which is
//!   already part-way open. One that needs none (the health check) answers at once; the
//!   connections then wait for the next requests, at most [`crate::https::EARLY_MAX_AGE`],
//!   and one the server closed meanwhile is not handed out.
//! - **Provisioned concurrency**: INIT runs ahead of demand and nobody waits for it, and the
//!   process is frozen as soon as INIT ends, which would stop a handshake half-way. INIT waits
//!   for the connections, at most [`LIMIT`]. They serve a first request that comes within
//!   [`crate::https::EARLY_MAX_AGE`]; a later one opens its own, as it would after that long in
//!   any pool. INIT does not read the spend: the first turn may come long after the budget's
//!   cache window.
//!
//! A connection that fails to open is logged and the function goes on: a request that took it
//! opens its own.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_types::service_config::ServiceConfigKey;

use crate::clock;
use crate::https::Https;
use crate::store::Store;

/// How long INIT waits for the connections when Lambda initialises ahead of demand, and how
/// long the start-up log waits to say how they went.
pub const LIMIT: Duration = Duration::from_millis(500);

/// How many connections to the store open early: the day's spend read and a first chat
/// turn's rate-window update, out together (see [`crate::chat`]).
pub const STORE_CONNECTIONS: usize = 2;

/// The variable Lambda sets to how it initialises the function.
pub const INITIALIZATION_TYPE: &str = "AWS_LAMBDA_INITIALIZATION_TYPE";

/// Whether INIT waits for the connections; see the module's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// INIT waits: Lambda initialises ahead of demand.
    DuringInit,
    /// INIT goes on: the connections open beside the first invoke.
    BesideFirstInvoke,
}

impl Schedule {
    pub fn from_env() -> Schedule {
        Schedule::for_initialization_type(std::env::var(INITIALIZATION_TYPE).ok().as_deref())
    }

    /// `provisioned-concurrency` waits during INIT. `on-demand`, no value (a local run) and
    /// any other value go on: a request may be waiting for INIT, and a connection that is not
    /// open in time costs a request no more than having none.
    pub fn for_initialization_type(value: Option<&str>) -> Schedule {
        match value {
            Some("provisioned-concurrency") => Schedule::DuringInit,
            _ => Schedule::BesideFirstInvoke,
        }
    }
}

/// Where the SDK clients send, or why that could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub store: Result<String, String>,
    pub model: Result<String, String>,
}

impl Endpoints {
    /// The URLs the DynamoDB and Bedrock Runtime clients built from `sdk` send to, by the
    /// SDK's own endpoint rules: region, FIPS and dual-stack, and an endpoint URL from
    /// `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL` or the profile.
    pub async fn resolve(sdk: &SdkConfig) -> Endpoints {
        Endpoints {
            store: dynamodb_endpoint(sdk).await,
            model: bedrock_endpoint(sdk).await,
        }
    }
}

/// Connections being opened; see [`open`].
#[derive(Debug)]
pub struct WarmingUp {
    started: Instant,
    opening: tokio::task::JoinHandle<(Result<usize, String>, Result<usize, String>)>,
}

/// Starts opening [`STORE_CONNECTIONS`] connections to the store, then, once they are open
/// (or failed), one to the model: the store's are needed first, and on a CPU shared by the
/// rest of INIT every handshake at once would delay them all.
pub fn open(https: &Https, endpoints: &Endpoints) -> WarmingUp {
    let start = |https: &Https, endpoint: &Result<String, String>, count| {
        let opening = endpoint
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|url| https.open_early(url, count));
        async move {
            match opening {
                Ok(opening) => opening.wait().await,
                Err(err) => Err(err),
            }
        }
    };
    let store = start(https, &endpoints.store, STORE_CONNECTIONS);
    let (https, model) = (https.clone(), endpoints.model.clone());
    let opening = tokio::spawn(async move {
        let store = store.await;
        let model = start(&https, &model, 1).await;
        (store, model)
    });
    WarmingUp {
        started: Instant::now(),
        opening,
    }
}

impl WarmingUp {
    /// Waits until every connection is open or failed, at most [`LIMIT`] from their start.
    pub async fn wait(self) -> WarmUp {
        let deadline = tokio::time::Instant::from_std(self.started + LIMIT);
        let (store, model) = match tokio::time::timeout_at(deadline, self.opening).await {
            Ok(Ok(results)) => results,
            Ok(Err(_)) => {
                let failed = "the task opening them failed".to_owned();
                (Err(failed.clone()), Err(failed))
            }
            Err(_) => {
                let late = format!("not open within {} ms", LIMIT.as_millis());
                (Err(late.clone()), Err(late))
            }
        };
        WarmUp {
            store,
            model,
            elapsed: self.started.elapsed(),
        }
    }
}

/// Reads the day's spend into the store's budget cache, for the first chat turn to find
/// there. On demand a request is waiting for INIT; a first chat turn would otherwise send this
/// read beside its rate-window update, and wait for both. Sent as INIT goes on, it takes the
/// first of the store's early connections, and the turn's update the next. A turn that starts
/// while the read is still out waits for it rather than sending another (one reader at a
/// time); after the budget's cache window a turn reads again.
pub async fn read_spend(store: &Store) -> Result<(), String> {
    let today = clock::utc_day(clock::now_ms().div_euclid(1000));
    store
        .spent(&today)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string())
}

/// How the early connections went, for the start-up log.
#[derive(Debug)]
pub struct WarmUp {
    /// How many of the store's opened, or the first failure.
    pub store: Result<usize, String>,
    pub model: Result<usize, String>,
    pub elapsed: Duration,
}

impl WarmUp {
    /// The warm-up's log line: what is trusted (`trusted_roots`, from
    /// [`crate::https::TrustedRoots::describe`]), what opened, how long it took, and what failed.
    pub fn log(&self, trusted_roots: &str, schedule: Schedule) {
        let describe = |opened: &Result<usize, String>| match opened {
            Ok(count) => format!("{count} open"),
            Err(err) => err.clone(),
        };
        let (store, model) = (describe(&self.store), describe(&self.model));
        if self.store.is_err() || self.model.is_err() {
            tracing::warn!(
                store,
                model,
                "could not open every connection ahead of the first request; requests open their own"
            );
        }
        tracing::info!(
            trusted_roots,
            store,
            model,
            warm_up_ms = self.elapsed.as_millis() as u64,
            warm_up = ?schedule,
            "warm-up over"
        );
    }
}

/// The URL a client of the SDK crate `$sdk` built from `$config` sends to, by that crate's own
/// endpoint rules; `$service_id` is the service's name in endpoint variables and profiles.
macro_rules! resolve_endpoint {
    ($sdk:ident, $config:expr, $service_id:literal) => {{
        use $sdk::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        let config: &SdkConfig = $config;
        let params = Params::builder()
            .set_region(config.region().map(|region| region.to_string()))
            .use_fips(config.use_fips().unwrap_or(false))
            .use_dual_stack(config.use_dual_stack().unwrap_or(false))
            .set_endpoint(configured_endpoint(config, $service_id))
            .build()
            .map_err(|err| err.to_string())?;
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .map_err(|err| err.to_string())?;
        Ok(endpoint.url().to_owned())
    }};
}

/// The URL the DynamoDB client sends to; see [`Endpoints::resolve`].
async fn dynamodb_endpoint(sdk: &SdkConfig) -> Result<String, String> {
    resolve_endpoint!(aws_sdk_dynamodb, sdk, "DynamoDB")
}

/// The URL the Bedrock Runtime client sends to; see [`Endpoints::resolve`].
async fn bedrock_endpoint(sdk: &SdkConfig) -> Result<String, String> {
    resolve_endpoint!(aws_sdk_bedrockruntime, sdk, "Bedrock Runtime")
}

/// The endpoint URL configured for `service_id` (as the SDK names the service), the way a
/// client built from `sdk` finds it: its own variable or profile key, else the shared ones.
fn configured_endpoint(sdk: &SdkConfig, service_id: &str) -> Option<String> {
    ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()
        .and_then(|key| sdk.service_config()?.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_owned))
}
