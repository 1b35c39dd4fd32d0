//! The client address the rate limit counts requests against.
//!
//! Deployed, a request travels browser → CloudFront → API Gateway (REST, Regional) → Lambda, so
//! neither the TCP peer nor API Gateway's `requestContext.identity.sourceIp` need be the
//! browser: the API sees a CloudFront edge server. `X-Forwarded-For` is no answer either: a
//! client may send one, and CloudFront and API Gateway only append to it, so every entry but
//! the last few is whatever the client wrote, and which entry is the browser's depends on how
//! many proxies appended.
//!
//! The address used is, in order:
//! 1. `CloudFront-Viewer-Address` (`198.51.100.10:46532`, or `2001:db8::1:46532` for IPv6):
//!    CloudFront sets it itself from the viewer connection, replacing any value the client
//!    sent. **The `/api/*` behaviour's origin request policy must forward the
//!    `CloudFront-Viewer-Address` header** (it is not sent to the origin otherwise).
//! 2. `requestContext.identity.sourceIp` of the API Gateway event: the caller of API Gateway,
//!    which is the real client when the API is called directly rather than through CloudFront.
//!
//! A caller who bypasses CloudFront and calls the `execute-api` endpoint directly could send
//! its own `CloudFront-Viewer-Address` and so pick its rate bucket. Deployed, such a caller
//! gets no further than a 403: CloudFront adds the origin secret in `x-origin-verify` to every
//! request it passes on, and the router refuses any `/api` request without it before the rate
//! limit reads an address (see `crate::http::router`).
//!
//! Locally (`chatbot-local`) the TCP peer address is used.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;

/// The header CloudFront fills with the viewer's address and port.
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// The client's address, as the Lambda adapter or the local server found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client address of an API Gateway request: CloudFront's viewer address when present
/// and well formed, else API Gateway's source address.
pub fn from_api_gateway(headers: &http::HeaderMap, source_ip: Option<&str>) -> Option<IpAddr> {
    headers
        .get(VIEWER_ADDRESS_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_viewer_address)
        .or_else(|| source_ip.and_then(|ip| ip.trim().parse().ok()))
}

/// The address a request is counted against: the [`ClientAddr`] the Lambda adapter set, else
/// the TCP peer of a local server. `None` when neither is known.
pub fn of_request(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ClientAddr>()
        .map(|ClientAddr(ip)| *ip)
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip())
        })
        .map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        })
}

/// Parses `ip:port`, where an IPv6 address is written without brackets.
fn parse_viewer_address(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let (ip, port) = value.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn prefers_cloudfront_viewer_address() {
        let h = headers(&[
            ("CloudFront-Viewer-Address", "198.51.100.10:46532"),
            ("X-Forwarded-For", "1.2.3.4, 198.51.100.10, 130.176.0.1"),
        ]);
        assert_eq!(
            from_api_gateway(&h, Some("130.176.0.1")),
            Some("198.51.100.10".parse().unwrap())
        );
    }

    #[test]
    fn reads_unbracketed_ipv6() {
        let h = headers(&[("cloudfront-viewer-address", "2001:db8::1:443")]);
        assert_eq!(
            from_api_gateway(&h, None),
            Some("2001:db8::1".parse().unwrap())
        );
        let h = headers(&[("cloudfront-viewer-address", "[2001:db8::2]:443")]);
        assert_eq!(
            from_api_gateway(&h, None),
            Some("2001:db8::2".parse().unwrap())
        );
    }

    #[test]
    fn ignores_x_forwarded_for_and_falls_back_to_the_source_ip() {
        let h = headers(&[("x-forwarded-for", "10.9.9.9")]);
        assert_eq!(
            from_api_gateway(&h, Some("203.0.113.5")),
            Some("203.0.113.5".parse().unwrap())
        );
        let h = headers(&[("cloudfront-viewer-address", "not an address")]);
        assert_eq!(
            from_api_gateway(&h, Some("203.0.113.5")),
            Some("203.0.113.5".parse().unwrap())
        );
        assert_eq!(from_api_gateway(&http::HeaderMap::new(), None), None);
    }
}
