//! The stack's outputs: the site's URL, the API's stage URL and the names deploy needs.

use super::{
    OUTPUT_API_URL, OUTPUT_DISTRIBUTION_ID, OUTPUT_FUNCTION, OUTPUT_SITE_BUCKET, OUTPUT_SITE_URL,
    OUTPUT_TABLE, STAGE_NAME, ids, reference, sign_in,
};
use crate::cfn::{Expr, Output, Template};
use crate::env::Environment;

/// Every output of the stack.
pub(super) fn add_to(env: &Environment, t: &mut Template) {
    let site_url = match &env.domain {
        Some(domain) => Expr::Str(format!("https://{}", domain.name)),
        None => Expr::sub(format!("https://${{{}.DomainName}}", ids::DISTRIBUTION)),
    };
    let output = |description: &str, value: Expr| Output {
        description: description.into(),
        value,
    };
    t.outputs = vec![
        (
            OUTPUT_SITE_URL.into(),
            output("The chatbot's page", site_url),
        ),
        (
            OUTPUT_API_URL.into(),
            output(
                "The API Gateway stage; it refuses requests without CloudFront's API key (403), so use /api on the site",
                Expr::sub(format!(
                    "https://${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{STAGE_NAME}{}",
                    ids::REST_API,
                    chatbot_contract::API_PREFIX
                )),
            ),
        ),
        (
            OUTPUT_TABLE.into(),
            output(
                "DynamoDB table of history, rate windows and budget",
                reference(ids::TABLE),
            ),
        ),
        (
            OUTPUT_SITE_BUCKET.into(),
            output(
                "Bucket the page is published to",
                reference(ids::SITE_BUCKET),
            ),
        ),
        (
            OUTPUT_DISTRIBUTION_ID.into(),
            output(
                "CloudFront distribution serving page and API",
                reference(ids::DISTRIBUTION),
            ),
        ),
        (
            OUTPUT_FUNCTION.into(),
            output(
                "The Lambda function answering the API",
                reference(ids::FUNCTION),
            ),
        ),
    ];
    t.outputs.extend(sign_in::outputs(env));
}
