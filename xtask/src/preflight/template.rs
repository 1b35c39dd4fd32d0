//! What preflight reads from the template itself: the names it gives resources (with the
//! stack name, region and account filled in) and the concurrency its functions reserve.
//!
//! Read from the rendered YAML, so whatever the stack model adds is checked without a list
//! to keep in step; only the limits are AWS's and listed here.

use serde_yaml::Value;

/// A name limit AWS documents for one resource property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameLimit {
    pub resource_type: &'static str,
    /// The property's path under `Properties`.
    pub path: &'static [&'static str],
    /// Characters allowed; `None` where AWS documents no limit.
    pub max: Option<usize>,
    /// What people call the name, for messages.
    pub what: &'static str,
}

/// The names the stack sets (or may set) and their limits, from each service's API reference.
pub const NAME_LIMITS: &[NameLimit] = &[
    NameLimit {
        resource_type: "AWS::CloudFront::OriginAccessControl",
        path: &["OriginAccessControlConfig", "Name"],
        max: Some(64),
        what: "CloudFront origin access control name",
    },
    NameLimit {
        resource_type: "AWS::CloudFront::Distribution",
        path: &["DistributionConfig", "Comment"],
        max: Some(128),
        what: "CloudFront distribution comment",
    },
    // CloudFront's API reference gives no length for policy names.
    NameLimit {
        resource_type: "AWS::CloudFront::ResponseHeadersPolicy",
        path: &["ResponseHeadersPolicyConfig", "Name"],
        max: None,
        what: "CloudFront response headers policy name",
    },
    NameLimit {
        resource_type: "AWS::CloudFront::OriginRequestPolicy",
        path: &["OriginRequestPolicyConfig", "Name"],
        max: None,
        what: "CloudFront origin request policy name",
    },
    NameLimit {
        resource_type: "AWS::CloudFront::CachePolicy",
        path: &["CachePolicyConfig", "Name"],
        max: None,
        what: "CloudFront cache policy name",
    },
    NameLimit {
        resource_type: "AWS::Cognito::UserPool",
        path: &["UserPoolName"],
        max: Some(128),
        what: "Cognito user pool name",
    },
    NameLimit {
        resource_type: "AWS::Cognito::UserPoolClient",
        path: &["ClientName"],
        max: Some(128),
        what: "Cognito app client name",
    },
    NameLimit {
        resource_type: "AWS::Cognito::UserPoolDomain",
        path: &["Domain"],
        max: Some(63),
        what: "Cognito managed login domain prefix",
    },
    NameLimit {
        resource_type: "AWS::CloudWatch::Dashboard",
        path: &["DashboardName"],
        max: Some(255),
        what: "CloudWatch dashboard name",
    },
    NameLimit {
        resource_type: "AWS::CloudWatch::Alarm",
        path: &["AlarmName"],
        max: Some(255),
        what: "CloudWatch alarm name",
    },
    NameLimit {
        resource_type: "AWS::Logs::LogGroup",
        path: &["LogGroupName"],
        max: Some(512),
        what: "log group name",
    },
    // API Gateway documents no length for REST API names.
    NameLimit {
        resource_type: "AWS::ApiGateway::RestApi",
        path: &["Name"],
        max: None,
        what: "REST API name",
    },
    NameLimit {
        resource_type: "AWS::Bedrock::Guardrail",
        path: &["Name"],
        max: Some(50),
        what: "Bedrock guardrail name",
    },
    // API Gateway documents no length for usage plan names.
    NameLimit {
        resource_type: "AWS::ApiGateway::UsagePlan",
        path: &["UsagePlanName"],
        max: None,
        what: "API Gateway usage plan name",
    },
    NameLimit {
        resource_type: "AWS::SNS::Topic",
        path: &["TopicName"],
        max: Some(256),
        what: "SNS topic name",
    },
    NameLimit {
        resource_type: "AWS::SNS::Topic",
        path: &["DisplayName"],
        max: Some(100),
        what: "SNS topic display name",
    },
    NameLimit {
        resource_type: "AWS::Lambda::Function",
        path: &["FunctionName"],
        max: Some(64),
        what: "Lambda function name",
    },
    NameLimit {
        resource_type: "AWS::Serverless::Function",
        path: &["FunctionName"],
        max: Some(64),
        what: "Lambda function name",
    },
    NameLimit {
        resource_type: "AWS::IAM::Role",
        path: &["RoleName"],
        max: Some(64),
        what: "IAM role name",
    },
    NameLimit {
        resource_type: "AWS::S3::Bucket",
        path: &["BucketName"],
        max: Some(63),
        what: "S3 bucket name",
    },
    NameLimit {
        resource_type: "AWS::DynamoDB::Table",
        path: &["TableName"],
        max: Some(255),
        what: "DynamoDB table name",
    },
    NameLimit {
        resource_type: "AWS::SecretsManager::Secret",
        path: &["Name"],
        max: Some(512),
        what: "secret name",
    },
];

