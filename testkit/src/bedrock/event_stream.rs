//! ConverseStream's answer: the binary AWS event stream, its frames written one at a time
//! as the plan says, and exception frames for errors in the middle of a stream.

use super::*;

pub(super) fn converse_stream(plan: Plan, started: Instant, request_id: &str) -> Response<Body> {
    response(
        StatusCode::OK,
        "application/vnd.amazon.eventstream",
        request_id,
        Body::Stream(Box::new(EventStream {
            plan,
            started,
            phase: Phase::MessageStart,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            waiting: false,
            broken: None,
        })),
    )
}

/// The frames of one ConverseStream answer, produced as hyper asks for them: no task and no
/// buffer per stream, and nothing left running when the client goes away.
#[derive(Debug)]
pub(super) struct EventStream {
    pub(super) plan: Plan,
    pub(super) started: Instant,
    pub(super) phase: Phase,
    pub(super) timer: Pin<Box<tokio::time::Sleep>>,
    pub(super) waiting: bool,
    /// A `[[break]]` reached but not yet reported to hyper (see `poll_next`).
    pub(super) broken: Option<io::Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    MessageStart,
    FirstChunk,
    /// Before the chunk at `index`; `waited` once the pause before it is over.
    Chunk {
        index: usize,
        waited: bool,
    },
    ContentBlockStop,
    MessageStop,
    Metadata,
    Done,
}

impl EventStream {
    pub(super) fn wait(&mut self, delay: Duration) {
        if !delay.is_zero() {
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::now() + delay);
            self.waiting = true;
        }
    }

    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            if let Some(error) = self.broken.take() {
                return Poll::Ready(Some(Err(error)));
            }
            if self.waiting {
                std::task::ready!(self.timer.as_mut().poll(cx));
                self.waiting = false;
            }
            let frame = match self.phase {
                Phase::MessageStart => {
                    self.phase = Phase::FirstChunk;
                    event_frame("messageStart", &json!({"role": "assistant"}))
                }
                Phase::FirstChunk => {
                    self.phase = Phase::Chunk {
                        index: 0,
                        waited: true,
                    };
                    self.wait(self.plan.first_delay);
                    continue;
                }
                Phase::Chunk { index, waited } => {
                    let fault = match self.plan.mid_stream {
                        Some(MidStream::Break(after) | MidStream::Exception(after, _))
                            if after == index
                                || (index == self.plan.chunks.len() && after > index) =>
                        {
                            self.plan.mid_stream
                        }
                        _ => None,
                    };
                    match fault {
                        Some(MidStream::Exception(_, kind)) => {
                            self.phase = Phase::Done;
                            exception_frame(kind)
                        }
                        Some(MidStream::Break(_)) => {
                            // hyper drops its unflushed output when a body fails, and flushes
                            // whenever the body is pending: pend once so the frames before the
                            // break reach the client.
                            self.phase = Phase::Done;
                            self.broken = Some(io::Error::other("connection dropped on purpose"));
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        None if index == self.plan.chunks.len() => {
                            self.phase = Phase::ContentBlockStop;
                            continue;
                        }
                        None if !waited => {
                            self.phase = Phase::Chunk {
                                index,
                                waited: true,
                            };
                            self.wait(self.plan.token_delay);
                            continue;
                        }
                        None => {
                            self.phase = Phase::Chunk {
                                index: index + 1,
                                waited: false,
                            };
                            let text = &self.plan.chunks[index];
                            event_frame(
                                "contentBlockDelta",
                                &json!({"contentBlockIndex": 0, "delta": {"text": text}}),
                            )
                        }
                    }
                }
                Phase::ContentBlockStop => {
                    self.phase = Phase::MessageStop;
                    event_frame("contentBlockStop", &json!({"contentBlockIndex": 0}))
                }
                Phase::MessageStop => {
                    self.phase = Phase::Metadata;
                    event_frame("messageStop", &json!({"stopReason": self.plan.stop_reason}))
                }
                Phase::Metadata => {
                    self.phase = Phase::Done;
                    let latency_ms = self.started.elapsed().as_millis() as u64;
                    let mut metadata = json!({
                        "usage": self.plan.usage(),
                        "metrics": {"latencyMs": latency_ms},
                    });
                    if let Some(trace) = &self.plan.trace {
                        metadata["trace"] = json!({"guardrail": trace});
                    }
                    event_frame("metadata", &metadata)
                }
                Phase::Done => return Poll::Ready(None),
            };
            return Poll::Ready(Some(Ok(frame)));
        }
    }
}

pub(super) fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    })
}

pub(super) fn event_frame(event_type: &'static str, payload: &Value) -> Bytes {
    json_frame("event", (":event-type", event_type), payload)
}

pub(super) fn exception_frame(kind: ExceptionKind) -> Bytes {
    let (exception_type, message) = kind.describe();
    json_frame(
        "exception",
        (":exception-type", exception_type),
        &json!({"message": message}),
    )
}

/// A frame of `message_type` with a JSON payload, its type named by the `(header, value)`.
fn json_frame(
    message_type: &'static str,
    (type_header, type_value): (&'static str, &'static str),
    payload: &Value,
) -> Bytes {
    frame(
        Message::new(Bytes::from(payload.to_string()))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String(message_type.into()),
            ))
            .add_header(Header::new(
                type_header,
                HeaderValue::String(type_value.into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            )),
    )
}

pub(super) fn frame(message: Message) -> Bytes {
    let mut buffer = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut buffer)
        .expect("a frame with string headers and a small payload is always writable");
    Bytes::from(buffer)
}
