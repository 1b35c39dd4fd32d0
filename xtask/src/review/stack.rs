//! A deployed stack as DescribeStacks tells it, and why a task refuses to touch it: busy with
//! another operation, or stuck in a failed state that no change set can fix.

use std::collections::BTreeMap;

use super::StackStatus;

/// A stack as DescribeStacks tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedStack {
    pub id: String,
    pub name: String,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub created: String,
    pub last_updated: Option<String>,
}

impl DeployedStack {
    /// Settled in a state that a change set can update.
    pub fn is_updatable(&self) -> bool {
        self.status.is_updatable()
    }

    /// Made by a change set that was never executed: a CREATE change set is still needed.
    pub fn is_under_review(&self) -> bool {
        self.status == StackStatus::ReviewInProgress
    }

    pub fn is_busy(&self) -> bool {
        self.status.is_busy()
    }

    /// The refusal to touch a busy stack: which operation runs, and to wait for it.
    pub fn busy_message(&self, env_name: &str) -> String {
        format!(
            "stack {} is {}: {} is running on it; wait for it to finish (see where it is with \
             `cargo xtask status --env {env_name}`), then run the command again",
            self.name,
            self.status,
            self.status.operation()
        )
    }

    /// Why a stack in a failed state no change set can fix (`*_FAILED`) blocks deploys, with
    /// what to do; `None` for every other state.
    pub fn stuck(&self, env_name: &str) -> Option<String> {
        let why = self
            .status_reason
            .as_deref()
            .map(|r| format!(" ({})", r.trim().trim_end_matches('.')))
            .unwrap_or_default();
        let (what, fix) = match self.status {
            StackStatus::RollbackFailed => (
                "its first create failed and the rollback could not delete everything",
                format!(
                    "delete it with `cargo xtask destroy --env {env_name}` (in the console, \
                     retain the resources that cannot be deleted), then deploy again"
                ),
            ),
            StackStatus::DeleteFailed => (
                "deleting it failed",
                format!(
                    "fix what kept its resources from being deleted, delete it again with \
                     `cargo xtask destroy --env {env_name}`, then deploy"
                ),
            ),
            StackStatus::UpdateRollbackFailed | StackStatus::ImportRollbackFailed => (
                "a failed change could not be rolled back",
                format!(
                    "fix the cause, then `aws cloudformation continue-update-rollback \
                     --stack-name {}` (add --resources-to-skip for resources that cannot go back), \
                     then deploy again",
                    self.name
                ),
            ),
            _ => return None,
        };
        Some(format!(
            "stack {} is {}{why}: {what}; no change can be deployed until it is settled: {fix}",
            self.name, self.status
        ))
    }
}
