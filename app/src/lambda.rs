//! The Lambda side of the router: API Gateway REST events, as `lambda_http` turns them into
//! requests, become the requests the router expects.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use lambda_http::request::RequestContext;
use lambda_http::tower::{ServiceExt, service_fn};
use lambda_http::{RequestExt, Service};

use crate::client_ip::{self, ClientAddr};
use crate::http::RequestId;

/// The service `lambda_http::run_with_streaming_response` runs: each event through `router`.
pub fn handler(
    router: Router,
) -> impl Service<
    lambda_http::Request,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone {
    service_fn(move |request: lambda_http::Request| {
        let router = router.clone();
        async move { router.oneshot(into_router_request(request)).await }
    })
}

/// Converts a `lambda_http` request: the path API Gateway received (without the stage name
/// `lambda_http` puts in front), the client address (see [`crate::client_ip`]), Lambda's
/// request id, and the body.
pub fn into_router_request(request: lambda_http::Request) -> axum::extract::Request {
    let request_id = request.lambda_context_ref().map(|c| c.request_id.clone());
    let (source_ip, stage) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            (context.identity.source_ip.clone(), context.stage.clone())
        }
        _ => (None, None),
    };
    let client = client_ip::from_api_gateway(request.headers(), source_ip.as_deref());
    let raw_path = request.raw_http_path().to_owned();

    let (mut parts, body) = request.into_parts();
    if let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") {
        let prefix = format!("/{stage}");
        let path = parts.uri.path();
        let added =
            path.starts_with(&format!("{prefix}/")) && !raw_path.starts_with(&format!("{prefix}/"));
        if added {
            let rest = &path[prefix.len()..];
            let path_and_query = match parts.uri.query() {
                Some(query) => format!("{rest}?{query}"),
                None => rest.to_owned(),
            };
            if let Ok(uri) = http::Uri::builder().path_and_query(path_and_query).build() {
                parts.uri = uri;
            }
        }
    }
    if let Some(ip) = client {
        parts.extensions.insert(ClientAddr(ip));
    }
    if let Some(id) = request_id.filter(|id| !id.is_empty()) {
        parts.extensions.insert(RequestId(id));
    }
    let body = match body {
        lambda_http::Body::Empty => Body::empty(),
        lambda_http::Body::Text(text) => Body::from(text),
        lambda_http::Body::Binary(bytes) => Body::from(bytes),
        _ => Body::empty(),
    };
    axum::extract::Request::from_parts(parts, body)
}
