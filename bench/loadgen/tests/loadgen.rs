//! The load generator against a small local server whose answers it can check.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use loadgen::{Plan, run};
use tokio::net::TcpListener;

/// Answers `/ok` with three chunks, the second holding `event: delta`, and `/fail` with 500.
async fn server() -> SocketAddr {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(answer);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

type Chunks = futures_like::Chunks;

async fn answer(req: Request<Incoming>) -> Result<Response<Chunks>, Infallible> {
    let fail = req.uri().path() == "/fail";
    let _ = req.into_body().collect().await;
    let chunks: Vec<&'static [u8]> = if fail {
        vec![b"nope"]
    } else {
        vec![b"event: meta\n\n", b"event: del", b"ta\ndata: {}\n\n"]
    };
    let mut response = Response::new(futures_like::Chunks::new(chunks));
    if fail {
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    Ok(response)
}

/// A stream of static chunks with a short pause before each, without a futures dependency.
mod futures_like {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use bytes::Bytes;
    use hyper::body::Frame;

    pub struct Chunks {
        chunks: std::vec::IntoIter<&'static [u8]>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    }

    impl Chunks {
        pub fn new(chunks: Vec<&'static [u8]>) -> Chunks {
            Chunks {
                chunks: chunks.into_iter(),
                pause: None,
            }
        }
    }

    impl hyper::body::Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            let pause = self
                .pause
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(1))));
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
            Poll::Ready(
                self.chunks
                    .next()
                    .map(|c| Ok(Frame::data(Bytes::from_static(c)))),
            )
        }
    }
}

fn plan(addr: SocketAddr, path: &str, concurrency: usize, requests: usize) -> Plan {
    Plan {
        addr,
        method: "POST".into(),
        path: path.into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: "{}".into(),
        concurrency,
        requests,
        max_seconds: 30.0,
        mark: Some("event: delta".into()),
    }
}

#[tokio::test]
async fn sends_exactly_the_planned_requests_and_times_each() {
    let addr = server().await;
    let report = run(plan(addr, "/ok", 4, 25)).await.unwrap();
    assert_eq!(report.completed, 25, "{report:?}");
    assert_eq!(report.errors, 0);
    assert_eq!(report.latencies_us.len(), 25);
    assert_eq!(report.first_bytes_us.len(), 25);
    // The mark is split across two chunks and still found in every answer.
    assert_eq!(report.marks_us.len(), 25);
    let mut first_bytes = report.first_bytes_us.clone();
    let mut marks = report.marks_us.clone();
    let mut latencies = report.latencies_us.clone();
    first_bytes.sort();
    marks.sort();
    latencies.sort();
    assert!(first_bytes[0] <= marks[0] && marks[24] <= latencies[24]);
    assert!(report.elapsed_us >= latencies[24]);
}

#[tokio::test]
async fn error_statuses_are_counted_with_a_sample() {
    let addr = server().await;
    let report = run(plan(addr, "/fail", 2, 3)).await.unwrap();
    assert_eq!(report.completed, 0);
    assert_eq!(report.errors, 3);
    assert!(report.latencies_us.is_empty());
    assert_eq!(
        report.error_samples[0],
        "status 500 Internal Server Error: nope"
    );
}

#[tokio::test]
async fn a_closed_port_is_an_error_not_a_hang() {
    let addr = {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        listener.local_addr().unwrap()
    };
    let report = run(plan(addr, "/ok", 1, 2)).await.unwrap();
    assert_eq!(report.errors, 2);
    assert!(
        report.error_samples[0].starts_with("connect to"),
        "{report:?}"
    );
}

#[tokio::test]
async fn refuses_addresses_off_this_machine() {
    let addr: SocketAddr = "192.0.2.1:80".parse().unwrap();
    let err = run(plan(addr, "/ok", 1, 1)).await.unwrap_err();
    assert_eq!(
        err,
        "192.0.2.1:80 is not a loopback address: load is only sent to this machine"
    );
}
