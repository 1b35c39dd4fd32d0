//! One chat turn: rate limit, budget, save the user's message, build the history, call the
//! model (retrying only before anything reached the client), answer as JSON or as a stream,
//! save the answer with what it cost, count the tokens and dollars, write the metrics.
//!
//! Store calls on the critical path run at once where they do not depend on each other:
//!
//! - before the model: counting the request in its rate window, reading the day's spend and
//!   reading the session's history are one round trip, not three (a question that replaces an
//!   earlier one drops that one and what followed it once the request is admitted: one more);
//! - the user's message is saved once the request is admitted: before the model is called for
//!   a JSON answer, while the model's stream opens for a streamed one. The stream is handed to
//!   the client only after the save succeeded, and dropped unread when it failed, so no answer
//!   ever starts for a message that was not saved;
//! - after the answer: saving it and adding its tokens and dollars to the day's spend are one
//!   round trip.
//!
//! The turn speaks no HTTP: it fails with a [`ChatError`] and streams [`ChatEvent`]s, which
//! `http/` turns into statuses, JSON bodies and server-sent events.

mod error;
mod events;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::Instrument;

pub use error::{ChatError, ChatFailure};
pub use events::{ChatEvent, Ended, Started};

use crate::auth::User;
use crate::clock;
use crate::config::ModelInfo;
use crate::cost::{ModelPrice, ReplyCost, Spend};
use crate::guardrail::{self, Assessment, Blocked, Outcome};
use crate::metrics::Unit;
use crate::model::{
    FailureKind, ModelError, ModelRequest, ModelStream, Reply, RetryPolicy, StreamEvent, Turn,
    Usage, call_trimming, count_throttle, estimate_tokens,
};
use crate::rate_bucket;
use crate::state::AppState;
use crate::store::{
    Admission, AnswerDetails, Message, MessageId, Owner, Ownership, Role, SessionId, StopReason,
};
use chatbot_contract::metrics as names;

/// A validated chat request.
#[derive(Debug, Clone)]
pub struct ChatInput {
    pub message: String,
    /// The conversation to continue; a new one when absent.
    pub session: Option<SessionId>,
    /// A user message of `session` this one replaces: it and everything after it are dropped
    /// first (an edited question, or the same one asked again for a new answer).
    pub replaces: Option<MessageId>,
    /// The allowlisted model to answer with.
    pub model: ModelInfo,
}

/// A turn admitted, with its history read, ready for its question to be saved and the model
/// to be called.
pub struct ChatTurn {
    session: SessionId,
    /// The user's message, as it will be saved.
    question: Message,
    /// When the user's message expires from history.
    question_expires_at: i64,
    /// The id the answer will be saved under, given out before it is written.
    answer_id: MessageId,
    /// The model id the answer is reported and saved with: the model's, or the demo model's.
    answered_by: String,
    /// What the answering model charges; `None` for a model without a price and for the
    /// offline demo model, which costs nothing.
    price: Option<ModelPrice>,
    request: ModelRequest,
    /// The signed-in person whose chat this is (`users` mode).
    owner: Option<Owner>,
    /// What the person has left as the turn starts (`users` mode).
    limits: Option<PersonLimits>,
}

/// A signed-in person's limits and what is left of them when a turn starts.
#[derive(Debug, Clone, Copy)]
pub struct PersonLimits {
    pub turns: u32,
    pub window_seconds: u32,
    pub turns_used: u32,
    /// Seconds until the rate window starts again.
    pub window_reset: i64,
    pub tokens: u64,
    pub tokens_used: u64,
    /// Seconds until midnight UTC, when the day's tokens come back.
    pub day_reset: i64,
}

impl ChatTurn {
    /// What a signed-in person has left as the turn starts; `None` in public mode.
    pub fn limits(&self) -> Option<PersonLimits> {
        self.limits
    }

    /// The conversation and the user's message, once saved: a failure from then on leaves the
    /// question without an answer, and a retry replaces it.
    fn saved_question(&self) -> (SessionId, MessageId) {
        (self.session, self.question.id.clone())
    }
}

