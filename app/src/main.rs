//! The Lambda entry point (`bootstrap`): reads the configuration, builds the SDK clients once
//! on one HTTPS client ([`chatbot::https`]), and serves the router through Lambda's response
//! streaming. All of that is Lambda's INIT phase, before the first event is asked for. The
//! connections to DynamoDB and Bedrock start opening as soon as the SDK's configuration is
//! loaded; INIT waits for them only when Lambda initialises ahead of demand
//! ([`chatbot::warm`]).
//! Unlike local runs it needs the table name and the origin secret.

use std::process::ExitCode;
use std::sync::Arc;

use chatbot::contract::env_vars;
use chatbot::https::{Https, TrustedRoots};
use chatbot::metrics::Metrics;
use chatbot::model::{Bedrock, Model, bedrock_config};
use chatbot::store::{DynamoStore, Store};
use chatbot::warm::{self, Endpoints, Schedule};
use chatbot::{AppState, Config, Tuning};

/// One thread: Lambda hands a process one event at a time, and a function below 1,769 MB (one
/// full vCPU's time; the environments here use 256 and 512) gains nothing from running its
/// background work, the early connections and the spend read, on a second one. Worker threads
/// cost a cold start their creation, stacks and allocator arenas: about 1 ms of INIT's CPU time
/// and 0.4 MiB here. DNS lookups still run on tokio's blocking threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    chatbot::logging::init_json();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            tracing::error!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let Some(table) = config.table_name.clone() else {
        tracing::error!(
            "cannot start: the environment variable {} is not set",
            env_vars::TABLE_NAME
        );
        return ExitCode::FAILURE;
    };
    // Without the origin secret anyone could call the API Gateway address directly and pick
    // the client address the rate limit counts; the template always sets it.
    if config.origin_secret.is_none() {
        tracing::error!(
            "cannot start: the environment variable {} is not set",
            env_vars::ORIGIN_SECRET
        );
        return ExitCode::FAILURE;
    }

    let roots = match TrustedRoots::from_env() {
        Ok(roots) => roots,
        Err(err) => {
            tracing::error!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let https = Https::new(&roots);
    let sdk = https.sdk_config_loader().load().await;
    let early = warm::open(&https, &Endpoints::resolve(&sdk).await);
    let bedrock = aws_sdk_bedrockruntime::Client::from_conf(bedrock_config((&sdk).into()).build());
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let state = Arc::new(AppState {
        store: Store::Dynamo(DynamoStore::new(dynamo, table).with_budget(config.budget_layout())),
        metrics: Metrics::stdout(&config.environment),
        config,
        tuning: Tuning::default(),
        model: Model::Bedrock(Bedrock::new(bedrock)),
    });
    let schedule = Schedule::from_env();
    let trusted_roots = roots.describe();
    let warm_up = async move { early.wait().await.log(&trusted_roots, schedule) };
    match schedule {
        Schedule::DuringInit => warm_up.await,
        Schedule::BesideFirstInvoke => {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                if let Err(err) = warm::read_spend(&state.store).await {
                    tracing::warn!("could not read the day's spend ahead of the first turn: {err}");
                }
            });
            tokio::spawn(warm_up);
        }
    }
    let router = chatbot::router(state);
    match lambda_http::run_with_streaming_response(chatbot::lambda::handler(router)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("the Lambda runtime stopped: {err}");
            ExitCode::FAILURE
        }
    }
}
