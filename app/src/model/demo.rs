//! The offline demo model for local runs without AWS credentials. It is not a model: it
//! streams a short canned answer that says so, so nobody mistakes it for Bedrock.

use std::collections::VecDeque;
use std::time::Duration;

use super::{ModelRequest, Reply, StreamEvent, Usage, estimate_tokens};
use crate::store::Role;

/// The model id the demo model's answers are reported and saved with, whichever model was
/// picked: they are not that model's.
pub const DEMO_MODEL_ID: &str = "offline-demo";

/// How the demo model's answers begin, and what the log says when it is in use.
pub const DEMO_NOTICE: &str = "This is the offline demo model, not a real model: no AWS credentials were found, so nothing was sent to Bedrock.";

#[derive(Debug, Clone)]
pub struct Demo {
    /// Pause before each streamed word, so the page shows a stream.
    pub word_delay: Duration,
}

impl Default for Demo {
    fn default() -> Self {
        Demo {
            word_delay: Duration::from_millis(40),
        }
    }
}

impl Demo {
    pub(super) async fn converse(
        &self,
        request: &ModelRequest,
    ) -> Result<Reply, super::ModelError> {
        let text = answer(request);
        Ok(Reply {
            usage: usage(request, &text),
            text,
            stop_reason: "end_turn".to_owned(),
            guardrail: None,
        })
    }

    pub(super) fn converse_stream(&self, request: &ModelRequest) -> DemoStream {
        let text = answer(request);
        let mut events: VecDeque<StreamEvent> = text
            .split_inclusive(' ')
            .map(|word| StreamEvent::Text(word.to_owned()))
            .collect();
        events.push_back(StreamEvent::Stop("end_turn".to_owned()));
        events.push_back(StreamEvent::Usage(usage(request, &text)));
        DemoStream {
            events,
            delay: self.word_delay,
        }
    }
}

pub struct DemoStream {
    events: VecDeque<StreamEvent>,
    delay: Duration,
}

impl DemoStream {
    pub(super) async fn next(&mut self) -> Option<StreamEvent> {
        let event = self.events.pop_front()?;
        if matches!(event, StreamEvent::Text(_)) {
            tokio::time::sleep(self.delay).await;
        }
        Some(event)
    }
}

fn answer(request: &ModelRequest) -> String {
    let said = request
        .messages
        .iter()
        .rev()
        .find(|turn| turn.role == Role::User)
        .map(|turn| turn.text.as_str())
        .unwrap_or_default();
    let mut quoted: String = said.chars().take(200).collect();
    if quoted.len() < said.len() {
        quoted.push('…');
    }
    let earlier = request.messages.len().saturating_sub(1);
    format!(
        "{DEMO_NOTICE} Set AWS credentials and run `cargo xtask dev` again to talk to {}. \
         This conversation has {earlier} earlier message{} and you said: \"{quoted}\"",
        request.model_id,
        if earlier == 1 { "" } else { "s" },
    )
}

fn usage(request: &ModelRequest, text: &str) -> Usage {
    Usage {
        input_tokens: request
            .messages
            .iter()
            .map(|turn| estimate_tokens(&turn.text))
            .sum::<u64>()
            + estimate_tokens(&request.system_prompt),
        output_tokens: estimate_tokens(text),
        ..Usage::default()
    }
}