/// A turn answered at once (Converse), with its answer as saved.
#[derive(Debug)]
pub struct Answer {
    pub session: SessionId,
    /// The question's id, to replace it (edit it, or ask for another answer).
    pub question_id: MessageId,
    /// The answer as saved: its id, its text (the guardrail's message when it blocked the
    /// turn), when it was saved and what it cost.
    pub message: Message,
    /// The model id the answer is reported and saved with.
    pub answered_by: String,
    pub usage: Usage,
    pub stop_reason: String,
    pub latency_ms: u64,
    /// What the guardrail did, when it acted.
    pub guardrail: Option<Outcome>,
}

/// Admits the request (rate limit, budget), then saves the user's message before any model
/// call, so no later failure loses it.
///
/// In `users` mode (`user` set) the rate window and a daily token quota count per person, and
/// a chat of someone else (or of public mode) answers 404 as if it did not exist.
pub async fn start_turn(
    state: &AppState,
    client: Option<IpAddr>,
    user: Option<&User>,
    input: ChatInput,
) -> Result<ChatTurn, ChatError> {
    let config = &state.config;
    let now_ms = clock::now_ms();
    let now = now_ms.div_euclid(1000);

    let person = user.zip(config.auth.users());
    let owner = person.map(|(user, _)| Owner::new(user.id.clone()));
    let (client, rate_limit, window) = match person {
        Some((user, users)) => (
            format!("user:{}", user.id),
            users.rate_limit,
            i64::from(users.rate_window_seconds),
        ),
        // Without a known address every such request shares one bucket: stricter, never
        // looser.
        None => (
            client.map_or_else(
                || "unknown".to_owned(),
                |ip| rate_bucket::key(ip, config.ipv6_prefix),
            ),
            config.rate_limit,
            i64::from(config.rate_window_seconds),
        ),
    };
    let window_start = now - now.rem_euclid(window);
    let admission = state.store.count_request(
        &client,
        window_start,
        rate_limit,
        window_start + window + 60,
    );
    let today = clock::utc_day(now);
    let ownership = async {
        match (&owner, input.session) {
            (Some(_), Some(session)) => Some(state.store.ownership(session).await),
            _ => None,
        }
    };
    let tokens_used = async {
        match &owner {
            Some(owner) => Some(state.store.user_tokens(owner, &today).await),
            None => None,
        }
    };
    let spent = state.store.spent(&today);
    let limit = state.tuning.history_messages;
    let replaces = input.session.zip(input.replaces.as_ref());
    let history_read = async {
        match (input.session, replaces) {
            (Some(session), Some((_, replaced))) => {
                state
                    .store
                    .messages_before(session, Some(replaced), limit)
                    .await
            }
            (Some(session), None) => state.store.recent_messages(session, limit).await,
            (None, _) => Ok(Vec::new()),
        }
    };
    let (admission, spent, past, ownership, tokens_used) =
        tokio::join!(admission, spent, history_read, ownership, tokens_used);

    // The rate limit decides first: a limited client learns nothing else.
    let admission = admission.map_err(|err| store_failed(state, err))?;
    let tokens_used = tokens_used
        .transpose()
        .map_err(|err| store_failed(state, err))?;
    let limits = person.map(|(_, users)| PersonLimits {
        turns: users.rate_limit,
        window_seconds: users.rate_window_seconds,
        turns_used: admission.used,
        window_reset: window_start + window - now,
        tokens: users.daily_token_quota,
        tokens_used: tokens_used.unwrap_or(0),
        day_reset: 86_400 - now.rem_euclid(86_400),
    });
    // Refusals of a signed-in person say what they have left.
    let refuse = |failure: ChatFailure| ChatError::from(failure).with_limits(limits);
    if admission.admission == Admission::Limited {
        state.metrics.count(names::RATE_LIMITED);
        let retry_after_secs = u64::try_from(window_start + window - now).unwrap_or(1);
        if person.is_some() {
            tracing::info!("rate limited (per person)");
            return Err(refuse(ChatFailure::PersonRateLimited { retry_after_secs }));
        }
        tracing::info!(client = %client, "rate limited");
        return Err(ChatFailure::RateLimited { retry_after_secs }.into());
    }
    if let Some(ownership) = ownership {
        match ownership.map_err(|err| store_failed(state, err))? {
            Ownership::None => {}
            Ownership::Owned(found) if Some(&found) == owner.as_ref() => {}
            Ownership::Owned(_) | Ownership::Public => {
                return Err(refuse(ChatFailure::NoSuchSession));
            }
        }
    }
    let spent = spent.map_err(|err| store_failed(state, err))?;
    let budget = config.budget();
    if budget.is_spent(spent) {
        state.metrics.count(names::BUDGET_EXHAUSTED);
        tracing::warn!(
            spent_tokens = spent.tokens,
            spent_micro_usd = spent.micro_usd,
            token_budget = budget.tokens,
            cost_budget_micro_usd = budget.micro_usd,
            "daily budget spent"
        );
        return Err(refuse(ChatFailure::BudgetExhausted));
    }
    if let Some(limits) = limits
        && limits.tokens_used >= limits.tokens
    {
        state.metrics.count(names::QUOTA_EXHAUSTED);
        tracing::info!(
            tokens_used = limits.tokens_used,
            quota = limits.tokens,
            "daily token quota of the person spent"
        );
        return Err(refuse(ChatFailure::QuotaExhausted {
            retry_after_secs: u64::try_from(limits.day_reset).unwrap_or(1),
        }));
    }

    let past = past.map_err(|err| store_failed(state, err))?;
    if let Some((session, replaced)) = replaces {
        drop_replaced(state, session, replaced).await?;
    }

    let session = input.session.unwrap_or_else(SessionId::new_random);
    let question = Message {
        model: Some(input.model.id.clone()),
        ..Message::new(Role::User, input.message.clone(), now_ms)
    };
    let answer_id = MessageId::new(now_ms);
    let mut messages = history(&past, state.tuning.history_chars);
    messages.push(Turn {
        role: Role::User,
        text: input.message,
    });
    // The demo model is not the model picked: its answers say so, here and in history.
    let (answered_by, price) = if state.model.is_demo() {
        (crate::model::DEMO_MODEL_ID.to_owned(), None)
    } else {
        (input.model.id.clone(), input.model.price.clone())
    };
    Ok(ChatTurn {
        session,
        question,
        question_expires_at: config.history_expiry(now),
        answer_id,
        answered_by,
        price,
        request: ModelRequest {
            model_id: input.model.id.clone(),
            system_prompt: config.system_prompt.clone(),
            messages,
            max_output_tokens: config.max_output_tokens,
            guardrail: config.guardrail.clone(),
        },
        owner,
        limits,
    })
}

