//! `loadgen < plan.json`: runs the plan (see [`loadgen::Plan`]) and prints the report as JSON.
//! One thread, so on a small machine the server under test keeps the other cores.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(err) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("loadgen: cannot read the plan from standard input: {err}");
        return ExitCode::from(2);
    }
    let plan: loadgen::Plan = match serde_json::from_str(&input) {
        Ok(plan) => plan,
        Err(err) => {
            eprintln!("loadgen: the plan is not valid: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadgen: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(loadgen::run(plan)) {
        Ok(report) => match serde_json::to_string(&report) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("loadgen: cannot write the report: {err}");
                ExitCode::FAILURE
            }
        },
        Err(err) => {
            eprintln!("loadgen: {err}");
            ExitCode::FAILURE
        }
    }
}
