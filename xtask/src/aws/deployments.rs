//! The deployment records in the artifacts bucket: writing one, reading the newest, and
//! fetching the artifacts a record names.

use aws_sdk_s3::primitives::ByteStream;

use super::{Clients, api_error, is_error};
use crate::deployments::{self, Record};

/// Stores `record` under `deployments/<env>/<id>.json`.
pub async fn write(clients: &Clients, bucket: &str, record: &Record) -> anyhow::Result<String> {
    let key = deployments::key(&record.env, &record.id);
    let body = serde_json::to_vec_pretty(record)?;
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| {
            api_error(
                &format!("writing the deployment record s3://{bucket}/{key}"),
                e,
            )
        })?;
    Ok(key)
}

/// The newest `limit` records of `env`, newest first. No bucket yet: none. A record that
/// cannot be read is said on stderr and left out.
pub async fn newest(
    clients: &Clients,
    bucket: &str,
    env: &str,
    limit: usize,
) -> anyhow::Result<Vec<Record>> {
    let prefix = deployments::prefix(env);
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = match clients
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
        {
            Ok(page) => page,
            Err(err) if is_error(&err, "NoSuchBucket", None) => return Ok(Vec::new()),
            Err(err) => {
                return Err(api_error(
                    &format!("listing the deployment records in s3://{bucket}/{prefix}"),
                    err,
                ));
            }
        };
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .filter(|k| k.starts_with(&prefix) && k.ends_with(".json"))
                .map(str::to_owned),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    // Ids start with the time, so the newest sorts last.
    keys.sort_unstable_by(|a, b| b.cmp(a));
    let mut records = Vec::new();
    for key in keys.into_iter().take(limit) {
        let Some(bytes) = get(clients, bucket, &key).await? else {
            continue;
        };
        match serde_json::from_slice::<Record>(&bytes) {
            Ok(record) => records.push(record),
            Err(err) => eprintln!("warning: s3://{bucket}/{key} is not a deployment record: {err}"),
        }
    }
    Ok(records)
}

/// The bytes of `bucket/key`; `None` when there is no such object.
pub async fn get(clients: &Clients, bucket: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let answer = match clients.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(answer) => answer,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            return Ok(None);
        }
        Err(err) if is_error(&err, "NoSuchKey", None) || is_error(&err, "NoSuchBucket", None) => {
            return Ok(None);
        }
        Err(err) => return Err(api_error(&format!("reading s3://{bucket}/{key}"), err)),
    };
    let bytes = answer
        .body
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("reading s3://{bucket}/{key}: {e}"))?;
    Ok(Some(bytes.into_bytes().to_vec()))
}