/// Drops the question `replaced` and everything after it from the session, before the question
/// that replaces it is saved.
async fn drop_replaced(
    state: &AppState,
    session: SessionId,
    replaced: &MessageId,
) -> Result<(), ChatError> {
    let dropped = state
        .store
        .truncate_session(session, replaced)
        .await
        .map_err(|err| store_failed(state, err))?;
    if !dropped {
        return Err(ChatFailure::NoSuchQuestion.into());
    }
    Ok(())
}

/// Counts and logs a store failure that ends the turn; a chat found to be someone else's ends
/// it as if it did not exist.
fn store_failed(state: &AppState, err: crate::store::StoreError) -> ChatError {
    if matches!(err, crate::store::StoreError::NotOwner) {
        return ChatFailure::NoSuchSession.into();
    }
    state.store_failed(&err);
    ChatFailure::Store(err).into()
}

/// Counts and logs a model failure that ends the turn before any of an answer streamed.
fn model_failed(state: &AppState, err: ModelError, attempts: u32) -> ChatError {
    state.metrics.count(names::MODEL_ERRORS);
    tracing::error!(error = %err.message, kind = ?err.kind, attempts, "model call failed");
    ChatFailure::Model(err).into()
}

/// Saves the user's message, so no later failure loses it.
async fn save_question(
    state: &AppState,
    session: SessionId,
    owner: Option<&Owner>,
    question: &Message,
    expires_at: i64,
) -> Result<(), ChatError> {
    save_message(state, session, owner, question, expires_at)
        .await
        .map_err(|err| store_failed(state, err))
}

