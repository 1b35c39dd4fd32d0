//! What a person sees of a deployment: change sets, IAM statement changes, spend changes, the
//! template diff, stack events and failures, gradual rollouts, as text or as JSON from the same
//! data.
//!
//! **Pure**: plain data in, strings out. Nothing here talks to AWS, reads a file or looks at
//! the terminal; the caller says whether colours are wanted ([`Palette`]). The SDK's types are
//! turned into these types in `crate::aws`, the documented JSON shapes in [`wire`].

mod alarms;
mod change_set;
mod drift;
mod errors;
mod events;
mod iam;
mod rollout;
mod spend;
mod stack;
mod status;
mod table;
mod text_diff;
pub mod wire;

pub use alarms::{AlarmRouting, Verdict, render_alarm_routing};
pub use change_set::{
    Action, ChangeKind, ParameterChange, PropertyChange, Recreation, Replacement, ResourceChange,
    Review, Summary, mark_transform_resources, parameter_changes, render_review, review_json,
};
pub use drift::{
    DescribeStackResourceDrifts, DriftCheck, DriftReport, DriftStatus, PropertyDifference,
    ResourceDrift, StackResourceDrift, WirePropertyDifference, drift_json, render_drift,
};
pub use errors::{
    UnreadableAnswer, body_excerpt, explain_api_error, explain_unreadable_answer, sanitize,
};
pub use events::{
    Failure, Progress, StackEvent, explain_rollback_complete, failures, failures_or_reason,
    render_event, render_failure_report, render_failures, render_progress,
};
pub use iam::{Statement, StatementChange, diff_statements, render_iam, statements};
pub use rollout::{
    AlarmState, RolloutEnd, RolloutState, describe_config, render_rollback, render_rollout_state,
};
pub use spend::{
    SpendChange, SpendReview, SpendSettings, WorstCase, render_spend, spend_changes, spend_review,
    spend_settings, worst_case,
};
pub use stack::DeployedStack;
pub use status::StackStatus;
pub use text_diff::template_diff;

/// Whether output gets ANSI colours: only on a terminal, and never when `NO_COLOR` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub color: bool,
}

impl Palette {
    pub const PLAIN: Palette = Palette { color: false };

    /// Colours when writing to a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn new(is_terminal: bool, no_color: Option<&str>) -> Palette {
        Palette {
            color: is_terminal && no_color.is_none_or(str::is_empty),
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn green(self, text: &str) -> String {
        self.paint("32", text)
    }
    pub(crate) fn red(self, text: &str) -> String {
        self.paint("31", text)
    }
    pub(crate) fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }
    pub(crate) fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }
    pub(crate) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    pub(crate) fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// `text` cut to at most `max` characters, with `…` marking the cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
