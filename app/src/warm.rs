//! Opening the connections a chat turn needs before a chat turn needs them.
//!
//! A cold chat turn otherwise opens them on its critical path, one after the other: DNS, TCP
//! and TLS to DynamoDB before the rate limit is checked, then again to Bedrock before the
//! model is called, with the process's first TLS handshakes paying for the TLS library's
//! one-time set-up. The warm-up opens them at once, in the background.
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
//! and an endpoint that is missing or refuses the handshake costs no more than that. A
//! failure is logged and the function goes on; the next turn opens its own connections.
//!
//! # When it runs, and what waits for it
//!
//! [`Schedule`] decides, from `AWS_LAMBDA_INITIALIZATION_TYPE`. Lambda freezes the process
//! between invokes: once the runtime asks for the next event, nothing runs until an event is
//! handed out, so work started during INIT progresses only while INIT or an invoke runs.
//!
//! - **On demand** (the usual cold start): a request is already waiting for INIT to end, so
//!   INIT asks for it at once and the warm-up starts with it ([`Gate::on_first_request`]),
//!   knowing what it is:
//!   - A first request that calls AWS (a chat turn) opens its store connections itself: its
//!     first round trip sends its requests together, which opens them as fast as a warm-up
//!     could, and a warm-up beside it would only make it wait for reads it does not need.
//!     Only Bedrock's connection opens in the background, while the turn's store round trip
//!     runs, ready for the model's call that follows it.
//!   - A first request that calls no AWS service (the health check, the models list, the API
//!     document: [`crate::lambda::WITHOUT_AWS`]) answers at once, and both connections open
//!     beside it. Later requests that call AWS wait for that warm-up to be over, so they use
//!     its connections instead of opening others beside them. If the invoke ends first, the
//!     warm-up is frozen with the process and resumes with the next invoke; its bound is a
//!     deadline on the monotonic clock, which keeps counting while the process is frozen, so
//!     after a freeze longer than [`LIMIT`] the next turn finds it given up at once and
//!     opens its own connections: no turn ever waits for a handshake frozen half-way.
//! - **Provisioned concurrency**: INIT runs ahead of demand and nobody waits for it, and the
//!   process is frozen as soon as INIT ends, which would stop a background warm-up mid-way.
//!   INIT opens both connections and waits for them, so the first turn finds them open.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_bedrockruntime::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::service_config::ServiceConfigKey;
use tokio::sync::watch;

use crate::clock;
use crate::https::Https;
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
    /// The warm-up starts with the first request, beside it: see [`Gate`].
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

/// What a warm-up opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The store's connections and the model's.
    StoreAndModel,
    /// The model's only: the request beside it opens the store's itself.
    Model,
}

impl Scope {
    /// What to open beside the first request: a request that calls AWS opens the store's
    /// connections itself.
    pub fn beside_first_request(calls_aws: bool) -> Scope {
        if calls_aws {
            Scope::Model
        } else {
            Scope::StoreAndModel
        }
    }
}

/// When the warm-up starts, and which requests wait for it.
#[derive(Clone)]
pub struct Gate(Arc<GateKind>);

enum GateKind {
    Open,
    OnFirstRequest {
        start: Box<dyn Fn(Scope) -> Ready + Send + Sync>,
        started: OnceLock<Ready>,
    },
}

impl Gate {
    /// Nothing to wait for: the warm-up is over (it ran during INIT), or there is none.
    pub fn open() -> Gate {
        Gate(Arc::new(GateKind::Open))
    }

    /// The first request starts the warm-up with `start`, given what to open beside it
    /// ([`Scope::beside_first_request`]), and waits for none of it; later requests that call
    /// AWS wait for it to be over.
    pub fn on_first_request(start: impl Fn(Scope) -> Ready + Send + Sync + 'static) -> Gate {
        Gate(Arc::new(GateKind::OnFirstRequest {
            start: Box::new(start),
            started: OnceLock::new(),
        }))
    }

    /// Called before each request is handled: starts the warm-up on the first one, and says
    /// what this one waits for, if anything.
    pub fn before_request(&self, calls_aws: bool) -> Option<Ready> {
        let GateKind::OnFirstRequest { start, started } = &*self.0 else {
            return None;
        };
        let mut first = false;
        let ready = started.get_or_init(|| {
            first = true;
            start(Scope::beside_first_request(calls_aws))
        });
        (calls_aws && !first).then(|| ready.clone())
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            GateKind::Open => f.write_str("Gate::Open"),
            GateKind::OnFirstRequest { started, .. } => f
                .debug_struct("Gate::OnFirstRequest")
                .field("started", &started.get().is_some())
                .finish(),
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
#[derive(Clone, Debug)]
pub struct ModelEndpoint {
    pub url: String,
    pub timeouts: Option<TimeoutConfig>,
}

/// What the warm-up did, for the start-up log.
#[derive(Debug)]
pub struct WarmUp {
    /// `None` when the store's connections were left to the request beside the warm-up.
    pub store: Option<Result<(), String>>,
    /// The status Bedrock's endpoint answered `GET /` with.
    pub model: Result<u16, String>,
    pub elapsed: Duration,
}

/// Opens the connections `scope` names at once, within [`LIMIT`]. `model` is the model's
/// endpoint, or why it could not be resolved.
pub async fn open_connections(
    scope: Scope,
    store: &Store,
    https: &Https,
    model: Result<ModelEndpoint, String>,
) -> WarmUp {
    let started = Instant::now();
    let store_call = async {
        if scope == Scope::Model {
            return None;
        }
        let today = clock::utc_day(clock::now_ms().div_euclid(1000));
        let reads = (0..STORE_CONNECTIONS).map(|_| store.open_connection(&today));
        let opened = futures_util::future::join_all(reads)
            .await
            .into_iter()
            .collect::<Result<Vec<()>, _>>()
            .map(|_| ())
            .map_err(|err| err.to_string());
        Some(opened)
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
            let store = (scope == Scope::StoreAndModel).then(|| Err(late.clone()));
            (store, Err(late))
        }
    };
    WarmUp {
        store,
        model,
        elapsed: started.elapsed(),
    }
}

impl WarmUp {
    /// The warm-up's log line: what is trusted (`trusted_roots`, from
    /// [`crate::https::TrustedRoots::describe`]), what opened, how long it took, and what failed.
    pub fn log(&self, trusted_roots: &str, schedule: Schedule) {
        let store = match &self.store {
            None => "left to the first request",
            Some(Ok(())) => "open",
            Some(Err(err)) => err,
        };
        let model = match &self.model {
            Ok(_) => "open",
            Err(err) => err,
        };
        if matches!(self.store, Some(Err(_))) || self.model.is_err() {
            tracing::warn!(
                store,
                model,
                "could not open every connection ahead of the first request; the first turn will"
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