/// Appends `message` to the session, as its owner's in `users` mode.
async fn save_message(
    state: &AppState,
    session: SessionId,
    owner: Option<&Owner>,
    message: &Message,
    expires_at: i64,
) -> Result<(), crate::store::StoreError> {
    match owner {
        Some(owner) => {
            state
                .store
                .append_owned_message(session, owner, message, expires_at)
                .await
        }
        None => {
            state
                .store
                .append_message(session, message, expires_at)
                .await
        }
    }
}

/// The past of a conversation as the model wants it: starting with a user message, roles
/// alternating, ending with an answer (a question left unanswered by a failed turn, or whose
/// answer a guardrail blocked, is left out; a prompt a guardrail blocked too), and no more than
/// `max_chars` characters, dropping the oldest exchanges first.
pub fn history(past: &[Message], max_chars: usize) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::new();
    for message in past
        .iter()
        .filter(|m| m.blocked.is_none() && !m.content.trim().is_empty())
    {
        match turns.last_mut() {
            Some(last) if last.role == message.role => {
                if message.role == Role::User {
                    // The earlier question went unanswered; the later one stands for both.
                    last.text.clone_from(&message.content);
                } else {
                    last.text.push_str("\n\n");
                    last.text.push_str(&message.content);
                }
            }
            None if message.role == Role::Assistant => {}
            _ => turns.push(Turn {
                role: message.role,
                text: message.content.clone(),
            }),
        }
    }
    if turns.last().is_some_and(|t| t.role == Role::User) {
        turns.pop();
    }
    let mut total: usize = turns.iter().map(|t| t.text.chars().count()).sum();
    while total > max_chars && turns.len() >= 2 {
        total -= turns[0].text.chars().count() + turns[1].text.chars().count();
        turns.drain(..2);
    }
    turns
}

fn retry_policy(state: &AppState) -> RetryPolicy {
    RetryPolicy {
        attempts: state.tuning.model_attempts.max(1),
        base: state.tuning.retry_base,
        max: state.tuning.retry_max,
    }
}

/// Saves the question, then answers the turn as one JSON object (Converse). The save comes
/// first: the whole answer arrives at once, and it would be paid for and thrown away if the
/// save then failed. An error after the save names the saved question.
pub async fn answer_json(state: &AppState, turn: ChatTurn) -> Result<Answer, ChatError> {
    save_question(
        state,
        turn.session,
        turn.owner.as_ref(),
        &turn.question,
        turn.question_expires_at,
    )
    .await?;
    let saved = turn.saved_question();
    answer_saved_json(state, turn)
        .await
        .map_err(|err| err.with_saved_question(saved))
}

