//! The checks themselves, in order; each one a request (or a chat) and what its answer must be.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use serde_json::Value;

use super::http::Client;
use super::sse::{self, Event};
use super::{Check, Outcome, Report};

/// How long a plain request may take.
const WAIT: Duration = Duration::from_secs(15);
/// How long the chat may stay silent (the service sends keep-alives meanwhile) or take in all.
const CHAT_IDLE: Duration = Duration::from_secs(30);
const CHAT_TOTAL: Duration = Duration::from_secs(120);
/// Short, so the answer costs next to nothing.
const CHAT_MESSAGE: &str = "Smoke test: reply with the single word OK.";

/// What is checked.
#[derive(Debug, Clone)]
pub struct Target {
    /// The site's base URL: `https://d123.cloudfront.net`, `http://127.0.0.1:8080`.
    pub site: String,
    /// API Gateway's own address (the stack's `ApiUrl`, ending in `/api`), which must refuse a
    /// direct call; `None` when only a URL was given.
    pub direct_api: Option<String>,
    /// The headers the page must carry (name in lower case, value).
    pub headers: Vec<(&'static str, String)>,
}

/// Runs every check against `target`.
pub async fn run(target: &Target) -> Report {
    let site = target.site.trim_end_matches('/').to_owned();
    let mut checks = Vec::new();
    let client = match Client::new() {
        Ok(client) => client,
        Err(err) => {
            checks.push(Check {
                name: "page",
                request: format!("GET {site}/"),
                outcome: Outcome::Fail,
                detail: err.to_string(),
                elapsed: Duration::ZERO,
            });
            return Report { site, checks };
        }
    };
    let probe = Probe {
        client: &client,
        site: &site,
    };
    checks.push(probe.page(&target.headers).await);
    checks.push(probe.health().await);
    let (models_check, models) = probe.models().await;
    checks.push(models_check);
    checks.push(match &models {
        Some(models) if models.sign_in => probe.chat_refused_without_sign_in().await,
        _ => probe.chat(models.as_ref()).await,
    });
    if let Some(direct) = &target.direct_api {
        checks.push(probe.direct_api(direct).await);
    }
    Report { site, checks }
}

/// What `/api/models` said that later checks use.
struct Models {
    default: String,
    /// `auth.mode == "users"`: chatting takes signing in.
    sign_in: bool,
}

struct Probe<'a> {
    client: &'a Client,
    site: &'a str,
}

/// Times `work`, which returns the check without its time.
async fn timed(work: impl Future<Output = Check>) -> Check {
    let started = Instant::now();
    let mut check = work.await;
    check.elapsed = started.elapsed();
    check
}

fn check(name: &'static str, request: String, result: Result<String, String>) -> Check {
    let (outcome, detail) = match result {
        Ok(detail) => (Outcome::Pass, detail),
        Err(why) => (Outcome::Fail, why),
    };
    Check {
        name,
        request,
        outcome,
        detail,
        elapsed: Duration::ZERO,
    }
}

fn get(url: &str) -> Request<Full<Bytes>> {
    request(Method::GET, url, &[], Bytes::new())
}

fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(url)
        .header("user-agent", "cargo-xtask-smoke");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
}

/// `got 500 (internal_error: the store failed)`: the status and the API's error, if any.
fn unexpected(status: http::StatusCode, body: &str) -> String {
    let error = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let e = &v["error"];
        Some(format!(
            "{}: {}",
            e["code"].as_str()?,
            e["message"].as_str().unwrap_or_default()
        ))
    });
    match error {
        Some(error) => format!("got {} ({error})", status.as_u16()),
        None if body.trim().is_empty() => format!("got {}", status.as_u16()),
        None => format!(
            "got {}: {}",
            status.as_u16(),
            crate::review::sanitize(body.trim(), 120)
        ),
    }
}

