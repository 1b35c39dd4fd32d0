//! `[domain]`: a custom domain for the CloudFront distribution.

use crate::check::{Checker, is_domain};
use crate::{EnvError, file};

/// A custom domain for the CloudFront distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    /// ACM certificate in us-east-1, as CloudFront requires.
    pub certificate_arn: String,
}

/// Checks `[domain]`.
pub(crate) fn check(c: &Checker, domain: file::Domain) -> Result<Domain, EnvError> {
    c.check(
        "domain.name",
        is_domain(&domain.name),
        &domain.name,
        "a DNS name such as chat.example.com",
    )?;
    c.check(
        "domain.certificate_arn",
        is_us_east_1_certificate(&domain.certificate_arn),
        &domain.certificate_arn,
        "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>), as CloudFront requires",
    )?;
    Ok(Domain {
        name: domain.name,
        certificate_arn: domain.certificate_arn,
    })
}

fn is_us_east_1_certificate(s: &str) -> bool {
    s.strip_prefix("arn:aws:acm:us-east-1:")
        .and_then(|rest| rest.split_once(":certificate/"))
        .is_some_and(|(account, id)| {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty()
        })
}
