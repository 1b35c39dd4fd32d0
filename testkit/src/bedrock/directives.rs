//! The `[[...]]` directives of the last user message, and the plan they make for the answer.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MidStream {
    Break(usize),
    Exception(usize, ExceptionKind),
}

/// What to answer to one request.
#[derive(Debug)]
pub(super) struct Plan {
    /// An error answered instead of a reply.
    pub(super) fault: Result<(), ApiError>,
    pub(super) chunks: Vec<String>,
    pub(super) first_delay: Duration,
    pub(super) token_delay: Duration,
    pub(super) mid_stream: Option<MidStream>,
    pub(super) input_tokens: u64,
    pub(super) output_tokens: Option<u64>,
    /// `cacheReadInputTokens` and `cacheWriteInputTokens`, when `[[cache:R:W]]` asks for them.
    pub(super) cache_tokens: Option<(u64, u64)>,
    pub(super) stop_reason: &'static str,
    /// `trace.guardrail` of the answer, when a guardrail intervened and the trace is on.
    pub(super) trace: Option<Value>,
}

impl Plan {
    pub(super) fn output_tokens(&self) -> u64 {
        self.output_tokens.unwrap_or(self.chunks.len() as u64)
    }

    /// The `usage` object of the answer.
    pub(super) fn usage(&self) -> Value {
        let mut usage = usage(self.input_tokens, self.output_tokens());
        if let Some((read, write)) = self.cache_tokens {
            usage["cacheReadInputTokens"] = read.into();
            usage["cacheWriteInputTokens"] = write.into();
            usage["totalTokens"] = (self.input_tokens + self.output_tokens() + read + write).into();
        }
        usage
    }
}

pub(super) const DIRECTIVES: [&str; 13] = [
    "reply",
    "chunks",
    "tokens",
    "cache",
    "slow",
    "first",
    "throttle",
    "error",
    "too-long",
    "break",
    "stream-error",
    "guardrail",
    // Reserved so a typo such as `[[stream_error:1]]` is reported, not echoed.
    "stream_error",
];

