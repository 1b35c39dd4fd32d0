//! Publishing `frontend/` to the site bucket: only what changed is uploaded, what is gone is
//! deleted, and CloudFront forgets the changed paths.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use md5::{Digest, Md5};

use super::{Clients, api_error};

/// One file of the site as it will be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    pub key: String,
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

impl SiteFile {
    /// The S3 ETag of a single-part upload: the MD5 of the bytes, in hex.
    pub fn etag(&self) -> String {
        Md5::digest(&self.bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The files of the page under `dir`, keyed by their path from it: only kinds of file a
/// browser loads (see [`content_type`]). What belongs to the page's tooling is left out: dot
/// files and folders, `tests/`, `node_modules/`, npm's `package*.json`, and files of any
/// other kind (`README.md`, scripts, source maps).
pub fn site_files(dir: &Path) -> anyhow::Result<Vec<SiteFile>> {
    let mut files = Vec::new();
    collect(dir, "", &mut files)?;
    files.sort_by(|a, b| a.key.cmp(&b.key));
    if !files.iter().any(|f| f.key == "index.html") {
        anyhow::bail!("{} has no index.html to publish", dir.display());
    }
    Ok(files)
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<SiteFile>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "tests" || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        let key = format!("{prefix}{name}");
        if entry.file_type()?.is_dir() {
            collect(&path, &format!("{key}/"), out)?;
        } else if is_page_file(&name) {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            out.push(SiteFile {
                content_type: content_type(&name),
                cache_control: cache_control(&name),
                key,
                bytes,
            });
        }
    }
    Ok(())
}

/// Whether a file is part of the page: a kind browsers load, and not npm's manifest or lock.
fn is_page_file(name: &str) -> bool {
    let npm =
        (name.starts_with("package") && name.ends_with(".json")) || name == "npm-shrinkwrap.json";
    !npm && content_type(name) != "application/octet-stream"
}

/// The media type a browser needs for a file name.
pub fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("avif") => "image/avif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("wasm") => "application/wasm",
        Some("txt") => "text/plain; charset=utf-8",
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// The page itself is revalidated on every load, so a deploy shows at once; the files it loads
/// are not fingerprinted (no build step), so browsers keep them only briefly.
pub fn cache_control(name: &str) -> &'static str {
    if name.ends_with(".html") || name.ends_with(".json") {
        "no-cache"
    } else {
        "public, max-age=300"
    }
}

/// What publishing did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    pub uploaded: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
}

impl Published {
    pub fn changed(&self) -> bool {
        !self.uploaded.is_empty() || !self.deleted.is_empty()
    }

    /// The paths CloudFront must forget; `/` too when the page changed.
    pub fn invalidation_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .uploaded
            .iter()
            .chain(&self.deleted)
            .map(|key| format!("/{key}"))
            .collect();
        if paths.iter().any(|p| p == "/index.html") {
            paths.push("/".to_owned());
        }
        paths
    }
}

/// Publishing stopped part-way: what it had done, and why it stopped.
#[derive(Debug)]
pub struct Stopped {
    pub done: Published,
    pub error: anyhow::Error,
}

/// Makes `bucket` hold exactly `files`: uploads new and changed ones, deletes the rest.
pub async fn publish(
    clients: &Clients,
    bucket: &str,
    files: &[SiteFile],
) -> Result<Published, Stopped> {
    let mut published = Published::default();
    let existing = match list_etags(clients, bucket).await {
        Ok(existing) => existing,
        Err(error) => {
            return Err(Stopped {
                done: published,
                error,
            });
        }
    };
    for file in files {
        if existing
            .get(&file.key)
            .is_some_and(|etag| *etag == file.etag())
        {
            published.unchanged += 1;
            continue;
        }
        let uploaded = clients
            .s3
            .put_object()
            .bucket(bucket)
            .key(&file.key)
            .content_type(file.content_type)
            .cache_control(file.cache_control)
            .body(ByteStream::from(file.bytes.clone()))
            .send()
            .await;
        if let Err(err) = uploaded {
            return Err(Stopped {
                done: published,
                error: api_error(&format!("uploading s3://{bucket}/{}", file.key), err),
            });
        }
        published.uploaded.push(file.key.clone());
    }
    let stale: Vec<String> = existing
        .keys()
        .filter(|key| !files.iter().any(|f| &f.key == *key))
        .cloned()
        .collect();
    if !stale.is_empty() {
        if let Err(error) = delete_keys(clients, bucket, &stale).await {
            return Err(Stopped {
                done: published,
                error,
            });
        }
        published.deleted = stale;
    }
    Ok(published)
}

async fn list_etags(clients: &Clients, bucket: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let answer = clients
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| api_error(&format!("listing s3://{bucket}"), e))?;
        for object in answer.contents() {
            if let Some(key) = object.key() {
                let etag = object.e_tag().unwrap_or("").trim_matches('"').to_owned();
                out.insert(key.to_owned(), etag);
            }
        }
        token = answer.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn delete_keys(clients: &Clients, bucket: &str, keys: &[String]) -> anyhow::Result<()> {
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()?;
        clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| api_error(&format!("deleting old files from s3://{bucket}"), e))?;
    }
    Ok(())
}

/// Deletes every object (and every version, for versioned buckets) so the stack can delete it.
pub async fn empty_bucket(clients: &Clients, bucket: &str) -> anyhow::Result<usize> {
    let mut removed = 0;
    loop {
        let answer = match clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(err) if super::is_error(&err, "NoSuchBucket", None) => return Ok(removed),
            Err(err) => return Err(api_error(&format!("listing s3://{bucket}"), err)),
        };
        let mut objects = Vec::new();
        for version in answer.versions() {
            objects.push(
                ObjectIdentifier::builder()
                    .key(version.key().unwrap_or_default())
                    .set_version_id(version.version_id().map(str::to_owned))
                    .build()?,
            );
        }
        for marker in answer.delete_markers() {
            objects.push(
                ObjectIdentifier::builder()
                    .key(marker.key().unwrap_or_default())
                    .set_version_id(marker.version_id().map(str::to_owned))
                    .build()?,
            );
        }
        if objects.is_empty() {
            return Ok(removed);
        }
        removed += objects.len();
        for chunk in objects.chunks(1000) {
            clients
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(chunk.to_vec()))
                        .quiet(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| api_error(&format!("emptying s3://{bucket}"), e))?;
        }
    }
}

/// Asks CloudFront to forget `paths`; returns the invalidation's id.
pub async fn invalidate(
    clients: &Clients,
    distribution_id: &str,
    paths: &[String],
    reference: &str,
) -> anyhow::Result<String> {
    let paths = Paths::builder()
        .quantity(i32::try_from(paths.len())?)
        .set_items(Some(paths.to_vec()))
        .build()?;
    let answer = clients
        .cloudfront
        .create_invalidation()
        .distribution_id(distribution_id)
        .invalidation_batch(
            InvalidationBatch::builder()
                .paths(paths)
                .caller_reference(reference)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| {
            api_error(
                &format!("invalidating CloudFront distribution {distribution_id}"),
                e,
            )
        })?;
    Ok(answer
        .invalidation()
        .map(|i| i.id().to_owned())
        .unwrap_or_default())
}
