//! Does the function's reserved concurrency fit the account? Lambda refuses a reservation that
//! leaves fewer than 100 executions unreserved for the account's other functions (all of
//! them, when the account's quota is 100 or less, as in new accounts).

use super::{Answers, Check, Facts, Finding, Reply};

/// Lambda's `GetAccountSettings`, the part that matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountConcurrency {
    /// The account's quota of concurrent executions in the region.
    pub limit: u32,
    /// What no function has reserved.
    pub unreserved: u32,
}

/// The Lambda quota code of "Concurrent executions".
const QUOTA_CODE: &str = "L-B99A9384";

/// How many executions Lambda keeps unreserved for an account with quota `limit`.
pub fn minimum_unreserved(limit: u32) -> u32 {
    limit.min(100)
}

pub(super) fn check(
    facts: &Facts<'_>,
    requested: u32,
    answers: &Answers,
    findings: &mut Vec<Finding>,
) {
    if requested == 0 {
        return;
    }
    let subject = "reserved_concurrency";
    let account = match &answers.concurrency {
        Reply::Answered(account) => *account,
        other => {
            findings.extend(Finding::unchecked(
                Check::Concurrency,
                subject,
                "whether the reserved concurrency fits the account's Lambda concurrency",
                other,
            ));
            return;
        }
    };
    let (reserved_now, uncounted) = match &answers.stack_reserved {
        Reply::Answered(n) => (*n, None),
        other => (
            0,
            Finding::unchecked(
                Check::Concurrency,
                subject,
                "what the deployed stack reserves today (counted as 0)",
                other,
            ),
        ),
    };
    findings.extend(uncounted);
    let env = facts.env;
    let minimum = minimum_unreserved(account.limit);
    // What is left for everything else once this stack's reservation changes.
    let available = account.unreserved + reserved_now;
    if available >= requested + minimum {
        return;
    }
    let others = account.limit.saturating_sub(available);
    let quota = others + requested + 100;
    let largest = available.saturating_sub(minimum);
    let lower = if largest >= 1 {
        format!(
            "lower function.reserved_concurrency in envs/{}.toml to at most {largest}, or ",
            env.name
        )
    } else {
        String::new()
    };
    findings.push(Finding::problem(
        Check::Concurrency,
        subject,
        format!(
            "Reserving {requested} concurrent executions for the function would leave {} of \
             account {}'s Lambda concurrency unreserved in {}, and Lambda keeps at least \
             {minimum} unreserved (the account's quota is {}, {} unreserved now{}). Lambda \
             would refuse the function. To fix it, {lower}raise the account's quota of \
             concurrent executions to at least {quota}: `aws service-quotas \
             request-service-quota-increase --service-code lambda --quota-code {QUOTA_CODE} \
             --desired-value {quota} --region {}` (new accounts start low; an increase can take \
             a day)",
            available.saturating_sub(requested),
            facts.account,
            env.region,
            account.limit,
            account.unreserved,
            if reserved_now > 0 {
                format!(", of which this stack's function holds {reserved_now} back today")
            } else {
                String::new()
            },
            env.region
        ),
    ));
}
