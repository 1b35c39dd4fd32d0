//! Whether an environment's alarms reach anyone, as `diff` and `deploy` show it.
//!
//! The rule: alarms that notify only the stack's own topic, with no email subscribed and no
//! existing topic named, reach no one. An environment that requires a destination (the
//! default; `alarms.require_destination = false` lifts it) is refused by `deploy` until it has
//! one; any other is deployed with a warning on every `diff` and `deploy`.

use serde::Serialize;

use super::Palette;
use crate::env::Environment;

/// What `deploy` does about the environment's alarm destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The alarms reach someone.
    Ok,
    /// They reach no one, and the environment allows that: deployed with a warning.
    Warn,
    /// They would reach no one, and the environment requires a destination: not deployed.
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmRouting {
    /// Where the alarms go besides the stack's own topic, e.g. `email ops@example.com`.
    pub destinations: Vec<String>,
    pub destination_required: bool,
    pub verdict: Verdict,
    /// One sentence saying so, naming the env file and its keys.
    pub message: String,
}

impl AlarmRouting {
    pub fn of(env: &Environment) -> AlarmRouting {
        let destinations: Vec<String> = env
            .alarms
            .destinations()
            .iter()
            .map(ToString::to_string)
            .collect();
        let required = env.alarms.require_destination;
        let file = format!("envs/{}.toml", env.name);
        let (verdict, message) = if !destinations.is_empty() {
            let mut message = format!("Alarms notify {}", destinations.join(" and "));
            if env.alarms.email.is_some() {
                message.push_str(
                    " (an address receives them once it confirms the subscription email AWS sends it)",
                );
            }
            (Verdict::Ok, message)
        } else if required {
            (
                Verdict::Refuse,
                format!(
                    "Alarms would reach no one: {file} sets neither alarms.email nor alarms.topic_arn, so every alarm would notify a topic nobody subscribes to. Deploying {} is refused until one is set (or alarms.require_destination = false is)",
                    env.name
                ),
            )
        } else {
            (
                Verdict::Warn,
                format!(
                    "Alarms reach no one: {file} sets neither alarms.email nor alarms.topic_arn, so every alarm notifies a topic nobody subscribes to (alarms.require_destination = false lets it deploy)"
                ),
            )
        };
        AlarmRouting {
            destinations,
            destination_required: required,
            verdict,
            message,
        }
    }
}

/// The routing as a person reads it: one plain line when alarms reach someone, a banner
/// otherwise.
pub fn render_alarm_routing(routing: &AlarmRouting, palette: Palette) -> String {
    match routing.verdict {
        Verdict::Ok => format!("{}\n", routing.message),
        Verdict::Warn => format!(
            "{} {}\n",
            palette.bold(&palette.yellow("WARNING")),
            palette.yellow(&routing.message)
        ),
        Verdict::Refuse => format!(
            "{} {}\n",
            palette.bold(&palette.red("REFUSED")),
            palette.red(&routing.message)
        ),
    }
}
