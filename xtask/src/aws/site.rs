//! The page after the stack: publish `frontend/` to the site bucket and have CloudFront forget
//! what changed. The stack is up by then, so when either step fails the error says so, what
//! did not happen, and exactly what to run again.

use std::collections::BTreeMap;
use std::path::Path;

use super::Clients;
use super::publish::{self, Published};
use crate::digest::sha256_hex;
use crate::review::DeployedStack;
use crate::stack::{OUTPUT_DISTRIBUTION_ID, OUTPUT_SITE_BUCKET};

/// What did not happen after the stack was deployed.
#[derive(Debug)]
pub enum Unfinished {
    /// The page is not (wholly) in the bucket.
    NotPublished {
        done: Published,
        total: usize,
        error: anyhow::Error,
        /// When some files changed before it stopped: whether CloudFront was told to forget
        /// them.
        invalidated: Option<Result<(), NotForgotten>>,
    },
    /// The page is in the bucket, but CloudFront may serve the previous files.
    NotInvalidated {
        published: Published,
        distribution: String,
        paths: Vec<String>,
        error: anyhow::Error,
    },
}

/// An invalidation that failed: of which distribution, why, and the paths to run it for.
#[derive(Debug)]
pub struct NotForgotten {
    pub distribution: String,
    pub why: String,
    pub paths: Vec<String>,
}

/// Publishes the page to the stack's site bucket and invalidates what changed.
pub async fn publish(
    clients: &Clients,
    root: &Path,
    outputs: &BTreeMap<String, String>,
) -> Result<(), Unfinished> {
    let Some(bucket) = outputs.get(OUTPUT_SITE_BUCKET) else {
        println!("Site: not published (the stack has no {OUTPUT_SITE_BUCKET} output)");
        return Ok(());
    };
    let files =
        publish::site_files(&root.join("frontend")).map_err(|error| Unfinished::NotPublished {
            done: Published::default(),
            total: 0,
            error,
            invalidated: None,
        })?;
    let distribution = outputs.get(OUTPUT_DISTRIBUTION_ID);
    let published = match publish::publish(clients, bucket, &files).await {
        Ok(published) => published,
        Err(stopped) => {
            // What did change is invalidated anyway: a new deploy finds those files in place
            // and would not.
            let invalidated = match distribution {
                Some(distribution) if stopped.done.changed() => Some(
                    invalidate(clients, distribution, &stopped.done)
                        .await
                        .map(|_| ())
                        .map_err(|error| NotForgotten {
                            distribution: distribution.clone(),
                            why: format!("{error:#}"),
                            paths: stopped.done.invalidation_paths(),
                        }),
                ),
                _ => None,
            };
            return Err(Unfinished::NotPublished {
                done: stopped.done,
                total: files.len(),
                error: stopped.error,
                invalidated,
            });
        }
    };
    println!(
        "Site s3://{bucket}: {} uploaded, {} deleted, {} unchanged",
        published.uploaded.len(),
        published.deleted.len(),
        published.unchanged
    );
    if !published.changed() {
        return Ok(());
    }
    match distribution {
        Some(distribution) => match invalidate(clients, distribution, &published).await {
            Ok(id) => {
                println!("CloudFront {distribution}: invalidation {id} for the changed paths");
                Ok(())
            }
            Err(error) => Err(Unfinished::NotInvalidated {
                paths: published.invalidation_paths(),
                published,
                distribution: distribution.clone(),
                error,
            }),
        },
        None => {
            println!(
                "CloudFront: nothing to invalidate (the stack has no {OUTPUT_DISTRIBUTION_ID} output)"
            );
            Ok(())
        }
    }
}

async fn invalidate(
    clients: &Clients,
    distribution: &str,
    published: &Published,
) -> anyhow::Result<String> {
    let paths = published.invalidation_paths();
    let reference = format!("xtask-{}", sha256_hex(paths.join(",").as_bytes()));
    publish::invalidate(clients, distribution, &paths, &reference).await
}

/// `aws cloudfront create-invalidation` for `paths`, to run by hand.
fn invalidation_command(distribution: &str, paths: &[String]) -> String {
    format!(
        "`aws cloudfront create-invalidation --distribution-id {distribution} --paths {}`",
        paths
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

impl Unfinished {
    /// One sentence: the stack is up, what did not happen and why, and what to run.
    pub fn explain(&self, stack: &DeployedStack, env: &str, outputs_file: Option<&Path>) -> String {
        let up = format!(
            "stack {} is deployed ({}){}",
            stack.name,
            stack.status,
            outputs_file
                .map(|p| format!(" and its outputs are in {}", p.display()))
                .unwrap_or_default()
        );
        match self {
            Unfinished::NotPublished {
                done,
                total,
                error,
                invalidated,
            } => {
                let progress = if done.uploaded.is_empty() {
                    "nothing was uploaded".to_owned()
                } else {
                    format!(
                        "{} of {total} files were uploaded before it stopped ({})",
                        done.uploaded.len(),
                        done.uploaded.join(", ")
                    )
                };
                let cloudfront = match invalidated {
                    None => String::new(),
                    Some(Ok(())) => "; CloudFront was told to forget those".to_owned(),
                    Some(Err(failed)) => format!(
                        "; CloudFront could not be told to forget those ({}): after the retry, \
                         run {}",
                        failed.why,
                        invalidation_command(&failed.distribution, &failed.paths)
                    ),
                };
                format!(
                    "{up}, but the page was not published: {error:#}; {progress}{cloudfront}. \
                     Fix the cause and run `cargo xtask deploy --env {env}` again: with the stack \
                     unchanged it only publishes the page"
                )
            }
            Unfinished::NotInvalidated {
                published,
                distribution,
                paths,
                error,
            } => format!(
                "{up} and the page was published ({} uploaded, {} deleted), but CloudFront was \
                 not told to forget the changed files: {error:#}. Until its cached copies expire, \
                 visitors may get the previous ones: run {} (another deploy finds the page \
                 unchanged and would not)",
                published.uploaded.len(),
                published.deleted.len(),
                invalidation_command(distribution, paths)
            ),
        }
    }
}