/// What fills the pseudo parameters of a name.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub stack_name: &'a str,
    pub region: &'a str,
    pub account: &'a str,
}

/// A name the template gives a resource, as AWS will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub logical_id: String,
    pub limit: NameLimit,
    pub value: String,
    /// The longest stack name that keeps this name within its limit, when the name contains
    /// the stack name.
    pub max_stack_name: Option<usize>,
}

impl Name {
    pub fn chars(&self) -> usize {
        self.value.chars().count()
    }

    pub fn too_long(&self) -> bool {
        self.limit.max.is_some_and(|max| self.chars() > max)
    }
}

/// The template as YAML, or `None` when it is not (CloudFormation says why later).
pub fn parse(template: &str) -> Option<Value> {
    serde_yaml::from_str(template).ok()
}

/// Every name in [`NAME_LIMITS`] the template sets to a value known before deploying.
pub fn names(template: &Value, place: Place<'_>) -> Vec<Name> {
    let mut out = Vec::new();
    for (logical_id, resource_type, properties) in resources(template) {
        for limit in NAME_LIMITS
            .iter()
            .filter(|l| l.resource_type == resource_type)
        {
            let Some(value) = lookup(properties, limit.path) else {
                continue;
            };
            let Some(text) = evaluate(value, place) else {
                continue;
            };
            let max_stack_name = limit.max.and_then(|max| {
                let without = evaluate(
                    value,
                    Place {
                        stack_name: "",
                        ..place
                    },
                )?
                .chars()
                .count();
                let stack = place.stack_name.chars().count();
                let copies = (text.chars().count() - without).checked_div(stack)?;
                (copies > 0).then(|| max.saturating_sub(without) / copies)
            });
            out.push(Name {
                logical_id: logical_id.to_owned(),
                limit: *limit,
                value: text,
                max_stack_name,
            });
        }
    }
    out
}

/// The concurrency the template's functions reserve in total (`ReservedConcurrentExecutions`
/// of each `AWS::Lambda::Function`, and of each SAM function or SAM's `Globals`).
pub fn reserved_concurrency(template: &Value) -> u32 {
    let globals = lookup(
        template,
        &["Globals", "Function", "ReservedConcurrentExecutions"],
    )
    .and_then(as_u32);
    resources(template)
        .filter_map(|(_, resource_type, properties)| {
            let own = lookup(properties, &["ReservedConcurrentExecutions"]).and_then(as_u32);
            match resource_type {
                "AWS::Lambda::Function" => own,
                "AWS::Serverless::Function" => own.or(globals),
                _ => None,
            }
        })
        .sum()
}

fn resources(template: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(id, resource)| {
            Some((
                id.as_str()?,
                resource.get("Type")?.as_str()?,
                resource.get("Properties").unwrap_or(&Value::Null),
            ))
        })
}

fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |node, key| node.get(*key))
}

fn as_u32(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The string a property will have, for literals and `Fn::Sub`/`Fn::Join`/`Ref` of pseudo
/// parameters (long or short form); `None` when it depends on anything else.
fn evaluate(value: &Value, place: Place<'_>) -> Option<String> {
    let (function, argument) = match value {
        Value::String(s) => return Some(s.clone()),
        Value::Number(n) => return Some(n.to_string()),
        Value::Tagged(tagged) => (
            format!("Fn::{}", tagged.tag.to_string().trim_start_matches('!')),
            &tagged.value,
        ),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            (key.as_str()?.to_owned(), argument)
        }
        _ => return None,
    };
    match function.as_str() {
        "Ref" | "Fn::Ref" => pseudo(argument.as_str()?, place),
        "Fn::Sub" => substitute(argument.as_str()?, place),
        "Fn::Join" => {
            let [separator, parts] = argument.as_sequence()?.as_slice() else {
                return None;
            };
            let parts = parts
                .as_sequence()?
                .iter()
                .map(|part| evaluate(part, place))
                .collect::<Option<Vec<_>>>()?;
            Some(parts.join(separator.as_str()?))
        }
        _ => None,
    }
}

fn pseudo(name: &str, place: Place<'_>) -> Option<String> {
    Some(
        match name {
            "AWS::StackName" => place.stack_name,
            "AWS::Region" => place.region,
            "AWS::AccountId" => place.account,
            "AWS::Partition" => "aws",
            "AWS::URLSuffix" => "amazonaws.com",
            _ => return None,
        }
        .to_owned(),
    )
}

fn substitute(text: &str, place: Place<'_>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        match name.strip_prefix('!') {
            Some(literal) => {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            }
            None => out.push_str(&pseudo(name, place)?),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}
