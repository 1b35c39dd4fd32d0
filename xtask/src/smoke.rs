//! `cargo xtask smoke`: checks that a running chatbot answers, through its site URL: the page
//! and its security headers, health, models, one short streamed chat with the default model,
//! and (with `--env`) that API Gateway's own address refuses a direct call.
//!
//! Exit codes: 0 when every check passed, 1 when one failed (the table says which and why), 2
//! for usage errors.

use std::process::ExitCode;

use crate::args;
use crate::aws::{self, cfn};
use crate::probe::{self, Target};
use crate::stack::{OUTPUT_API_URL, OUTPUT_SITE_URL};
use crate::terminal;
use crate::tools;

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["env", "url"]).multiple(true))]
pub struct Args {
    /// Environment whose deployed stack to check (its SiteUrl and ApiUrl outputs)
    #[arg(long = "env", value_name = "ENV")]
    pub env: Option<String>,
    /// Check this base URL instead of the stack's site (`http://127.0.0.1:8080` for `cargo
    /// xtask dev`)
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub url: Option<String>,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
    /// Project folder holding envs/ (the workspace by default)
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<std::path::PathBuf>,
}

fn parse_url(text: &str) -> Result<String, String> {
    let uri: http::Uri = text.parse().map_err(|_| format!("{text:?} is not a URL"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(text.trim_end_matches('/').to_owned()),
        _ => Err(format!(
            "{text:?} is not an http:// or https:// URL with a host"
        )),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = args.root.clone().unwrap_or_else(tools::project_root);
    // The security headers are the same in every environment; without --env, dev's model
    // says what they are.
    let env = args::load_with_warnings(&root, args.env.as_deref().unwrap_or("dev"))?;
    let headers = probe::security_headers(&env);
    aws::runtime()?.block_on(async {
        let target = match (&args.url, &args.env) {
            (Some(url), _) => Target {
                site: url.clone(),
                direct_api: None,
                headers,
            },
            (None, _) => {
                let clients = aws::connect(&env.region).await;
                let Some(stack) = cfn::describe_stack(&clients.cfn, &env.stack_name).await? else {
                    anyhow::bail!(
                        "stack {} does not exist in {}: deploy it with `cargo xtask deploy --env {}`",
                        env.stack_name,
                        env.region,
                        env.name
                    );
                };
                let Some(site) = stack.outputs.get(OUTPUT_SITE_URL) else {
                    anyhow::bail!(
                        "stack {} ({}) has no {OUTPUT_SITE_URL} output to check",
                        stack.name,
                        stack.status
                    );
                };
                Target {
                    site: site.clone(),
                    direct_api: stack.outputs.get(OUTPUT_API_URL).cloned(),
                    headers,
                }
            }
        };
        let report = probe::run(&target).await;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&probe::render_json(&report))?);
        } else {
            print!("{}", probe::render_table(&report, terminal::palette()));
        }
        Ok(if report.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
