//! `cargo xtask logs`: the function's JSON logs (or, with `--api`, API Gateway's access log)
//! from CloudWatch Logs, one readable line per event, or the raw events with `--json`;
//! `--follow` keeps reading until Ctrl-C.
//!
//! Exit codes: 0 when the log group was read (even with nothing in it, and after Ctrl-C ends
//! `--follow`), 1 when the stack or its log group does not exist or AWS refused, 2 for usage
//! errors.

mod line;
mod select;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::args::EnvArgs;
use crate::aws::logs::{self, LogEvent, Query, Read};
use crate::aws::{self, Clients, cfn};
use crate::follow::{self, Waited};
use crate::review::Palette;
use crate::stack::ids;
use crate::terminal;
use select::{Group, Selection, Since};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
    /// From how long ago (30m, 2h, 1d) or from when (an RFC 3339 time)
    #[arg(long, value_name = "WHEN", default_value = "10m", value_parser = select::parse_since)]
    pub since: Since,
    /// Keep reading new events until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the lines of one request: the id of the page's error or of the x-request-id header
    #[arg(long, value_name = "ID", value_parser = select::parse_request_id)]
    pub request_id: Option<String>,
    /// Only warnings, errors and 5xx answers (with --api: 4xx and 5xx answers)
    #[arg(long)]
    pub errors: bool,
    /// API Gateway's access log instead of the function's log
    #[arg(long)]
    pub api: bool,
    /// The raw events, one JSON object a line
    #[arg(long)]
    pub json: bool,
}

/// How often `--follow` asks for new events.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How far back each poll of `--follow` reads again: CloudWatch Logs may store an event a
/// little after later ones. Events read twice are shown once.
const LATE_EVENTS: i64 = 30_000;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env = args.env.load()?;
    let runtime = aws::runtime()?;
    runtime.block_on(async {
        let clients = aws::connect(&env.region).await;
        let group = if args.api {
            Group::Api
        } else {
            Group::Function
        };
        let name = log_group(&clients, &env.stack_name, &env.region, &env.name, group).await?;
        let selection = Selection {
            errors: args.errors,
            request_id: args.request_id.clone(),
        };
        let reader = Reader {
            clients: &clients,
            group: &name,
            kind: group,
            selection: &selection,
            output: Output {
                json: args.json,
                palette: terminal::palette(),
            },
        };
        let start = args.since.start_ms(now_ms());
        if !args.follow {
            return reader.once(start).await;
        }
        // Ctrl-C ends a live tail: that is how it is meant to stop, so it is a success.
        match follow::unless_interrupted(reader.follow(start)).await {
            Waited::Done(result) => result,
            Waited::Interrupted => Ok(ExitCode::SUCCESS),
        }
    })
}

/// The physical name of the stack's log group for `group`.
async fn log_group(
    clients: &Clients,
    stack_name: &str,
    region: &str,
    env_name: &str,
    group: Group,
) -> anyhow::Result<String> {
    let Some(stack) = cfn::describe_stack(&clients.cfn, stack_name).await? else {
        anyhow::bail!(
            "stack {stack_name} does not exist in {region}, so it has no logs: deploy it with \
             `cargo xtask deploy --env {env_name}`"
        );
    };
    let logical_id = match group {
        Group::Function => ids::FUNCTION_LOGS,
        Group::Api => ids::API_ACCESS_LOGS,
    };
    cfn::stack_resources(&clients.cfn, &stack.id)
        .await?
        .into_iter()
        .find(|r| r.logical_id == logical_id && !r.physical_id.is_empty())
        .map(|r| r.physical_id)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "stack {stack_name} has no {logical_id} (it is {}): deploy the current template \
                 with `cargo xtask deploy --env {env_name}`",
                stack.status
            )
        })
}

#[derive(Clone, Copy)]
struct Output {
    json: bool,
    palette: Palette,
}

struct Reader<'a> {
    clients: &'a Clients,
    group: &'a str,
    kind: Group,
    selection: &'a Selection,
    output: Output,
}

impl Reader<'_> {
    async fn read(&self, start_ms: i64) -> anyhow::Result<Vec<LogEvent>> {
        let pattern = self.selection.pattern(self.kind);
        let query = Query {
            group: self.group,
            start_ms,
            pattern: pattern.as_deref(),
        };
        match logs::filter(&self.clients.logs, &query).await? {
            Read::Events(events) => Ok(events),
            Read::NoGroup => anyhow::bail!(
                "log group {} does not exist: the stack makes it, so it was deleted outside \
                 CloudFormation; deploy again to bring it back",
                self.group
            ),
        }
    }

    async fn once(&self, start_ms: i64) -> anyhow::Result<ExitCode> {
        let events = self.read(start_ms).await?;
        let shown = self.show(&events)?;
        if shown == 0 && !self.output.json {
            eprintln!(
                "No {}log events in {} since {}",
                if self.selection == &Selection::default() {
                    ""
                } else {
                    "matching "
                },
                self.group,
                line::timestamp(start_ms)
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Reads again every [`POLL_EVERY`] from a little before the newest event seen, showing
    /// each event once. Ends only on an error (or Ctrl-C, around it).
    async fn follow(&self, start_ms: i64) -> anyhow::Result<ExitCode> {
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut newest = start_ms;
        loop {
            let from = start_ms.max(newest - LATE_EVENTS);
            let fresh: Vec<LogEvent> = self
                .read(from)
                .await?
                .into_iter()
                .filter(|e| !seen.contains_key(&e.id))
                .collect();
            self.show(&fresh)?;
            for event in fresh {
                newest = newest.max(event.timestamp_ms);
                seen.insert(event.id, event.timestamp_ms);
            }
            // Ids older than the window cannot come back.
            seen.retain(|_, at| *at >= newest - 2 * LATE_EVENTS);
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Prints the events the selection keeps; returns how many.
    fn show(&self, events: &[LogEvent]) -> anyhow::Result<usize> {
        let mut stdout = std::io::stdout().lock();
        let mut shown = 0;
        for event in events {
            let line = line::parse(event.timestamp_ms, &event.message);
            if !self.selection.keeps(&line, &event.message) {
                continue;
            }
            shown += 1;
            if self.output.json {
                let raw = serde_json::json!({
                    "eventId": event.id,
                    "timestamp": event.timestamp_ms,
                    "logStreamName": event.stream,
                    "message": event.message,
                });
                writeln!(stdout, "{raw}")?;
            } else {
                writeln!(stdout, "{}", line::render(&line, self.output.palette))?;
            }
        }
        stdout.flush()?;
        Ok(shown)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
