//! CloudFormation's statuses of a stack and of its resources, read once where AWS's answer is
//! turned into our types, and what each means for the tasks: whether a change set can update
//! the stack, whether an operation is running on it, whether it is stuck in a failed state.

use std::fmt;

use serde::Serialize;

/// The status of a stack (DescribeStacks' `StackStatus`) or of one of its resources (a stack
/// event's `ResourceStatus`, the same words with a few of its own). A status this version does
/// not know is kept as it was written, so a new one AWS adds is shown, not refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StackStatus {
    CreateInProgress,
    CreateFailed,
    CreateComplete,
    RollbackInProgress,
    RollbackFailed,
    RollbackComplete,
    DeleteInProgress,
    DeleteFailed,
    DeleteComplete,
    /// Resources only: kept by a `Retain` deletion policy.
    DeleteSkipped,
    UpdateInProgress,
    /// Resources only.
    UpdateFailed,
    UpdateCompleteCleanupInProgress,
    UpdateComplete,
    UpdateRollbackInProgress,
    UpdateRollbackFailed,
    UpdateRollbackCompleteCleanupInProgress,
    UpdateRollbackComplete,
    /// Made by a change set that was never executed: the stack is an empty shell.
    ReviewInProgress,
    ImportInProgress,
    ImportComplete,
    ImportRollbackInProgress,
    ImportRollbackFailed,
    ImportRollbackComplete,
    /// A status this version does not know, as AWS wrote it.
    Other(String),
}

/// Every known status with its name, the one table `parse` and `as_str` read.
const NAMES: [(StackStatus, &str); 24] = [
    (StackStatus::CreateInProgress, "CREATE_IN_PROGRESS"),
    (StackStatus::CreateFailed, "CREATE_FAILED"),
    (StackStatus::CreateComplete, "CREATE_COMPLETE"),
    (StackStatus::RollbackInProgress, "ROLLBACK_IN_PROGRESS"),
    (StackStatus::RollbackFailed, "ROLLBACK_FAILED"),
    (StackStatus::RollbackComplete, "ROLLBACK_COMPLETE"),
    (StackStatus::DeleteInProgress, "DELETE_IN_PROGRESS"),
    (StackStatus::DeleteFailed, "DELETE_FAILED"),
    (StackStatus::DeleteComplete, "DELETE_COMPLETE"),
    (StackStatus::DeleteSkipped, "DELETE_SKIPPED"),
    (StackStatus::UpdateInProgress, "UPDATE_IN_PROGRESS"),
    (StackStatus::UpdateFailed, "UPDATE_FAILED"),
    (
        StackStatus::UpdateCompleteCleanupInProgress,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    ),
    (StackStatus::UpdateComplete, "UPDATE_COMPLETE"),
    (
        StackStatus::UpdateRollbackInProgress,
        "UPDATE_ROLLBACK_IN_PROGRESS",
    ),
    (StackStatus::UpdateRollbackFailed, "UPDATE_ROLLBACK_FAILED"),
    (
        StackStatus::UpdateRollbackCompleteCleanupInProgress,
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    ),
    (
        StackStatus::UpdateRollbackComplete,
        "UPDATE_ROLLBACK_COMPLETE",
    ),
    (StackStatus::ReviewInProgress, "REVIEW_IN_PROGRESS"),
    (StackStatus::ImportInProgress, "IMPORT_IN_PROGRESS"),
    (StackStatus::ImportComplete, "IMPORT_COMPLETE"),
    (
        StackStatus::ImportRollbackInProgress,
        "IMPORT_ROLLBACK_IN_PROGRESS",
    ),
    (StackStatus::ImportRollbackFailed, "IMPORT_ROLLBACK_FAILED"),
    (
        StackStatus::ImportRollbackComplete,
        "IMPORT_ROLLBACK_COMPLETE",
    ),
];

impl StackStatus {
    /// Reads a status as CloudFormation writes it; never fails (see [`StackStatus::Other`]).
    pub fn parse(text: &str) -> StackStatus {
        NAMES
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(status, _)| status.clone())
            .unwrap_or_else(|| StackStatus::Other(text.to_owned()))
    }

    /// The status as CloudFormation writes it.
    pub fn as_str(&self) -> &str {
        match self {
            StackStatus::Other(text) => text,
            known => NAMES
                .iter()
                .find(|(status, _)| status == known)
                .map(|(_, name)| *name)
                .unwrap_or_default(),
        }
    }

    /// An operation is running (`*_IN_PROGRESS`), a review included.
    pub fn is_in_progress(&self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS")
    }

    /// An operation is running on the stack: any `*_IN_PROGRESS` but a review, which waits for
    /// a change set and blocks nothing.
    pub fn is_busy(&self) -> bool {
        self.is_in_progress() && *self != StackStatus::ReviewInProgress
    }

    /// The operation (or a step of it) failed.
    pub fn is_failed(&self) -> bool {
        self.as_str().ends_with("_FAILED")
    }

    /// The operation (or a step of it) ended: `*_COMPLETE`.
    pub fn is_complete(&self) -> bool {
        self.as_str().ends_with("_COMPLETE")
    }

    /// A delete, of the stack or of a resource.
    pub fn is_delete(&self) -> bool {
        self.as_str().starts_with("DELETE_")
    }

    /// A resource is done with: created, updated, deleted, rolled back or skipped.
    pub fn is_done(&self) -> bool {
        self.is_complete() || self.as_str().ends_with("_SKIPPED")
    }

    /// A rollback or a delete: what undoes, rather than what the user asked for.
    pub fn is_undoing(&self) -> bool {
        self.as_str().contains("ROLLBACK") || self.is_delete()
    }

    /// Settled in a state that a change set can update.
    pub fn is_updatable(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::UpdateRollbackComplete
                | StackStatus::ImportComplete
                | StackStatus::ImportRollbackComplete
        )
    }

    /// A create or an update that ended as asked.
    pub fn is_deployed(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete | StackStatus::UpdateComplete
        )
    }

    /// The operation a busy stack is in, as people say it: `an update`, `a delete`.
    pub fn operation(&self) -> &'static str {
        match self {
            StackStatus::CreateInProgress => "a create",
            StackStatus::RollbackInProgress => "the rollback of a failed create",
            StackStatus::DeleteInProgress => "a delete",
            StackStatus::UpdateInProgress => "an update",
            StackStatus::UpdateCompleteCleanupInProgress => "the clean-up after an update",
            StackStatus::UpdateRollbackInProgress => "the rollback of a failed update",
            StackStatus::UpdateRollbackCompleteCleanupInProgress => {
                "the clean-up after a rolled-back update"
            }
            StackStatus::ImportInProgress => "an import",
            StackStatus::ImportRollbackInProgress => "the rollback of a failed import",
            _ => "another operation",
        }
    }
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StackStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