/// Reads the directives of the last user message and decides the answer; `guardrail` is the
/// guardrail the request named, if any.
pub(super) fn plan(
    state: &State,
    body: &Value,
    guardrail: Option<&guardrail::Active>,
) -> Result<Plan, ApiError> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let last_user_text = messages
        .iter()
        .rev()
        .find(|message| message.get("role").and_then(Value::as_str) == Some("user"))
        .map(|message| texts(message.get("content")).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    let (clean_text, directives) = split_directives(&last_user_text);

    let mut plan = Plan {
        fault: Ok(()),
        chunks: Vec::new(),
        first_delay: state.options.first_token_delay,
        token_delay: state.options.token_delay,
        mid_stream: None,
        input_tokens: texts(body.get("system"))
            .chain(
                messages
                    .iter()
                    .flat_map(|message| texts(message.get("content"))),
            )
            .map(|text| text.split_whitespace().count() as u64)
            .sum(),
        output_tokens: None,
        cache_tokens: None,
        stop_reason: "end_turn",
        trace: None,
    };
    let mut intervention = None;
    let mut reply = None;
    let mut chunk_count = None;
    for (name, arg) in &directives {
        let arg = arg.as_deref();
        let bad = || {
            ApiError::validation(match arg {
                Some(arg) => format!("fake-bedrock: the directive [[{name}:{arg}]] is malformed"),
                None => format!("fake-bedrock: the directive [[{name}]] needs a value"),
            })
        };
        let number = || {
            arg.and_then(|arg| arg.trim().parse::<u64>().ok())
                .ok_or_else(bad)
        };
        match name.as_str() {
            "reply" => reply = Some(arg.unwrap_or_default().replace("\\n", "\n")),
            "chunks" => chunk_count = Some(number()?),
            "tokens" => plan.output_tokens = Some(number()?),
            "cache" => {
                let (read, write) = arg.and_then(|a| a.split_once(':')).ok_or_else(bad)?;
                let count = |n: &str| n.trim().parse::<u64>().map_err(|_| bad());
                plan.cache_tokens = Some((count(read)?, count(write)?));
            }
            "slow" => plan.token_delay = Duration::from_millis(number()?),
            "first" => plan.first_delay = Duration::from_millis(number()?),
            "throttle" => {
                let throttle = match arg {
                    None => true,
                    Some(_) => {
                        let limit = number()?;
                        let mut seen = lock(&state.throttled);
                        let count = seen.entry(last_user_text.clone()).or_insert(0);
                        *count += 1;
                        u64::from(*count) <= limit
                    }
                };
                if throttle && plan.fault.is_ok() {
                    plan.fault = Err(ApiError::throttling());
                }
            }
            "error" => {
                let error = ApiError::from_code(arg.ok_or_else(bad)?.trim()).ok_or_else(bad)?;
                if plan.fault.is_ok() {
                    plan.fault = Err(error);
                }
            }
            "too-long" => {
                let always = match arg {
                    None => false,
                    Some("always") => true,
                    Some(_) => return Err(bad()),
                };
                if (always || messages.len() > 2) && plan.fault.is_ok() {
                    plan.fault = Err(ApiError::validation(
                        "Input is too long for requested model.",
                    ));
                }
            }
            "break" => plan.mid_stream = Some(MidStream::Break(number()? as usize)),
            "guardrail" => {
                intervention =
                    Some(guardrail::Directive::parse(arg.ok_or_else(bad)?).ok_or_else(bad)?);
            }
            "stream-error" => {
                let arg = arg.ok_or_else(bad)?;
                let (after, kind) = match arg.split_once(':') {
                    Some((after, kind)) => (after, ExceptionKind::parse(kind).ok_or_else(bad)?),
                    None => (arg, ExceptionKind::ModelStream),
                };
                let after = after.trim().parse::<usize>().map_err(|_| bad())?;
                plan.mid_stream = Some(MidStream::Exception(after, kind));
            }
            _ => return Err(bad()),
        }
    }

    plan.chunks = match (chunk_count, reply) {
        (Some(count), _) => (1..=count)
            .map(|i| {
                if i == count {
                    format!("t{i}")
                } else {
                    format!("t{i} ")
                }
            })
            .collect(),
        (None, Some(reply)) => word_chunks(&reply),
        (None, None) => word_chunks(&format!("Fake model reply to: {clean_text}")),
    };
    if let Some(max_tokens) = body
        .pointer("/inferenceConfig/maxTokens")
        .and_then(Value::as_u64)
        && plan.chunks.len() as u64 > max_tokens
    {
        plan.chunks.truncate(max_tokens as usize);
        plan.stop_reason = "max_tokens";
    }
    if let (Some(active), Some(directive)) = (guardrail, intervention)
        && let Some(answer) = guardrail::intervene(active, directive, &clean_text, &plan.chunks)
    {
        plan.chunks = answer.chunks;
        plan.input_tokens = answer.input_tokens.unwrap_or(plan.input_tokens);
        plan.output_tokens = Some(answer.output_tokens);
        plan.stop_reason = "guardrail_intervened";
        plan.trace = answer.trace;
    }
    Ok(plan)
}

/// The `text` of each block in a content (or system) array, `guardContent` blocks included.
pub(super) fn texts(blocks: Option<&Value>) -> impl Iterator<Item = &str> {
    blocks
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| {
            block
                .get("text")
                .or_else(|| block.pointer("/guardContent/text/text"))
                .and_then(Value::as_str)
        })
}

