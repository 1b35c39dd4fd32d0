//! Following a stack while CloudFormation works on it: each new event as a line, and on a
//! terminal a progress line kept at the bottom.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use tokio::sync::Notify;

use crate::aws::cfn::{self, Backoff};
use crate::aws::rollout::RolloutWatch;
use crate::review::{self, Palette, Progress, StackEvent, StackStatus};
use crate::terminal;

/// How long a stack may take before we stop following it (it goes on in AWS).
const FOLLOW_LIMIT: Duration = Duration::from_secs(60 * 60);

/// How the stack ended and every event seen on the way, oldest first.
pub struct Followed {
    pub status: StackStatus,
    /// The stack's own status reason at the end, when it gives one.
    pub reason: Option<String>,
    pub events: Vec<StackEvent>,
}

impl Followed {
    /// The one failure report: what failed and why, for a stack that did not end as asked.
    pub fn failure_report(&self, stack_name: &str, palette: Palette) -> String {
        review::render_failure_report(
            stack_name,
            &self.status,
            self.reason.as_deref(),
            &self.events,
            palette,
        )
    }
}

/// How following an operation on a stack ended.
pub enum Ended {
    /// The stack left every `_IN_PROGRESS` state.
    Settled(Followed),
    /// Ctrl-C stopped the following, and what to do next was said: exit with this.
    Interrupted(ExitCode),
}

/// Follows `operation` (`the delete`) on the stack `stack_id` (named `stack_name`) from the
/// event after `since` until it settles, printing its events on the terminal; after Ctrl-C,
/// says that the operation goes on in AWS and how to see where it is.
pub async fn operation(
    cfn: &Client,
    stack_id: &str,
    stack_name: &str,
    since: Option<String>,
    what: Operation<'_>,
    rollout: Option<&mut RolloutWatch>,
) -> anyhow::Result<Ended> {
    let display = Display {
        palette: terminal::palette(),
        live: terminal::is_live(),
    };
    match unless_interrupted(follow(cfn, stack_id, since, display, FOLLOW_LIMIT, rollout)).await {
        Waited::Done(followed) => Ok(Ended::Settled(followed?)),
        Waited::Interrupted => {
            if display.live {
                println!();
            }
            eprintln!(
                "{}",
                interrupted_message(stack_name, what.name, what.env_name)
            );
            Ok(Ended::Interrupted(ExitCode::from(130)))
        }
    }
}

/// What is followed, for the message after Ctrl-C: `the update` of environment `dev`.
#[derive(Clone, Copy)]
pub struct Operation<'a> {
    pub name: &'a str,
    pub env_name: &'a str,
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
            None => (StackStatus::DeleteComplete, None),
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
        if !status.is_in_progress() {
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