async fn answer_saved_json(state: &AppState, mut turn: ChatTurn) -> Result<Answer, ChatError> {
    let started = Instant::now();
    let mut attempts = 0;
    let timeout = state.tuning.model_timeout;
    let result = call_trimming(
        &retry_policy(state),
        &state.metrics,
        &mut turn.request,
        &mut attempts,
        |request| async move {
            match tokio::time::timeout(timeout, state.model.converse(&request)).await {
                Ok(result) => result,
                Err(_) => Err(ModelError::new(
                    FailureKind::Timeout,
                    "the model did not answer in time",
                )),
            }
        },
    )
    .await;
    let reply: Reply = match result {
        Ok(reply) => reply,
        Err(err) => return Err(model_failed(state, err, attempts)),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    let outcome = intervention(
        state,
        &reply.stop_reason,
        reply.guardrail.as_ref(),
        &reply.text,
    );
    let answer = match outcome {
        Some(Outcome::Blocked(source)) => {
            let assessment = reply.guardrail.as_ref();
            let ending = Ending::new(&reply.stop_reason, reply.usage, latency_ms);
            finish_blocked(state, &turn, source, assessment, ending).await
        }
        _ => {
            if outcome == Some(Outcome::Masked) {
                log_masked(reply.guardrail.as_ref());
            }
            let ending = Ending::new(&reply.stop_reason, reply.usage, latency_ms);
            finish(state, &turn, &reply.text, ending, None).await
        }
    };
    Ok(Answer {
        session: turn.session,
        question_id: turn.question.id,
        message: answer,
        answered_by: turn.answered_by,
        usage: reply.usage,
        stop_reason: reply.stop_reason,
        latency_ms,
        guardrail: outcome,
    })
}

/// What the guardrail did to a turn that ended with `stop_reason`, if it acted.
fn intervention(
    state: &AppState,
    stop_reason: &str,
    assessment: Option<&Assessment>,
    text: &str,
) -> Option<Outcome> {
    let config = state.config.guardrail.as_ref()?;
    (stop_reason == guardrail::INTERVENED).then(|| guardrail::outcome(assessment, text, config))
}

/// Finishes a turn the guardrail blocked: counts and logs it, drops the text of a blocked
/// prompt from history, and saves the guardrail's message marked blocked in place of an
/// answer. Returns that message as saved, which the client gets.
async fn finish_blocked(
    state: &AppState,
    turn: &ChatTurn,
    source: Blocked,
    assessment: Option<&Assessment>,
    ending: Ending<'_>,
) -> Message {
    state.metrics.count(names::GUARDRAIL_BLOCKED);
    tracing::info!(
        source = source.as_str(),
        policies = %policies(assessment),
        "guardrail blocked the turn"
    );
    if source == Blocked::Input
        && let Err(err) = state
            .store
            .withhold_message(turn.session, &turn.question.id)
            .await
    {
        state.store_failed(&err);
    }
    let message = state
        .config
        .guardrail
        .as_ref()
        .map(|g| g.blocked_message(source).to_owned())
        .unwrap_or_default();
    finish(state, turn, &message, ending, Some(source)).await
}

fn log_masked(assessment: Option<&Assessment>) {
    tracing::info!(
        policies = %policies(assessment),
        "guardrail masked part of the answer"
    );
}

/// The policies that acted, as `content:VIOLENCE,pii:EMAIL`; never what they matched.
fn policies(assessment: Option<&Assessment>) -> String {
    assessment.map(|a| a.policies.join(",")).unwrap_or_default()
}

/// Answers the turn as a stream of events (ConverseStream). The model's stream opens, with
/// retries, while the question is saved, and before the first event, so a refusal is still a
/// [`ChatError`] (naming the saved question); the events start only once the question is saved.
/// From [`ChatEvent::Started`] on, failures become [`ChatEvent::Failed`]. Dropping the receiver
/// tells the turn its reader left: what streamed is saved, marked disconnected.
pub async fn answer_stream(
    state: Arc<AppState>,
    mut turn: ChatTurn,
) -> Result<mpsc::Receiver<ChatEvent>, ChatError> {
    let started = Instant::now();
    let mut attempts = 0;
    let opened = {
        let save = save_question(
            &state,
            turn.session,
            turn.owner.as_ref(),
            &turn.question,
            turn.question_expires_at,
        );
        let open = open_stream(&state, &mut turn.request, &mut attempts);
        tokio::pin!(save, open);
        // The save always runs to its end, so a message is never left half-saved; the model's
        // stream is dropped unread as soon as the save fails.
        tokio::select! {
            saved = &mut save => {
                saved?;
                open.await
            }
            opened = &mut open => {
                save.await?;
                opened
            }
        }
    };
    let stream = match opened {
        Ok(stream) => stream,
        Err(err) => {
            let saved = turn.saved_question();
            return Err(model_failed(&state, err, attempts).with_saved_question(saved));
        }
    };
    let (events, receiver) = mpsc::channel::<ChatEvent>(64);
    let start = ChatEvent::Started(Started {
        session: turn.session,
        answered_by: turn.answered_by.clone(),
        answer_id: turn.answer_id.clone(),
        question_id: turn.question.id.clone(),
        question_created_at_ms: turn.question.created_at_ms,
    });
    // The channel is empty, so the first event always fits.
    let _ = events.try_send(start);
    tokio::spawn(
        relay(state, turn, stream, attempts, started, events).instrument(tracing::Span::current()),
    );
    Ok(receiver)
}

async fn open_stream(
    state: &AppState,
    request: &mut ModelRequest,
    attempts: &mut u32,
) -> Result<ModelStream, ModelError> {
    call_trimming(
        &retry_policy(state),
        &state.metrics,
        request,
        attempts,
        |request| async move { state.model.converse_stream(&request).await },
    )
    .await
}

/// Copies the model's stream to the reader, then saves the answer (marked incomplete when it
/// broke off) and sends [`ChatEvent::Done`] or [`ChatEvent::Failed`].
async fn relay(
    state: Arc<AppState>,
    mut turn: ChatTurn,
    mut stream: ModelStream,
    mut attempts: u32,
    started: Instant,
    events: mpsc::Sender<ChatEvent>,
) {
    let mut text = String::new();
    let mut usage: Option<Usage> = None;
    let mut assessment: Option<Assessment> = None;
    let mut stop_reason = String::from("end_turn");
    let mut failure: Option<ModelError> = None;
    let mut client_gone = false;
    let policy = retry_policy(&state);

    loop {
        // A reader who left (Stop, a closed tab) is noticed at once, not at the next chunk.
        let next = tokio::select! {
            next = tokio::time::timeout(state.tuning.model_idle_timeout, stream.next()) => next,
            () = events.closed() => {
                client_gone = true;
                break;
            }
        };
        match next {
            Ok(Ok(Some(StreamEvent::Text(delta)))) => {
                text.push_str(&delta);
                if events.send(ChatEvent::Text(delta)).await.is_err() {
                    client_gone = true;
                    break;
                }
            }
            Ok(Ok(Some(StreamEvent::Stop(reason)))) => stop_reason = reason,
            Ok(Ok(Some(StreamEvent::Usage(reported)))) => usage = Some(reported),
            Ok(Ok(Some(StreamEvent::Guardrail(trace)))) => assessment = Some(trace),
            Ok(Ok(None)) => break,
            Ok(Err(err))
                if text.is_empty() && err.kind.is_retriable() && attempts < policy.attempts =>
            {
                // Nothing of the answer reached the client yet, so another try is invisible.
                count_throttle(&state.metrics, &err);
                tracing::warn!(error = %err.message, kind = ?err.kind, attempt = attempts, "model stream failed before its first token, retrying");
                tokio::time::sleep(policy.backoff(attempts)).await;
                match open_stream(&state, &mut turn.request, &mut attempts).await {
                    Ok(reopened) => stream = reopened,
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                }
            }
            Ok(Err(err)) => {
                count_throttle(&state.metrics, &err);
                failure = Some(err);
                break;
            }
            Err(_) => {
                failure = Some(ModelError::new(
                    FailureKind::Timeout,
                    format!(
                        "the model was silent for {} seconds",
                        state.tuning.model_idle_timeout.as_secs()
                    ),
                ));
                break;
            }
        }
    }

    let latency_ms = started.elapsed().as_millis() as u64;
    let usage = usage.unwrap_or_else(|| estimated_usage(&turn.request, &text));
    if failure.is_some() {
        stop_reason = StopReason::ERROR.to_owned();
    } else if client_gone {
        stop_reason = StopReason::DISCONNECTED.to_owned();
    }
    let ending = Ending::new(&stop_reason, usage, latency_ms);
    let outcome = if ending.incomplete() {
        None
    } else {
        intervention(&state, &stop_reason, assessment.as_ref(), &text)
    };
    let answer = match outcome {
        Some(Outcome::Blocked(source)) => {
            finish_blocked(&state, &turn, source, assessment.as_ref(), ending).await
        }
        _ => {
            if outcome == Some(Outcome::Masked) {
                log_masked(assessment.as_ref());
            }
            finish(&state, &turn, &text, ending, None).await
        }
    };

    if client_gone {
        tracing::info!(
            chars = text.len(),
            "client went away mid-answer; saved what was written"
        );
        return;
    }
    // On an error, what the part that streamed cost, so the page shows it beside what it keeps.
    let ended = Ended {
        usage,
        cost: answer_cost(&answer),
        created_at_ms: answer.created_at_ms,
        stop_reason,
        latency_ms,
    };
    let last = match failure {
        None => ChatEvent::Done {
            ended,
            guardrail: outcome,
            // The reader shows this in place of what streamed (the blocked message, after any
            // chunks the guardrail had let through).
            blocked_message: matches!(outcome, Some(Outcome::Blocked(_))).then_some(answer.content),
        },
        Some(error) => {
            state.metrics.count(names::MODEL_ERRORS);
            tracing::error!(error = %error.message, kind = ?error.kind, chars = text.len(), "model stream failed");
            ChatEvent::Failed { ended, error }
        }
    };
    let _ = events.send(last).await;
}

/// The service's estimate of what a turn whose usage never arrived spent: the prompt it sent
/// and the text that came back, at about four characters a token. Nothing when no text came
/// back (the same as before dollars were counted): the model may still have read the prompt,
/// so such a turn can cost a little more than counted.
fn estimated_usage(request: &ModelRequest, text: &str) -> Usage {
    if text.is_empty() {
        return Usage {
            estimated: true,
            ..Usage::default()
        };
    }
    Usage {
        input_tokens: request
            .messages
            .iter()
            .map(|turn| estimate_tokens(&turn.text))
            .sum::<u64>()
            + estimate_tokens(&request.system_prompt),
        output_tokens: estimate_tokens(text),
        estimated: true,
        ..Usage::default()
    }
}

/// How a turn's model call ended.
#[derive(Clone, Copy)]
struct Ending<'a> {
    stop_reason: &'a str,
    usage: Usage,
    latency_ms: u64,
}