/// Removes `[[name]]` / `[[name:arg]]` directives with a known name; returns the remaining text
/// (trimmed) and the directives in order.
pub(super) fn split_directives(text: &str) -> (String, Vec<(String, Option<String>)>) {
    let mut clean = String::with_capacity(text.len());
    let mut directives = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("]]") else {
            break;
        };
        let inner = &after[..end];
        let (name, arg) = match inner.split_once(':') {
            Some((name, arg)) => (name, Some(arg.to_owned())),
            None => (inner, None),
        };
        let name = name.trim();
        if DIRECTIVES.contains(&name) {
            clean.push_str(&rest[..start]);
            directives.push((name.to_owned(), arg));
        } else {
            clean.push_str(&rest[..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    clean.push_str(rest);
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    (clean, directives)
}

/// Splits text into chunks of one word each, whitespace kept with the word before it, so the
/// chunks concatenate back to the text.
pub(super) fn word_chunks(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space && current.chars().any(|c| !c.is_whitespace()) {
            chunks.push(std::mem::take(&mut current));
            in_space = false;
        } else {
            in_space = false;
        }
        current.push(c);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            options: Options::default(),
            calls: Mutex::new(Vec::new()),
            throttled: Mutex::new(HashMap::new()),
            guardrails: Mutex::new(Vec::new()),
            request_ids: AtomicU64::new(1),
        }
    }

    /// The plan for a request whose only message is the user's `text`, in one line: the
    /// answer's text, its chunks, delays, output tokens, cache tokens, what breaks the stream,
    /// the error answered instead, the stop reason; or the refusal of a malformed directive.
    fn check(text: &str, expect: &str) {
        let body = json!({"messages": [{"role": "user", "content": [{"text": text}]}]});
        let got = match plan(&state(), &body, None) {
            Err(err) => format!(
                "refused {} {}: {}",
                err.status.as_u16(),
                err.error_type,
                err.message
            ),
            Ok(plan) => format!(
                "{:?} chunks={} first={}ms slow={}ms out={} cache={:?} mid={:?} fault={} stop={}",
                plan.chunks.concat(),
                plan.chunks.len(),
                plan.first_delay.as_millis(),
                plan.token_delay.as_millis(),
                plan.output_tokens(),
                plan.cache_tokens,
                plan.mid_stream,
                match &plan.fault {
                    Ok(()) => "-".to_owned(),
                    Err(err) => format!("{} {}", err.status.as_u16(), err.error_type),
                },
                plan.stop_reason,
            ),
        };
        assert_eq!(got, expect, "for {text:?}");
    }

    /// What [`check`] says of a one-chunk answer that ends in `mid` and `fault`.
    fn one_chunk(mid: &str, fault: &str) -> String {
        format!(
            r#""t1" chunks=1 first=0ms slow=0ms out=1 cache=None mid={mid} fault={fault} stop=end_turn"#
        )
    }

    #[test]
    fn no_directive_echoes_the_text() {
        check(
            "hello  there",
            r#""Fake model reply to: hello there" chunks=6 first=0ms slow=0ms out=6 cache=None mid=None fault=- stop=end_turn"#,
        );
    }

    #[test]
    fn unknown_brackets_are_echoed() {
        check(
            "[[x]] hi",
            r#""Fake model reply to: [[x]] hi" chunks=6 first=0ms slow=0ms out=6 cache=None mid=None fault=- stop=end_turn"#,
        );
    }

    #[test]
    fn reply_chunks_and_tokens() {
        check(
            r"[[reply:a\nb c]]",
            r#""a\nb c" chunks=3 first=0ms slow=0ms out=3 cache=None mid=None fault=- stop=end_turn"#,
        );
        check(
            "[[chunks:3]]",
            r#""t1 t2 t3" chunks=3 first=0ms slow=0ms out=3 cache=None mid=None fault=- stop=end_turn"#,
        );
        check(
            "[[chunks:2]] [[tokens:40]]",
            r#""t1 t2" chunks=2 first=0ms slow=0ms out=40 cache=None mid=None fault=- stop=end_turn"#,
        );
        check(
            "[[chunks:1]] [[cache:7:9]]",
            r#""t1" chunks=1 first=0ms slow=0ms out=1 cache=Some((7, 9)) mid=None fault=- stop=end_turn"#,
        );
    }

    #[test]
    fn delays() {
        check(
            "[[chunks:1]] [[slow:5]] [[first:7]]",
            r#""t1" chunks=1 first=7ms slow=5ms out=1 cache=None mid=None fault=- stop=end_turn"#,
        );
    }

    #[test]
    fn faults_answered_instead_of_a_reply() {
        let ok = |fault: &str| one_chunk("None", fault);
        check("[[chunks:1]] [[throttle]]", &ok("429 ThrottlingException"));
        check(
            "[[chunks:1]] [[throttle:1]]",
            &ok("429 ThrottlingException"),
        );
        check(
            "[[chunks:1]] [[error:503]]",
            &ok("503 ServiceUnavailableException"),
        );
        check(
            "[[chunks:1]] [[error:ModelNotReadyException]]",
            &ok("429 ModelNotReadyException"),
        );
        // The first fault wins.
        check(
            "[[chunks:1]] [[error:403]] [[throttle]]",
            &ok("403 AccessDeniedException"),
        );
        // One message is short enough; `always` is not.
        check("[[chunks:1]] [[too-long]]", &ok("-"));
        check(
            "[[chunks:1]] [[too-long:always]]",
            &ok("400 ValidationException"),
        );
    }

    #[test]
    fn mid_stream_breaks_and_exceptions() {
        let ok = |mid: &str| one_chunk(mid, "-");
        check("[[chunks:1]] [[break:2]]", &ok("Some(Break(2))"));
        check(
            "[[chunks:1]] [[stream-error:1]]",
            &ok("Some(Exception(1, ModelStream))"),
        );
        check(
            "[[chunks:1]] [[stream-error:0:throttling]]",
            &ok("Some(Exception(0, Throttling))"),
        );
    }

    #[test]
    fn malformed_directives_are_refused_by_name() {
        let refused = |what: &str| format!("refused 400 ValidationException: fake-bedrock: {what}");
        check(
            "[[slow:abc]]",
            &refused("the directive [[slow:abc]] is malformed"),
        );
        check(
            "[[chunks]]",
            &refused("the directive [[chunks]] needs a value"),
        );
        check(
            "[[stream_error:1]]",
            &refused("the directive [[stream_error:1]] is malformed"),
        );
        check(
            "[[error:999]]",
            &refused("the directive [[error:999]] is malformed"),
        );
        check(
            "[[too-long:sometimes]]",
            &refused("the directive [[too-long:sometimes]] is malformed"),
        );
        check(
            "[[stream-error:1:odd]]",
            &refused("the directive [[stream-error:1:odd]] is malformed"),
        );
        check(
            "[[cache:7]]",
            &refused("the directive [[cache:7]] is malformed"),
        );
    }

    #[test]
    fn a_reply_cut_at_max_tokens_says_so() {
        let body = json!({
            "messages": [{"role": "user", "content": [{"text": "[[chunks:5]]"}]}],
            "inferenceConfig": {"maxTokens": 2},
        });
        let plan = plan(&state(), &body, None).unwrap();
        assert_eq!(plan.chunks.concat(), "t1 t2 ");
        assert_eq!(plan.stop_reason, "max_tokens");
    }

    #[test]
    fn word_chunks_concatenate_back_to_the_text() {
        let text = "  Fake model\nreply  to: hi ";
        let chunks = word_chunks(text);
        assert_eq!(chunks, ["  Fake ", "model\n", "reply  ", "to: ", "hi "]);
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn directives_are_removed_and_unknown_brackets_kept() {
        let (clean, directives) = split_directives("hello [[slow:5]] [[x]] world [[throttle]]");
        assert_eq!(clean, "hello [[x]] world");
        assert_eq!(
            directives,
            [
                ("slow".to_owned(), Some("5".to_owned())),
                ("throttle".to_owned(), None)
            ]
        );
    }
}
