//! The static page for local runs: files of the site folder at `/`, as CloudFront serves the
//! S3 bucket when deployed.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

use super::{ApiError, not_found};
use crate::config::Auth;
use chatbot_contract::{
    API_PREFIX, CONTENT_SECURITY_POLICY, content_security_policy_connecting_to,
};

pub(super) async fn serve(root: PathBuf, headers: SiteHeaders, request: Request) -> Response {
    let path = request.uri().path();
    if path == API_PREFIX || path.starts_with(&format!("{API_PREFIX}/")) {
        return not_found().into_response();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return ApiError::method_not_allowed().into_response();
    }
    let Some(mut file) = resolve(&root, path) else {
        return not_found().into_response();
    };
    if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_dir()) {
        file.push("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut response = Response::new(if request.method() == Method::HEAD {
                Body::empty()
            } else {
                Body::from(bytes)
            });
            *response.status_mut() = StatusCode::OK;
            let site_headers = headers;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&file)),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            for (name, value) in site_headers.0.iter() {
                headers.insert(*name, value.clone());
            }
            response
        }
        Err(_) => not_found().into_response(),
    }
}

/// The security headers of every page file, built once per server.
#[derive(Clone)]
pub(super) struct SiteHeaders(Arc<Vec<(&'static str, HeaderValue)>>);

impl SiteHeaders {
    /// The headers CloudFront's response headers policy adds to the page when deployed
    /// (`SecurityHeadersPolicy` in `xtask/src/stack/cdn.rs`), so a local run breaks where the
    /// deployed page would. As deployed, a sign-in environment's policy lets the page reach
    /// the token endpoint's origin. `cargo xtask smoke --url` checks the two agree.
    pub(super) fn new(auth: &Auth) -> Self {
        let policy = match auth {
            Auth::Public => HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            Auth::Users(users) => HeaderValue::from_str(&content_security_policy_connecting_to(
                origin(&users.token_url),
            ))
            .unwrap_or(HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        };
        let mut headers = vec![("content-security-policy", policy)];
        headers.extend(
            OTHER_SECURITY_HEADERS
                .iter()
                .map(|(name, value)| (*name, HeaderValue::from_static(value))),
        );
        Self(Arc::new(headers))
    }
}

/// The scheme, host and port of `url`: what a Content-Security-Policy source names.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(path) => &url[..after_scheme + path],
        None => url,
    }
}

const OTHER_SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
];

/// The file under `root` a URL path names; `None` for paths that climb out of it or name
/// hidden files.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut file = root.to_path_buf();
    for segment in url_path.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') || segment.contains('\\') || segment.contains('%') {
            return None;
        }
        match Path::new(segment).components().next() {
            Some(Component::Normal(_)) => file.push(segment),
            _ => return None,
        }
    }
    Some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_inside_the_site_folder() {
        let root = Path::new("/site");
        assert_eq!(resolve(root, "/"), Some(PathBuf::from("/site")));
        assert_eq!(
            resolve(root, "/app.js"),
            Some(PathBuf::from("/site/app.js"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/%2e%2e/b"), None);
        assert_eq!(resolve(root, "/.git/config"), None);
    }
}
