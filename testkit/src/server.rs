//! The HTTP/1.1 server loop every stand-in runs: accept on a loopback listener, serve each
//! connection with hyper on its own task, and drop every open connection when the loop is
//! aborted (the stand-in dropped).

use std::error::Error;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

type BoxError = Box<dyn Error + Send + Sync>;

/// Serves `handler` on `listener` until aborted. A connection accepted while `refuse` says so
/// is closed at once, unanswered (a server that is down).
///
/// Accepted sockets get `TCP_NODELAY`: stand-ins write small frames one at a time.
pub async fn serve<H, Fut, B, E>(
    listener: TcpListener,
    handler: H,
    refuse: impl Fn() -> bool + Send + 'static,
) where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<B>, E>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if refuse() {
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(handler);
                        // Errors here are clients going away or deliberate breaks and drops:
                        // nothing to report.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors and the like: wait for connections to close.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
