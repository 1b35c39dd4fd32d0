//! Following a stack while CloudFormation works on it: each new event as a line, and on a
//! terminal a progress line kept at the bottom.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use tokio::sync::Notify;

use super::cfn::{self, Backoff};
use super::rollout::RolloutWatch;
use crate::review::{self, Palette, Progress, StackEvent};

/// How the stack ended and every event seen on the way, oldest first.
pub struct Followed {
    pub status: String,
    /// The stack's own status reason at the end, when it gives one.
    pub reason: Option<String>,
    pub events: Vec<StackEvent>,
}

/// What became of a wait that Ctrl-C may cut short.
pub enum Waited<T> {
    Done(T),
    Interrupted,
}

/// Whether a wait that Ctrl-C ends (rather than the process) is running.
static WAITING: AtomicBool = AtomicBool::new(false);
static INTERRUPTS: OnceLock<Arc<Notify>> = OnceLock::new();

/// The process's one Ctrl-C listener, started by the first interruptible wait. Once installed
/// it replaces the default for good, so outside a wait it ends the process itself, with the
/// exit code a shell gives a process ended by Ctrl-C.
fn interrupts() -> Arc<Notify> {
    INTERRUPTS
        .get_or_init(|| {
            let notify = Arc::new(Notify::new());
            let listener = notify.clone();
            tokio::spawn(async move {
                // An error means no handler could be installed: the default stays.
                while tokio::signal::ctrl_c().await.is_ok() {
                    if WAITING.load(Ordering::SeqCst) {
                        listener.notify_one();
                    } else {
                        eprintln!("Interrupted");
                        std::process::exit(130);
                    }
                }
            });
            notify
        })
        .clone()
}

/// Runs `work` until it ends or Ctrl-C is pressed. Only the waiting stops: whatever
/// CloudFormation is doing goes on.
pub async fn unless_interrupted<T>(work: impl Future<Output = T>) -> Waited<T> {
    let interrupts = interrupts();
    WAITING.store(true, Ordering::SeqCst);
    let waited = tokio::select! {
        done = work => Waited::Done(done),
        () = interrupts.notified() => Waited::Interrupted,
    };
    WAITING.store(false, Ordering::SeqCst);
    waited
}

/// What to say after Ctrl-C stopped the following of `operation` (`the update`) on a stack.
pub fn interrupted_message(stack_name: &str, operation: &str, env_name: &str) -> String {
    format!(
        "Stopped following stack {stack_name}: {operation} goes on in AWS (Ctrl-C cancels \
         nothing there)\nSee where it is with `cargo xtask status --env {env_name}` or in the \
         CloudFormation console; run the command again once it has finished"
    )
}

/// How events are shown.
#[derive(Clone, Copy)]
pub struct Display {
    pub palette: Palette,
    /// Redraw a progress line in place (only on a terminal).
    pub live: bool,
}

/// Follows `stack` (an id, so a deleted stack is still found) from the event after `since`
/// until it leaves every `_IN_PROGRESS` state; with `rollout`, also the traffic shift while
/// CloudFormation waits on it.
pub async fn follow(
    cfn: &Client,
    stack: &str,
    since: Option<String>,
    display: Display,
    limit: Duration,
    mut rollout: Option<&mut RolloutWatch>,
) -> anyhow::Result<Followed> {
    let started = Instant::now();
    let mut marker = since;
    let mut seen: Vec<StackEvent> = Vec::new();
    let mut backoff = Backoff::new();
    let mut tick = 0usize;
    let mut stdout = std::io::stdout();
    loop {
        let (status, reason) = match cfn::describe_stack(cfn, stack).await? {
            Some(found) => (found.status, found.status_reason),
            None => ("DELETE_COMPLETE".to_owned(), None),
        };
        let fresh = cfn::events_after(cfn, stack, marker.as_deref()).await?;
        if let Some(last) = fresh.last() {
            marker = Some(last.event_id.clone());
        }
        if display.live {
            write!(stdout, "\r\x1b[2K")?;
        }
        for event in &fresh {
            writeln!(stdout, "{}", review::render_event(event, display.palette))?;
        }
        seen.extend(fresh);
        if let Some(watch) = rollout.as_deref_mut() {
            for line in watch.poll(&seen).await {
                writeln!(stdout, "{line}")?;
            }
        }
        let settled = !status.ends_with("_IN_PROGRESS");
        if settled {
            stdout.flush()?;
            return Ok(Followed {
                status,
                reason,
                events: seen,
            });
        }
        if started.elapsed() > limit {
            anyhow::bail!(
                "stack {stack} was still {status} after {} min; it goes on in AWS: follow it \
                 with `cargo xtask status`",
                limit.as_secs() / 60
            );
        }
        // Wait for the next poll, turning the spinner meanwhile.
        let wait = backoff_step(&mut backoff);
        let until = Instant::now() + wait;
        loop {
            if display.live {
                let progress = Progress::from_events(
                    stack_label(stack),
                    &status,
                    &seen,
                    started.elapsed().as_secs_f64(),
                );
                write!(
                    stdout,
                    "\r\x1b[2K{}",
                    review::render_progress(&progress, tick, display.palette)
                )?;
                stdout.flush()?;
                tick += 1;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left.min(Duration::from_millis(100))).await;
        }
    }
}

fn backoff_step(backoff: &mut Backoff) -> Duration {
    let step = backoff.peek();
    backoff.advance();
    step
}

/// `chatbot-dev` out of `arn:aws:cloudformation:…:stack/chatbot-dev/<uuid>`.
fn stack_label(stack: &str) -> &str {
    stack
        .strip_prefix("arn:")
        .and_then(|_| stack.split('/').nth(1))
        .unwrap_or(stack)
}
