//! `cargo xtask cost --env E [--chats-per-day N] [--monthly-active-users N] [--json]`: what an
//! environment costs a month, per service, priced from the stack model (every resource the
//! template holds) and the dated price table checked in for the environment's region
//! (`prices/<region>.toml`), with the model's tokens at the env file's prices and, with
//! sign-in, the user pool's monthly active users beyond Cognito's free tier. The assumptions
//! about use are printed with it.

mod estimate;
pub mod prices;
mod render;

use std::process::ExitCode;

pub use estimate::{Estimate, Line, ModelChatCost, ServiceCost, Workload, estimate};
pub use prices::{Price, PriceTable, pico_dollars};
pub use render::render_estimate;

use crate::args::EnvArgs;
use crate::stack;
use crate::terminal::palette;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub env: EnvArgs,
    /// Chats (a message and its answer) per day
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
    pub chats_per_day: u64,
    /// People who sign in a month, in an environment with sign-in (default: one per 20 chats
    /// of the month)
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=1_000_000_000))]
    pub monthly_active_users: Option<u64>,
    /// Print the estimate as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let environment = args.env.load()?;
    let table = PriceTable::load(&args.env.root(), &environment.region)?;
    let template = stack::template(&environment);
    let mut workload = Workload::assume(args.chats_per_day);
    if let Some(users) = args.monthly_active_users {
        workload.monthly_active_users = users;
    }
    let estimate = estimate(&environment, &template, &table, &workload)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&estimate)?);
    } else {
        print!("{}", render_estimate(&estimate, &table, palette()));
    }
    Ok(ExitCode::SUCCESS)
}
