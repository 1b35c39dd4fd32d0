//! A gradual rollout as a person follows it: how much of the traffic the new version has, the
//! rollback alarms' states, and, when CodeDeploy moves the traffic back, which alarm fired.

use serde::Serialize;

use super::Palette;

/// One look at a running rollout: CodeDeploy's deployment, the alias's split, the alarms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutState {
    pub deployment_id: String,
    /// CodeDeploy's status: `Created`, `InProgress`, `Succeeded`, `Failed`, `Stopped`, …
    pub status: String,
    /// The version the alias points at: the old one until the shift completes.
    pub alias_version: Option<String>,
    /// The version getting part of the traffic, while it does.
    pub new_version: Option<String>,
    /// Percent of the traffic on the new version.
    pub percent_new: f64,
    pub alarms: Vec<AlarmState>,
}

impl RolloutState {
    /// Whether CodeDeploy is done with it, one way or the other.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "Succeeded" | "Failed" | "Stopped")
    }
}

/// A rollback alarm and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmState {
    /// The alarm's logical ID in the template (`FunctionErrorsAlarm`).
    pub logical_id: String,
    /// Its name in CloudWatch.
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: Option<String>,
}

/// How a deployment ended, from CodeDeploy's GetDeployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutEnd {
    pub deployment_id: String,
    pub status: String,
    /// `ALARM_ACTIVE`, `TIMEOUT`, … when it did not succeed.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The deployment CodeDeploy started to move the traffic back.
    pub rollback_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
}

impl RolloutEnd {
    pub fn succeeded(&self) -> bool {
        self.status == "Succeeded"
    }

    /// The alarms CodeDeploy names in its error (`Activated alarms: <a> <b>`).
    pub fn activated_alarms(&self) -> Vec<String> {
        self.error_message
            .as_deref()
            .and_then(|m| m.split_once("Activated alarms:"))
            .map(|(_, names)| {
                names
                    .split('<')
                    .filter_map(|part| part.split_once('>'))
                    .map(|(name, _)| name.trim().to_owned())
                    .filter(|name| !name.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `canary, 10 % for 5 minutes` for `Canary10Percent5Minutes`.
pub fn describe_config(deployment_type: &str) -> String {
    match deployment_type {
        "Canary10Percent5Minutes" => "canary: 10 % for 5 minutes, then all".to_owned(),
        "Linear10PercentEvery1Minute" => "linear: 10 % more every minute".to_owned(),
        other => other.to_owned(),
    }
}

/// One line per change in a rollout: the split and the alarms.
pub fn render_rollout_state(state: &RolloutState, config: &str, palette: Palette) -> String {
    let split = match (
        &state.new_version,
        &state.alias_version,
        state.status.as_str(),
    ) {
        (_, Some(version), "Succeeded") => format!("100 % on version {version}"),
        (Some(new), Some(old), _) => format!(
            "{} on version {new}, {} on version {old}",
            percent(state.percent_new),
            percent(100.0 - state.percent_new)
        ),
        (None, Some(old), _) => format!("all traffic on version {old}"),
        _ => "traffic split not known yet".to_owned(),
    };
    let alarms = state
        .alarms
        .iter()
        .map(|alarm| {
            let status = match alarm.state.as_str() {
                "ALARM" => palette.red(&alarm.state),
                "OK" => palette.green(&alarm.state),
                other => palette.yellow(other),
            };
            format!("{} {status}", alarm.logical_id)
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} {} ({config}) {}: {split}; alarms: {}",
        palette.bold("Rollout"),
        state.deployment_id,
        state.status,
        if alarms.is_empty() { "none" } else { &alarms }
    )
}

/// Why the traffic went back to the old version, naming the alarm that fired; `last` is the
/// rollout as last seen (the alarms' states, the version the alias is back on).
pub fn render_rollback(end: &RolloutEnd, last: Option<&RolloutState>, palette: Palette) -> String {
    let alarms = last.map(|l| l.alarms.as_slice()).unwrap_or_default();
    let mut fired: Vec<String> = end
        .activated_alarms()
        .iter()
        .map(|name| match alarms.iter().find(|a| &a.name == name) {
            Some(alarm) => format!("{} ({name})", alarm.logical_id),
            None => name.clone(),
        })
        .collect();
    if fired.is_empty() {
        // CodeDeploy named none; the alarms in ALARM are the likely cause.
        fired = alarms
            .iter()
            .filter(|a| a.state == "ALARM")
            .map(|a| format!("{} ({})", a.logical_id, a.name))
            .collect();
    }
    let mut out = palette.red(&palette.bold(
        &match (fired.as_slice(), end.error_code.as_deref()) {
            ([], _) => format!(
                "Automatic rollback: CodeDeploy {} deployment {}",
                end.status.to_lowercase(),
                end.deployment_id
            ),
            (fired, _) => format!(
                "Automatic rollback: alarm {} fired, and CodeDeploy moved the traffic back",
                fired.join(" and alarm ")
            ),
        },
    ));
    out.push('\n');
    for alarm in alarms.iter().filter(|a| a.state == "ALARM") {
        if let Some(reason) = &alarm.reason {
            out.push_str(&format!("  {}: {reason}\n", alarm.logical_id));
        }
    }
    match (&end.error_code, &end.error_message) {
        (Some(code), Some(message)) => out.push_str(&format!(
            "  CodeDeploy deployment {} {}: {code}: {message}\n",
            end.deployment_id, end.status
        )),
        (Some(code), None) => out.push_str(&format!(
            "  CodeDeploy deployment {} {}: {code}\n",
            end.deployment_id, end.status
        )),
        _ => {}
    }
    match (&end.rollback_deployment_id, &end.rollback_message) {
        (_, Some(message)) => out.push_str(&format!("  {message}\n")),
        (Some(id), None) => out.push_str(&format!("  Rollback deployment: {id}\n")),
        _ => {}
    }
    if let Some(version) = last.and_then(|l| l.alias_version.as_deref()) {
        out.push_str(&format!(
            "  The live alias is back on version {version}: the new version serves nothing\n"
        ));
    }
    out
}

fn percent(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0} %")
    } else {
        format!("{rounded:.1} %")
    }
}
