//! The service as the benchmarks run it: the variables a deployed function gets, pointed at
//! local stand-ins, the events it is sent, and moto for DynamoDB.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::process::{Launch, stop};
use crate::{env, stack, tools};

/// The table stored for DynamoDB in the cold-start and burst runs.
pub(super) const TABLE: &str = "chatbot-bench";

/// The variables a deployed function gets, pointed at local stand-ins. `load` lifts the rate
/// limit and the daily budget, which a benchmark from one address would otherwise hit.
pub(super) fn service_env(
    environment: &env::Environment,
    table: Option<&str>,
    load: bool,
) -> Vec<(String, String)> {
    let mut vars: BTreeMap<String, String> = stack::function_environment(environment)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if let Some(table) = table {
        vars.insert(chatbot_contract::env_vars::TABLE_NAME.into(), table.into());
    }
    if load {
        vars.insert(
            chatbot_contract::env_vars::RATE_LIMIT.into(),
            "1000000".into(),
        );
        vars.insert(
            chatbot_contract::env_vars::DAILY_TOKEN_BUDGET.into(),
            "1000000000000".into(),
        );
    }
    for (name, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("TZ", ":UTC"),
    ] {
        vars.insert(name.into(), value.into());
    }
    vars.into_iter().collect()
}

/// What a Lambda instance sets for its runtime.
pub(super) fn lambda_env(
    environment: &env::Environment,
    task_root: &Path,
) -> Vec<(String, String)> {
    vec![
        (
            "AWS_LAMBDA_FUNCTION_NAME".into(),
            format!("{}-bench", environment.stack_name),
        ),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            environment.function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            "/aws/lambda/chatbot-bench".into(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), "bench".into()),
        ("LAMBDA_TASK_ROOT".into(), task_root.display().to_string()),
    ]
}

/// The origin secret `bootstrap` gets in the cold-start runs, which refuses to start without
/// one; the events carry it as CloudFront would.
pub(super) const BENCH_ORIGIN_SECRET: &str = "bench0origin0secret0not0used0anywhere0else";

/// An API Gateway event of `bench/events/`, with the origin header CloudFront adds.
pub(super) fn read_event(root: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = root.join("bench").join("events").join(name);
    let text =
        std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
    let mut event: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let header = chatbot_contract::ORIGIN_VERIFY_HEADER;
    for (field, value) in [
        ("headers", serde_json::json!(BENCH_ORIGIN_SECRET)),
        (
            "multiValueHeaders",
            serde_json::json!([BENCH_ORIGIN_SECRET]),
        ),
    ] {
        let Some(headers) = event.get_mut(field).and_then(|h| h.as_object_mut()) else {
            bail!("{} has no {field} object", path.display());
        };
        headers.insert(header.into(), value);
    }
    Ok(serde_json::to_vec(&event)?)
}

/// moto_server on a free port of 127.0.0.1 with the service's table created in it.
pub(super) async fn start_moto(logs: &Path) -> anyhow::Result<(tokio::process::Child, String)> {
    let bin = tools::ensure(&tools::MOTO_SERVER)?;
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port();
    let child = Launch::new(&bin)
        .arg("-H")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .command(&logs.join("moto.log"))?
        .spawn()
        .context("could not start moto_server")?;
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            stop(child).await;
            bail!("moto_server did not listen on port {port} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // moto's venv has boto3: create the table the way any client would.
    let python = bin.with_file_name("python");
    let script = format!(
        "import boto3\n\
         c = boto3.client('dynamodb', endpoint_url='{url}', region_name='us-east-1',\n\
             aws_access_key_id='bench', aws_secret_access_key='bench')\n\
         c.create_table(TableName='{TABLE}', BillingMode='PAY_PER_REQUEST',\n\
             AttributeDefinitions=[{{'AttributeName': 'pk', 'AttributeType': 'S'}},\n\
                                   {{'AttributeName': 'sk', 'AttributeType': 'S'}}],\n\
             KeySchema=[{{'AttributeName': 'pk', 'KeyType': 'HASH'}},\n\
                        {{'AttributeName': 'sk', 'KeyType': 'RANGE'}}])\n"
    );
    let output = tokio::process::Command::new(&python)
        .args(["-c", &script])
        .output()
        .await
        .context("could not run moto's Python")?;
    if !output.status.success() {
        stop(child).await;
        bail!(
            "could not create the table in moto: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok((child, url))
}
