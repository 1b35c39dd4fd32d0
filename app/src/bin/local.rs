//! `chatbot-local`: the same router on 127.0.0.1 with the page beside it, for `cargo xtask
//! dev`. Reads the same `CHATBOT_*` variables as the Lambda function. History stays in memory
//! unless `AWS_ENDPOINT_URL_DYNAMODB` and `CHATBOT_TABLE_NAME` name a DynamoDB table; answers
//! come from Bedrock when AWS credentials resolve, otherwise from the offline demo model.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_bedrockruntime::config::ProvideCredentials;
use chatbot::contract::env_vars;
use chatbot::https::{Https, TrustedRoots};
use chatbot::metrics::Metrics;
use chatbot::model::{Bedrock, DEMO_NOTICE, Demo, Model, bedrock_config};
use chatbot::store::{DynamoStore, MemoryStore, Store};
use chatbot::{AppState, Config, Tuning};

const USAGE: &str = "usage: chatbot-local [--port PORT] [--site-dir DIR] [--demo]";

struct Args {
    port: u16,
    site_dir: Option<PathBuf>,
    demo: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8080,
        site_dir: None,
        demo: false,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--port" => {
                let value = iter.next().ok_or("--port needs a value")?;
                args.port = value
                    .parse()
                    .map_err(|_| format!("--port takes a port number, not {value:?}"))?;
            }
            "--site-dir" => {
                args.site_dir = Some(iter.next().ok_or("--site-dir needs a value")?.into());
            }
            "--demo" => args.demo = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    chatbot::logging::init_text();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let config = Config::from_env().map_err(|err| err.to_string())?;
    let https = || TrustedRoots::from_env().map(|roots| Https::new(&roots));
    let sdk = if args.demo {
        None
    } else {
        load_sdk_config(&https().map_err(|err| err.to_string())?).await
    };

    let store = match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let table = config.table_name.clone().ok_or_else(|| {
                format!(
                    "AWS_ENDPOINT_URL_DYNAMODB is set, so the environment variable {} must name the table",
                    env_vars::TABLE_NAME
                )
            })?;
            let sdk = match &sdk {
                Some(sdk) => sdk.clone(),
                // No AWS credentials: a local store (moto, DynamoDB Local) takes any, and the
                // requests must still be signed.
                None => {
                    let https = https().map_err(|err| err.to_string())?;
                    https
                        .sdk_config_loader()
                        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                            "local", "local", None, None, "local",
                        ))
                        .load()
                        .await
                }
            };
            tracing::info!(%endpoint, %table, "history in DynamoDB");
            Store::Dynamo(
                DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
                    .with_budget(config.budget_layout()),
            )
        }
        _ => Store::Memory(MemoryStore::default().with_budget(config.budget_layout())),
    };

    let model = match &sdk {
        Some(sdk) => {
            let mut builder = bedrock_config(sdk.into());
            if sdk.region().is_none() {
                tracing::warn!("no AWS region is set; using us-east-1 for Bedrock");
                builder = builder.region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"));
            }
            Model::Bedrock(Bedrock::new(aws_sdk_bedrockruntime::Client::from_conf(
                builder.build(),
            )))
        }
        None => Model::Demo(Demo::default()),
    };
    let model_line = if model.is_demo() {
        format!("offline demo model, NOT a real model ({DEMO_NOTICE})")
    } else {
        format!("Bedrock, default model {}", config.default_model)
    };

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|err| format!("cannot listen on 127.0.0.1:{}: {err}", args.port))?;
    let address = listener
        .local_addr()
        .map_err(|err| format!("cannot read the listening address: {err}"))?;
    let metrics = Metrics::discard(&config.environment);
    let environment = config.environment.clone();
    let state = AppState {
        config,
        tuning: Tuning::default(),
        store,
        model,
        metrics,
    };
    let router = chatbot::router_with_site(Arc::new(state), args.site_dir);
    if model_line.starts_with("offline") {
        tracing::warn!("answers come from the {model_line}");
    }
    println!("chatbot ({environment}) on http://{address}/  API at http://{address}/api");
    println!("model: {model_line}");
    println!("press Ctrl-C to stop");
    chatbot::serve_local(listener, router, shutdown_signal())
        .await
        .map_err(|err| format!("the server failed: {err}"))?;
    println!("stopped");
    Ok(())
}

/// The SDK configuration when AWS credentials resolve within a few seconds, else `None`.
async fn load_sdk_config(https: &Https) -> Option<aws_config::SdkConfig> {
    let attempt = async {
        let sdk = https.sdk_config_loader().load().await;
        let provider = sdk.credentials_provider()?;
        match provider.provide_credentials().await {
            Ok(_) => Some(sdk),
            Err(err) => {
                tracing::info!("no AWS credentials: {err}");
                None
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(found) => found,
        Err(_) => {
            tracing::info!("looking for AWS credentials took too long; assuming there are none");
            None
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    println!("stopping: finishing open requests");
}
