//! Is the custom domain's certificate one CloudFront can serve it with? In ACM in us-east-1,
//! issued, not expired, and covering the name (a wildcard covers one label).

use super::{Check, Facts, Finding, Reply};
use crate::env::Domain;

/// ACM's `DescribeCertificate`, the part that matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub arn: String,
    /// `ISSUED`, `PENDING_VALIDATION`, `EXPIRED`, `REVOKED`, `FAILED`, `INACTIVE`,
    /// `VALIDATION_TIMED_OUT`.
    pub status: String,
    pub domain: String,
    pub alternative_names: Vec<String>,
    /// Seconds since the Unix epoch.
    pub not_after: Option<i64>,
    /// `AMAZON_ISSUED`, `IMPORTED`, `PRIVATE`.
    pub kind: Option<String>,
}

/// Imported certificates are not renewed by ACM: warn this long before they expire.
const IMPORTED_WARNING_SECONDS: i64 = 30 * 24 * 3600;

/// Whether the certificate name `pattern` (`chat.example.com`, `*.example.com`) covers `name`.
pub fn covers(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(parent) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => pattern == name,
    }
}

pub(super) fn check(
    facts: &Facts<'_>,
    domain: &Domain,
    reply: &Reply<Option<Certificate>>,
    findings: &mut Vec<Finding>,
) {
    let arn = domain.certificate_arn.as_str();
    let env_file = format!("envs/{}.toml", facts.env.name);
    let request = format!(
        "`aws acm request-certificate --domain-name {} --validation-method DNS --region \
         us-east-1`, add the DNS record it asks for, and put the new ARN in \
         domain.certificate_arn in {env_file}",
        domain.name
    );
    let owner = arn.split(':').nth(4).unwrap_or_default();
    if owner != facts.account {
        findings.push(Finding::problem(
            Check::Certificate,
            arn,
            format!(
                "The certificate {arn} in domain.certificate_arn belongs to account {owner}, and                  CloudFront serves only certificates of the deploying account ({}). Request one                  in this account: {request}",
                facts.account
            ),
        ));
        return;
    }
    let certificate = match reply {
        Reply::Answered(Some(certificate)) => certificate,
        Reply::Answered(None) => {
            findings.push(Finding::problem(
                Check::Certificate,
                arn,
                format!(
                    "The certificate {arn} in domain.certificate_arn is not in ACM in us-east-1 \
                     for account {}: CloudFront serves only certificates from us-east-1 of the \
                     deploying account. Request one there: {request}",
                    facts.account
                ),
            ));
            return;
        }
        other => {
            findings.extend(Finding::unchecked(
                Check::Certificate,
                arn,
                &format!("the certificate for {}", domain.name),
                other,
            ));
            return;
        }
    };
    // An EXPIRED status already says it.
    let expired =
        certificate.status == "ISSUED" && certificate.not_after.is_some_and(|t| t <= facts.now);
    match certificate.status.as_str() {
        "ISSUED" => {}
        "PENDING_VALIDATION" => findings.push(Finding::problem(
            Check::Certificate,
            arn,
            format!(
                "The certificate {arn} for {} is not validated yet (PENDING_VALIDATION), and \
                 CloudFront refuses it until ACM issues it. Create the DNS records ACM asks for \
                 (`aws acm describe-certificate --certificate-arn {arn} --region us-east-1 \
                 --query Certificate.DomainValidationOptions`), wait for ISSUED, then deploy",
                certificate.domain
            ),
        )),
        status => findings.push(Finding::problem(
            Check::Certificate,
            arn,
            format!(
                "The certificate {arn} for {} is {status}: CloudFront cannot use it. Request a \
                 new one: {request}",
                certificate.domain
            ),
        )),
    }
    if expired {
        findings.push(Finding::problem(
            Check::Certificate,
            arn,
            format!(
                "The certificate {arn} for {} has expired, and CloudFront refuses expired \
                 certificates. {}",
                certificate.domain,
                if certificate.kind.as_deref() == Some("IMPORTED") {
                    "Import a renewed one (`aws acm import-certificate --certificate-arn … \
                     --region us-east-1`) or request one from ACM, which renews its own: "
                        .to_owned()
                        + &request
                } else {
                    format!("Request a new one: {request}")
                }
            ),
        ));
    } else if certificate.kind.as_deref() == Some("IMPORTED")
        && certificate
            .not_after
            .is_some_and(|t| t - facts.now < IMPORTED_WARNING_SECONDS)
    {
        findings.push(Finding::warning(
            Check::Certificate,
            arn,
            format!(
                "The imported certificate {arn} for {} expires within 30 days, and ACM does not \
                 renew imported certificates: import a renewed one before then",
                certificate.domain
            ),
        ));
    }
    let mut names = vec![certificate.domain.clone()];
    names.extend(
        certificate
            .alternative_names
            .iter()
            .filter(|n| **n != certificate.domain)
            .cloned(),
    );
    if !names.iter().any(|pattern| covers(pattern, &domain.name)) {
        findings.push(Finding::problem(
            Check::Certificate,
            arn,
            format!(
                "The certificate {arn} does not cover {} (it covers {}), so CloudFront would \
                 refuse the name. Request one that does (for {} or *.{}): {request}",
                domain.name,
                names.join(", "),
                domain.name,
                domain
                    .name
                    .split_once('.')
                    .map(|(_, p)| p)
                    .unwrap_or(&domain.name)
            ),
        ));
    }
}
