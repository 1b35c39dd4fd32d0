//! The chatbot service: one axum router that runs in Lambda and locally.
//!
//! Entry points build the clients ([`main.rs`] for Lambda, `bin/local.rs` for `cargo xtask
//! dev`) and hand an [`AppState`] to [`router`]; everything below works without AWS.

pub use chatbot_contract as contract;

pub mod auth;
pub mod chat;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod cost;
pub mod guardrail;
pub mod http;
pub mod https;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod rate_bucket;
pub mod state;
pub mod store;
pub mod warm;

use std::net::SocketAddr;

pub use config::{Config, Tuning};
pub use http::{router, router_with_site};
pub use state::AppState;

/// Serves `router` on `listener` with hyper until `shutdown` completes, then lets the open
/// requests finish. Requests carry their TCP peer, which the rate limit counts them against.
///
/// Accepted sockets get `TCP_NODELAY`: a streamed answer is many small writes, and with
/// Nagle's algorithm each one after the first waits for the client's ACK of the one before,
/// which a client delays by up to 40 ms.
pub async fn serve_local(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!("could not set TCP_NODELAY on an accepted connection: {err}");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