impl<'a> Ending<'a> {
    fn new(stop_reason: &'a str, usage: Usage, latency_ms: u64) -> Self {
        Ending {
            stop_reason,
            usage,
            latency_ms,
        }
    }

    /// Whether the answer broke off (an error, or the reader left) rather than ended.
    fn incomplete(&self) -> bool {
        [StopReason::ERROR, StopReason::DISCONNECTED].contains(&self.stop_reason)
    }
}

/// Saves the answer (or, `blocked`, the guardrail's message in its place) with how it ended
/// and what it cost and adds its tokens and dollars to the day's spend, both at once, and
/// writes the turn's metrics. An empty answer is not saved. A store failure here is logged and counted: the
/// answer already reached the client. Returns the answer as saved.
async fn finish(
    state: &AppState,
    turn: &ChatTurn,
    text: &str,
    ending: Ending<'_>,
    blocked: Option<Blocked>,
) -> Message {
    let Ending {
        usage, latency_ms, ..
    } = ending;
    let incomplete = ending.incomplete();
    let now_ms = clock::now_ms();
    let now = now_ms.div_euclid(1000);
    let cost = turn
        .price
        .as_ref()
        .map(|price| ReplyCost::of(price, &usage));
    let answer = Message {
        id: turn.answer_id.clone(),
        model: Some(turn.answered_by.clone()),
        incomplete,
        blocked,
        details: Some(AnswerDetails {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost_micro_usd: cost.map(|c| c.micro_usd),
            usage_estimated: usage.estimated,
            latency_ms,
            stop_reason: ending.stop_reason.to_owned(),
        }),
        ..Message::new(Role::Assistant, text, now_ms)
    };
    let save_answer = async {
        if !text.is_empty()
            && let Err(err) = save_message(
                state,
                turn.session,
                turn.owner.as_ref(),
                &answer,
                state.config.history_expiry(now),
            )
            .await
        {
            state.store_failed(&err);
        }
    };
    // Cache tokens are input the model read or wrote besides `input_tokens`.
    let spend = Spend {
        tokens: usage.input_tokens
            + usage.output_tokens
            + usage.cache_read_input_tokens
            + usage.cache_write_input_tokens,
        micro_usd: cost.map_or(0, |c| c.micro_usd),
    };
    // Each budget shard lives a day past its day, then expires.
    let count_spend = async {
        if spend == Spend::default() {
            return None;
        }
        match state
            .store
            .add_spend(&clock::utc_day(now), spend, now + 2 * 86_400)
            .await
        {
            Ok(total) => Some(total),
            Err(err) => {
                state.store_failed(&err);
                None
            }
        }
    };
    // The person's own count for the day, kept two days like the budget's.
    let count_person = async {
        if let Some(owner) = &turn.owner
            && spend.tokens > 0
            && let Err(err) = state
                .store
                .add_user_tokens(owner, &clock::utc_day(now), spend.tokens, now + 2 * 86_400)
                .await
        {
            state.store_failed(&err);
        }
    };
    let ((), total, ()) = tokio::join!(save_answer, count_spend, count_person);
    let mut values = vec![
        (names::INPUT_TOKENS, Unit::Count, usage.input_tokens as f64),
        (
            names::OUTPUT_TOKENS,
            Unit::Count,
            usage.output_tokens as f64,
        ),
        (names::MODEL_LATENCY, Unit::Milliseconds, latency_ms as f64),
    ];
    if let Some(cost) = cost {
        values.push((names::COST, Unit::Count, cost.micro_usd as f64));
    }
    if let Some(total) = total {
        values.push((
            names::BUDGET_USED_PERCENT,
            Unit::Percent,
            state.config.budget().used_percent(total),
        ));
    }
    state.metrics.put(&values);
    tracing::info!(
        model = %turn.answered_by,
        input_tokens = usage.input_tokens,
        output_tokens = usage.output_tokens,
        cost_micro_usd = cost.map(|c| c.micro_usd),
        usage_estimated = usage.estimated,
        latency_ms,
        incomplete,
        "chat turn finished"
    );
    answer
}

