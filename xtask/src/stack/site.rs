//! The site: the private bucket the page is published to, readable by this stack's
//! CloudFront distribution only, over TLS only.

use std::collections::BTreeMap;

use super::{add, get_att, ids, reference};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Policy, Resource, Template};
use crate::env::Environment;

/// The private bucket and its policy.
pub(super) fn add_to(env: &Environment, t: &mut Template) {
    let mut bucket = Resource::new(Properties::Bucket(Bucket {
        bucket_encryption: BucketEncryption {
            server_side_encryption_configuration: vec![ServerSideEncryptionRule {
                server_side_encryption_by_default: ServerSideEncryptionByDefault {
                    sse_algorithm: "AES256".into(),
                },
            }],
        },
        public_access_block_configuration: PublicAccessBlockConfiguration::ALL_BLOCKED,
        ownership_controls: OwnershipControls {
            rules: vec![OwnershipRule {
                object_ownership: "BucketOwnerEnforced".into(),
            }],
        },
        versioning_configuration: env.site_versioning.then(|| VersioningConfiguration {
            status: "Enabled".into(),
        }),
    }))
    .keep(Policy::Delete)
    .skip_check(
        "CKV_AWS_18",
        "The bucket only holds the published page; CloudFront is its one reader and the page is rebuilt from git, so server access logs would record nothing of use",
    );
    if !env.site_versioning {
        bucket = bucket.skip_check(
            "CKV_AWS_21",
            format!(
                "The page is published from git on every deploy; envs/{}.toml sets [site] versioning = false",
                env.name
            ),
        );
    }
    add(t, ids::SITE_BUCKET, bucket);

    let distribution_arn = Expr::sub(format!(
        "arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{}}}",
        ids::DISTRIBUTION
    ));
    let only_this_distribution = Expr::Map(BTreeMap::from([(
        "StringEquals".to_owned(),
        Expr::Map(BTreeMap::from([(
            "AWS:SourceArn".to_owned(),
            distribution_arn,
        )])),
    )]));
    let cloudfront_reads = |sid: &str, action: &str, resource: Expr| Statement {
        sid: Some(sid.into()),
        effect: Effect::Allow,
        principal: Some(Principal::Service("cloudfront.amazonaws.com".into())),
        action: vec![action.into()],
        resource: vec![resource],
        condition: Some(only_this_distribution.clone()),
    };
    add(
        t,
        ids::SITE_BUCKET_POLICY,
        Resource::new(Properties::BucketPolicy(BucketPolicy {
            bucket: reference(ids::SITE_BUCKET),
            policy_document: PolicyDocument::new(vec![
                cloudfront_reads(
                    "CloudFrontReadsObjects",
                    "s3:GetObject",
                    Expr::sub(format!("${{{}.Arn}}/*", ids::SITE_BUCKET)),
                ),
                // Lets CloudFront answer 404 rather than 403 for a missing file.
                cloudfront_reads(
                    "CloudFrontListsObjects",
                    "s3:ListBucket",
                    get_att(ids::SITE_BUCKET, "Arn"),
                ),
                deny_plain_http(ids::SITE_BUCKET),
            ]),
        })),
    );
}

/// Refuses every request to `bucket` and its objects that does not use TLS, whoever sends it
/// (CloudFront reads the bucket over HTTPS; anything else is refused anyway).
pub fn deny_plain_http(bucket: &str) -> Statement {
    Statement {
        sid: Some("DenyPlainHttp".into()),
        effect: Effect::Deny,
        principal: Some(Principal::Anyone),
        action: vec!["s3:*".into()],
        resource: vec![
            get_att(bucket, "Arn"),
            Expr::sub(format!("${{{bucket}.Arn}}/*")),
        ],
        condition: Some(Expr::Map(BTreeMap::from([(
            "Bool".to_owned(),
            Expr::Map(BTreeMap::from([(
                "aws:SecureTransport".to_owned(),
                Expr::str("false"),
            )])),
        )]))),
    }
}
