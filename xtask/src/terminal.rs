//! The tasks' side of the terminal: whether output gets colours and a live progress line, and
//! the questions asked before changing anything.

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};

use crate::review::Palette;

/// Colours only when stdout is a terminal and `NO_COLOR` is unset.
pub fn palette() -> Palette {
    Palette::new(
        std::io::stdout().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    )
}

/// Whether a progress line can be redrawn in place: only on a terminal.
pub fn is_live() -> bool {
    std::io::stdout().is_terminal()
}

/// Asks before a deploy on the terminal; without one, only `--yes` goes ahead. Prod wants its
/// name typed. The answer is read off the runtime's thread, so Ctrl-C still ends the task at
/// the prompt.
pub async fn confirm_deploy(env_name: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to deploy without a terminal to confirm on: review with `cargo xtask diff \
             --env {env_name}`, then pass --yes"
        );
    }
    let env_name = env_name.to_owned();
    tokio::task::spawn_blocking(move || {
        let answer = if env_name == "prod" {
            ask(&format!("Type '{env_name}' to deploy these changes: "))?
        } else {
            ask(&format!("Deploy these changes to {env_name}? [y/N] "))?
        };
        Ok(if env_name == "prod" {
            answer == env_name
        } else {
            is_yes(&answer)
        })
    })
    .await?
}

/// Asks before deleting an environment; prod asks twice: a yes, then its name.
pub fn confirm_delete(env_name: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("refusing to delete without a terminal to confirm on: pass --yes");
    }
    if !is_yes(&ask(&format!(
        "Delete environment {env_name} and all its data? [y/N] "
    ))?) {
        return Ok(false);
    }
    if env_name == "prod" {
        return Ok(ask("Type 'prod' to delete it: ")? == env_name);
    }
    Ok(true)
}

fn is_yes(answer: &str) -> bool {
    matches!(answer, "y" | "Y" | "yes")
}

/// Writes `question` on stderr and reads one line of answer, trimmed.
fn ask(question: &str) -> anyhow::Result<String> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{question}")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}

/// A short duration as people read it: `850 ms`, `4.2 s`, `2 min 5 s`.
pub struct Elapsed(pub std::time::Duration);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms < 1000 {
            write!(f, "{ms} ms")
        } else if ms < 60_000 {
            write!(f, "{:.1} s", self.0.as_secs_f64())
        } else {
            write!(f, "{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
        }
    }
}