/// What a saved answer cost, `None` for a model without a price.
pub fn answer_cost(answer: &Message) -> Option<ReplyCost> {
    let details = answer.details.as_ref()?;
    Some(ReplyCost::stored(
        details.cost_micro_usd?,
        details.usage_estimated,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: Role, content: &str) -> Message {
        Message::new(role, content, 0)
    }

    fn turns(list: &[Turn]) -> Vec<(Role, &str)> {
        list.iter().map(|t| (t.role, t.text.as_str())).collect()
    }

    #[test]
    fn history_alternates_and_ends_with_an_answer() {
        use Role::{Assistant as A, User as U};
        let past = [
            message(A, "orphan answer"),
            message(U, "q1"),
            message(A, "a1"),
            message(U, "unanswered"),
            message(U, "q2"),
            message(A, "a2 part"),
            message(A, "a2 rest"),
            message(U, "failed turn"),
        ];
        assert_eq!(
            turns(&history(&past, 10_000)),
            [(U, "q1"), (A, "a1"), (U, "q2"), (A, "a2 part\n\na2 rest")]
        );
    }

    #[test]
    fn history_leaves_out_what_a_guardrail_blocked() {
        use Role::{Assistant as A, User as U};
        let blocked = |role, content: &str, source| Message {
            blocked: Some(source),
            ..message(role, content)
        };
        let past = [
            message(U, "q1"),
            message(A, "a1"),
            // A blocked prompt: its text is gone, the guardrail's message stands in.
            blocked(U, "", Blocked::Input),
            blocked(A, "Not that.", Blocked::Input),
            // A blocked answer: the question it answered goes too.
            message(U, "q3"),
            blocked(A, "Cannot say.", Blocked::Output),
            message(U, "q4"),
            message(A, "a4"),
            message(U, "q5"),
            blocked(A, "Cannot say.", Blocked::Output),
        ];
        assert_eq!(
            turns(&history(&past, 10_000)),
            [(U, "q1"), (A, "a1"), (U, "q4"), (A, "a4")]
        );
    }

    #[test]
    fn history_drops_the_oldest_exchanges_first() {
        use Role::{Assistant as A, User as U};
        let past = [
            message(U, "aaaaaaaaaa"),
            message(A, "bbbbbbbbbb"),
            message(U, "cc"),
            message(A, "dd"),
        ];
        assert_eq!(turns(&history(&past, 10)), [(U, "cc"), (A, "dd")]);
        assert!(history(&past, 1).is_empty());
    }
}
