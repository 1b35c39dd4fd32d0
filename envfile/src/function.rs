//! `[function]`: the Lambda function's size, timeout, concurrency, architecture and how a new
//! version takes the traffic.

use crate::check::Checker;
use crate::{EnvError, file};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionSettings {
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub reserved_concurrency: u32,
    pub architecture: Architecture,
    pub rollout: Rollout,
}

/// How a new version of the function takes over the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// CloudFormation points the alias at the new version at once; no CodeDeploy.
    AllAtOnce,
    /// CodeDeploy sends 10 % of the traffic to the new version for 5 minutes, then the rest,
    /// and moves it back when a rollback alarm fires.
    Canary10Percent5Minutes,
    /// CodeDeploy adds 10 % every minute, and moves it back when a rollback alarm fires.
    Linear10PercentEvery1Minute,
}

impl Rollout {
    /// The name in the env files.
    pub fn as_str(self) -> &'static str {
        match self {
            Rollout::AllAtOnce => "all-at-once",
            Rollout::Canary10Percent5Minutes => "canary-10-percent-5-minutes",
            Rollout::Linear10PercentEvery1Minute => "linear-10-percent-every-1-minute",
        }
    }

    /// Whether CodeDeploy shifts the traffic (and can roll it back).
    pub fn is_gradual(self) -> bool {
        self != Rollout::AllAtOnce
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// The name Lambda uses in `Architectures`.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// Checks `[function]`.
pub(crate) fn check(c: &Checker, function: file::Function) -> Result<FunctionSettings, EnvError> {
    c.range(
        "function.memory_mb",
        function.memory_mb.into(),
        128,
        10_240,
        " MB",
    )?;
    c.range(
        "function.timeout_seconds",
        function.timeout_seconds.into(),
        1,
        900,
        " seconds",
    )?;
    c.range(
        "function.reserved_concurrency",
        function.reserved_concurrency.into(),
        1,
        1_000,
        "",
    )?;

    Ok(FunctionSettings {
        memory_mb: function.memory_mb,
        timeout_seconds: function.timeout_seconds,
        reserved_concurrency: function.reserved_concurrency,
        architecture: match function.architecture {
            file::Architecture::X86_64 => Architecture::X86_64,
            file::Architecture::Arm64 => Architecture::Arm64,
        },
        rollout: match function.rollout {
            file::Rollout::AllAtOnce => Rollout::AllAtOnce,
            file::Rollout::Canary10Percent5Minutes => Rollout::Canary10Percent5Minutes,
            file::Rollout::Linear10PercentEvery1Minute => Rollout::Linear10PercentEvery1Minute,
        },
    })
}