impl Probe<'_> {
    /// A whole answer: status, headers and body.
    async fn answer(&self, request: Request<Full<Bytes>>) -> Result<(Got, String), String> {
        let answer = self.client.send(request, WAIT).await?;
        let got = Got {
            status: answer.status,
            headers: answer.headers.clone(),
        };
        let body = answer.text(WAIT).await?;
        Ok((got, body))
    }

    async fn page(&self, headers: &[(&'static str, String)]) -> Check {
        let url = format!("{}/", self.site);
        timed(async {
            let result = async {
                let (answer, body) = self.answer(get(&url)).await?;
                if answer.status != http::StatusCode::OK {
                    return Err(unexpected(answer.status, &body));
                }
                if !answer
                    .header("content-type")
                    .unwrap_or_default()
                    .starts_with("text/html")
                {
                    return Err(format!(
                        "the page is not HTML (content-type {})",
                        answer.header("content-type").unwrap_or("missing")
                    ));
                }
                let mut wrong = Vec::new();
                for (name, expected) in headers {
                    match answer.header(name) {
                        None => wrong.push(format!("{name} missing")),
                        Some(value) if !same_header(value, expected) => {
                            wrong.push(format!("{name} is {value:?}, not {expected:?}"));
                        }
                        Some(_) => {}
                    }
                }
                if !wrong.is_empty() {
                    return Err(format!("security headers: {}", wrong.join("; ")));
                }
                Ok(format!(
                    "200, HTML ({} bytes), {} security headers as CloudFront sets them",
                    body.len(),
                    headers.len()
                ))
            }
            .await;
            check("page", format!("GET {url}"), result)
        })
        .await
    }

    async fn health(&self) -> Check {
        let url = format!("{}/api/health", self.site);
        timed(async {
            let result = async {
                let (answer, body) = self.answer(get(&url)).await?;
                if answer.status != http::StatusCode::OK {
                    return Err(unexpected(answer.status, &body));
                }
                let json: Value = serde_json::from_str(&body).map_err(|_| {
                    format!("200 but not JSON: {}", crate::review::sanitize(&body, 80))
                })?;
                if json["status"] != "ok" {
                    return Err(format!("status is {}, not \"ok\"", json["status"]));
                }
                Ok(format!(
                    "ok, version {}, environment {}{}",
                    json["version"].as_str().unwrap_or("?"),
                    json["environment"].as_str().unwrap_or("?"),
                    if json["demo"] == true {
                        ", offline demo model"
                    } else {
                        ""
                    }
                ))
            }
            .await;
            check("health", format!("GET {url}"), result)
        })
        .await
    }

    async fn models(&self) -> (Check, Option<Models>) {
        let url = format!("{}/api/models", self.site);
        let mut found = None;
        let checked = timed(async {
            let result = async {
                let (answer, body) = self.answer(get(&url)).await?;
                if answer.status != http::StatusCode::OK {
                    return Err(unexpected(answer.status, &body));
                }
                let json: Value = serde_json::from_str(&body).map_err(|_| {
                    format!("200 but not JSON: {}", crate::review::sanitize(&body, 80))
                })?;
                let default = json["default"]
                    .as_str()
                    .ok_or("the answer names no default model")?
                    .to_owned();
                let count = json["models"].as_array().map_or(0, Vec::len);
                if count == 0 {
                    return Err("the answer lists no models".to_owned());
                }
                let sign_in = json["auth"]["mode"] == "users";
                let detail = format!(
                    "{count} model{}, default {default}{}",
                    if count == 1 { "" } else { "s" },
                    if sign_in { ", sign-in required" } else { "" }
                );
                found = Some(Models { default, sign_in });
                Ok(detail)
            }
            .await;
            check("models", format!("GET {url}"), result)
        })
        .await;
        (checked, found)
    }

    /// One short streamed chat: `meta`, at least one `delta`, then `done`.
    async fn chat(&self, models: Option<&Models>) -> Check {
        let url = format!("{}/api/chat", self.site);
        let request_line = format!("POST {url} (streamed)");
        timed(async {
            let result =
                match tokio::time::timeout(CHAT_TOTAL, self.stream_chat(&url, models)).await {
                    Ok(result) => result,
                    Err(_) => Err(format!(
                        "the answer did not finish within {} s",
                        CHAT_TOTAL.as_secs()
                    )),
                };
            check("chat", request_line, result)
        })
        .await
    }

    async fn stream_chat(&self, url: &str, models: Option<&Models>) -> Result<String, String> {
        let mut body = serde_json::json!({"message": CHAT_MESSAGE});
        if let Some(models) = models {
            body["model"] = Value::from(models.default.clone());
        }
        let mut answer = self
            .client
            .send(
                request(
                    Method::POST,
                    url,
                    &[
                        ("content-type", "application/json"),
                        ("accept", "text/event-stream"),
                    ],
                    Bytes::from(body.to_string()),
                ),
                CHAT_IDLE,
            )
            .await?;
        if answer.status != http::StatusCode::OK {
            let status = answer.status;
            let body = answer.text(WAIT).await.unwrap_or_default();
            return Err(unexpected(status, &body));
        }
        if !answer
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/event-stream")
        {
            return Err(format!(
                "200 but not a stream (content-type {})",
                answer.header("content-type").unwrap_or("missing")
            ));
        }
        let request_id = answer.header("x-request-id").map(str::to_owned);
        let with_id = |why: String| match &request_id {
            Some(id) => format!("{why} (request id {id})"),
            None => why,
        };
        let mut parser = sse::Parser::default();
        let mut stream = Stream::default();
        loop {
            let chunk = match answer.next_chunk(CHAT_IDLE).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    return Err(with_id(format!(
                        "the stream ended without a done event, after {}",
                        stream.so_far()
                    )));
                }
                Err(why) => {
                    return Err(with_id(format!("{why}, after {}", stream.so_far())));
                }
            };
            for event in parser.feed(&chunk) {
                if let Some(end) = stream.take(event) {
                    let ended = end.map_err(&with_id)?;
                    self.forget(&stream).await;
                    return Ok(ended);
                }
            }
        }
    }

    /// Deletes the conversation the chat made, so smoke tests leave no history behind. A
    /// failure here fails nothing: the history expires with its TTL anyway.
    async fn forget(&self, stream: &Stream) {
        if let Some(session) = &stream.session {
            let url = format!("{}/api/sessions/{session}", self.site);
            let _ = self
                .client
                .send(request(Method::DELETE, &url, &[], Bytes::new()), WAIT)
                .await;
        }
    }

    async fn chat_refused_without_sign_in(&self) -> Check {
        let url = format!("{}/api/chat", self.site);
        timed(async {
            let result = async {
                let (answer, body) = self
                    .answer(request(
                        Method::POST,
                        &url,
                        &[
                            ("content-type", "application/json"),
                            ("accept", "text/event-stream"),
                        ],
                        Bytes::from(serde_json::json!({"message": CHAT_MESSAGE}).to_string()),
                    ))
                    .await?;
                if answer.status != http::StatusCode::UNAUTHORIZED {
                    return Err(format!(
                        "sign-in environment: a chat without signing in must get 401, {}",
                        unexpected(answer.status, &body)
                    ));
                }
                Ok(
                    "sign-in environment: a chat without signing in is refused with 401 (no chat \
                    was answered)"
                        .to_owned(),
                )
            }
            .await;
            check("chat", format!("POST {url} (not signed in)"), result)
        })
        .await
    }

    async fn direct_api(&self, api_url: &str) -> Check {
        let url = format!("{}/health", api_url.trim_end_matches('/'));
        timed(async {
            let result = async {
                let (answer, body) = self.answer(get(&url)).await?;
                if answer.status != http::StatusCode::FORBIDDEN {
                    return Err(format!(
                        "API Gateway's own address must refuse a call that skips CloudFront with \
                         403, {}",
                        unexpected(answer.status, &body)
                    ));
                }
                let code = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
                match code.as_deref() {
                    Some(chatbot_contract::forbidden::CODE) => {
                        Ok("403 forbidden: only CloudFront reaches the API".to_owned())
                    }
                    _ => Err(format!(
                        "403, but not the API's forbidden error: {}",
                        crate::review::sanitize(&body, 120)
                    )),
                }
            }
            .await;
            check("direct API", format!("GET {url}"), result)
        })
        .await
    }
}

