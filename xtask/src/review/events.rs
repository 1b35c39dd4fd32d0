//! Stack events while a deploy runs, and what went wrong when it fails.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Palette, StackStatus};

/// One entry of DescribeStackEvents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackEvent {
    pub event_id: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: StackStatus,
    pub reason: Option<String>,
}

impl StackEvent {
    /// Whether the event is about the stack itself rather than one of its resources.
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// One event on one line: time, status, logical ID, type, reason.
pub fn render_event(event: &StackEvent, palette: Palette) -> String {
    let time = event.timestamp.get(11..19).unwrap_or(&event.timestamp);
    let status = format!("{:<28}", event.status.as_str());
    let status = paint_status(&event.status, &status, palette);
    let mut line = format!(
        "{}  {status}  {:<24}  {}",
        palette.dim(time),
        event.logical_id,
        palette.dim(&event.resource_type)
    );
    if let Some(reason) = event.reason.as_deref().filter(|r| !r.is_empty()) {
        line.push_str("  ");
        line.push_str(reason);
    }
    line
}

fn paint_status(status: &StackStatus, text: &str, palette: Palette) -> String {
    if status.is_failed() {
        palette.red(text)
    } else if status.is_undoing() {
        palette.yellow(text)
    } else if status.is_complete() {
        palette.green(text)
    } else {
        text.to_owned()
    }
}

/// A resource that failed, with CloudFormation's reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub logical_id: String,
    pub resource_type: String,
    pub status: StackStatus,
    pub reason: String,
}

/// The failures among `events` (oldest first): the first failure of each resource, in the
/// order they happened. Resources CloudFormation only cancelled because another one failed
/// are left out when a real cause is there. When no resource failed, the stack's own failure.
pub fn failures(events: &[StackEvent]) -> Vec<Failure> {
    let failed: Vec<&StackEvent> = events.iter().filter(|e| e.status.is_failed()).collect();
    let resources: Vec<&StackEvent> = failed.iter().copied().filter(|e| !e.is_stack()).collect();
    let real: Vec<&StackEvent> = resources
        .iter()
        .copied()
        .filter(|e| !is_cancellation(e.reason.as_deref().unwrap_or("")))
        .collect();
    let chosen = if !real.is_empty() {
        real
    } else if !resources.is_empty() {
        resources
    } else {
        failed
    };
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for event in chosen {
        if seen.contains(&&event.logical_id) {
            continue;
        }
        seen.push(&event.logical_id);
        out.push(Failure {
            logical_id: event.logical_id.clone(),
            resource_type: event.resource_type.clone(),
            status: event.status.clone(),
            reason: event
                .reason
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "no reason given".to_owned()),
        });
    }
    out
}

/// [`failures`], or when no event shows one, the stack's own status reason as the failure
/// (DescribeStacks' `StackStatusReason`): a failure is never reported without its cause when
/// CloudFormation gave one.
pub fn failures_or_reason(
    events: &[StackEvent],
    stack_name: &str,
    final_status: &StackStatus,
    stack_reason: Option<&str>,
) -> Vec<Failure> {
    let found = failures(events);
    match stack_reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) if found.is_empty() => vec![Failure {
            logical_id: stack_name.to_owned(),
            resource_type: "AWS::CloudFormation::Stack".to_owned(),
            status: final_status.clone(),
            reason: reason.to_owned(),
        }],
        _ => found,
    }
}

fn is_cancellation(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("cancelled") || reason.contains("canceled")
}

/// What failed, one block per resource, under a line naming the stack's final state.
pub fn render_failures(
    stack_name: &str,
    final_status: &StackStatus,
    failures: &[Failure],
    palette: Palette,
) -> String {
    let doing = if final_status.is_delete() {
        "Deleting"
    } else {
        "Deploying"
    };
    let mut out = palette.red(&palette.bold(&format!(
        "{doing} {stack_name} failed: the stack is {final_status}"
    )));
    out.push('\n');
    if failures.is_empty() {
        out.push_str("  CloudFormation gave no reason; see the stack's events in the console\n");
    }
    for failure in failures {
        out.push_str(&format!(
            "  {} {} ({}) {}\n",
            palette.red("✗"),
            palette.bold(&failure.logical_id),
            failure.resource_type,
            failure.status
        ));
        for line in failure.reason.lines() {
            out.push_str(&format!("      {line}\n"));
        }
    }
    if *final_status == StackStatus::UpdateRollbackComplete {
        out.push_str("  The stack was rolled back to its previous state and still serves it\n");
    }
    out
}

/// The one report of an operation on `stack_name` that ended in `status` rather than as asked:
/// the resources that failed with CloudFormation's reasons (or the stack's own reason), under
/// a line naming the state.
pub fn render_failure_report(
    stack_name: &str,
    status: &StackStatus,
    reason: Option<&str>,
    events: &[StackEvent],
    palette: Palette,
) -> String {
    let failures = failures_or_reason(events, stack_name, status, reason);
    render_failures(stack_name, status, &failures, palette)
}

/// Why a stack in `ROLLBACK_COMPLETE` must be deleted before it can be deployed again.
pub fn explain_rollback_complete(stack_name: &str) -> String {
    format!(
        "Stack {stack_name} is in ROLLBACK_COMPLETE: its first create failed and CloudFormation \
         rolled it back.\nSuch a stack cannot be updated; it has to be deleted and created \
         again. It holds no resources except any kept by a Retain deletion policy.\n"
    )
}

/// The live progress line of a running deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub stack_name: String,
    pub stack_status: StackStatus,
    pub done: usize,
    pub in_progress: usize,
    pub failed: usize,
    pub elapsed_seconds: f64,
}

impl Progress {
    /// Counts each resource by its latest status in `events` (oldest first).
    pub fn from_events(
        stack_name: &str,
        stack_status: &StackStatus,
        events: &[StackEvent],
        elapsed_seconds: f64,
    ) -> Progress {
        let mut latest: BTreeMap<&str, &StackStatus> = BTreeMap::new();
        for event in events.iter().filter(|e| !e.is_stack()) {
            latest.insert(&event.logical_id, &event.status);
        }
        let count = |f: fn(&StackStatus) -> bool| latest.values().filter(|s| f(s)).count();
        Progress {
            stack_name: stack_name.to_owned(),
            stack_status: stack_status.clone(),
            done: count(StackStatus::is_done),
            in_progress: count(StackStatus::is_in_progress),
            failed: count(StackStatus::is_failed),
            elapsed_seconds,
        }
    }
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// `⠋ chatbot-dev UPDATE_IN_PROGRESS  5 done, 2 in progress  12.3s`; `tick` turns the spinner.
pub fn render_progress(progress: &Progress, tick: usize, palette: Palette) -> String {
    let mut counts = vec![
        format!("{} done", progress.done),
        format!("{} in progress", progress.in_progress),
    ];
    if progress.failed > 0 {
        counts.push(palette.red(&format!("{} failed", progress.failed)));
    }
    format!(
        "{} {} {}  {}  {}",
        palette.cyan(SPINNER[tick % SPINNER.len()]),
        palette.bold(&progress.stack_name),
        paint_status(
            &progress.stack_status,
            progress.stack_status.as_str(),
            palette
        ),
        counts.join(", "),
        palette.dim(&format!("{:.1}s", progress.elapsed_seconds))
    )
}
