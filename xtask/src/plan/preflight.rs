//! Preflight before a change set: AWS's answers (`crate::aws::preflight`) checked by
//! `crate::preflight`, the report printed, and the task refused when it found problems.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Inputs, Situation};
use crate::aws::{self, Clients};
use crate::preflight::{self, Report};
use crate::review::Palette;

/// Runs preflight, prints its report and refuses to go on when it found problems.
pub async fn gate(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    command: &str,
    palette: Palette,
) -> anyhow::Result<()> {
    let report = self::preflight(clients, inputs, situation).await;
    print!("{}", preflight::render(&report, palette));
    match report.refusal(command) {
        Some(refusal) => anyhow::bail!(refusal),
        None => Ok(()),
    }
}

/// Asks AWS what preflight needs and checks it.
pub async fn preflight(clients: &Clients, inputs: &Inputs, situation: &Situation) -> Report {
    let answers = aws::preflight::answers(clients, &inputs.env, situation.deployed.as_ref()).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    preflight::check(
        &preflight::Facts {
            env: &inputs.env,
            account: &situation.account,
            template: &inputs.template,
            now,
        },
        &answers,
    )
}