/// The status and headers of an answer whose body was read.
struct Got {
    status: http::StatusCode,
    headers: http::HeaderMap,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A header value as the policy gives it; HSTS directives may come in another case.
fn same_header(found: &str, expected: &str) -> bool {
    let found = found.trim();
    if found == expected || found.eq_ignore_ascii_case(expected) {
        return true;
    }
    // A placeholder the stack resolves when deployed (`${AWS::Region}`) stands for one word.
    expected.contains("${")
        && found.split_whitespace().count() == expected.split_whitespace().count()
        && found
            .split_whitespace()
            .zip(expected.split_whitespace())
            .all(|(found, expected)| {
                found == expected
                    || (expected.contains("${") && expected.ends_with(';') == found.ends_with(';'))
            })
}

/// What the chat's events said so far.
#[derive(Default)]
struct Stream {
    meta: bool,
    model: Option<String>,
    session: Option<String>,
    deltas: usize,
    chars: usize,
}

impl Stream {
    fn so_far(&self) -> String {
        format!(
            "{} and {} delta{} ({} characters)",
            if self.meta { "meta" } else { "no meta event" },
            self.deltas,
            if self.deltas == 1 { "" } else { "s" },
            self.chars
        )
    }

    /// Takes one event; `Some` when it ends the stream (`done`: the summary; `error` or an
    /// event out of order: why it failed).
    fn take(&mut self, event: Event) -> Option<Result<String, String>> {
        let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
        match event.name.as_str() {
            "meta" => {
                self.meta = true;
                self.model = data["model"].as_str().map(str::to_owned);
                self.session = data["session_id"].as_str().map(str::to_owned);
                None
            }
            "delta" if !self.meta => Some(Err("a delta came before the meta event".to_owned())),
            "delta" => {
                self.deltas += 1;
                self.chars += data["text"].as_str().map_or(0, |t| t.chars().count());
                None
            }
            "done" if self.deltas == 0 => Some(Err(format!(
                "done came without any delta ({})",
                crate::review::sanitize(&event.data, 120)
            ))),
            "done" => Some(Ok(format!(
                "{} answered: {} deltas, {} characters, {} output tokens, stop {}",
                self.model.as_deref().unwrap_or("the model"),
                self.deltas,
                self.chars,
                data["usage"]["output_tokens"],
                data["stop_reason"].as_str().unwrap_or("?")
            ))),
            "error" => Some(Err(format!(
                "the answer broke off with an error event after {}: {}: {}",
                self.so_far(),
                data["code"].as_str().unwrap_or("?"),
                data["message"].as_str().unwrap_or("?")
            ))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_header;

    const DEPLOYED: &str = "default-src 'none'; connect-src 'self' https://${Prefix}.auth.${AWS::Region}.amazoncognito.com; frame-ancestors 'none'";

    #[test]
    fn a_placeholder_stands_for_one_word_and_the_rest_must_match() {
        let local =
            "default-src 'none'; connect-src 'self' http://127.0.0.1:9000; frame-ancestors 'none'";
        assert!(same_header(local, DEPLOYED));
        let deployed = "default-src 'none'; connect-src 'self' https://chat-1.auth.us-east-1.amazoncognito.com; frame-ancestors 'none'";
        assert!(same_header(deployed, DEPLOYED));
        let wider = "default-src 'none'; connect-src 'self' https://a.example https://b.example; frame-ancestors 'none'";
        assert!(!same_header(wider, DEPLOYED));
        let framed =
            "default-src 'none'; connect-src 'self' http://127.0.0.1:9000; frame-ancestors *";
        assert!(!same_header(framed, DEPLOYED));
        assert!(!same_header(
            "default-src 'none'; connect-src 'self'; frame-ancestors 'none'",
            DEPLOYED
        ));
    }

    #[test]
    fn values_without_placeholders_compare_whole() {
        assert!(same_header(" DENY ", "DENY"));
        assert!(same_header("deny", "DENY"));
        assert!(!same_header("SAMEORIGIN", "DENY"));
    }
}
