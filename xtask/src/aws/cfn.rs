//! CloudFormation calls: stacks, templates, change sets, events, resources.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, TemplateStage};
use aws_smithy_types::date_time::Format;

use super::{api_error, is_error};
use crate::review::wire::{self, DescribeChangeSet};
use crate::review::{ChangeKind, DeployedStack, StackEvent, StackStatus};

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
}

/// The stack named (or with the id) `name`, or `None` when there is none.
pub async fn describe_stack(cfn: &Client, name: &str) -> anyhow::Result<Option<DeployedStack>> {
    let answer = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(answer) => answer,
        Err(err) if is_error(&err, "ValidationError", Some("does not exist")) => return Ok(None),
        Err(err) => return Err(api_error(&format!("reading stack {name}"), err)),
    };
    let Some(stack) = answer.stacks().first() else {
        return Ok(None);
    };
    let status = StackStatus::parse(stack.stack_status().map_or("", |s| s.as_str()));
    if status == StackStatus::DeleteComplete {
        return Ok(None);
    }
    Ok(Some(DeployedStack {
        id: stack.stack_id().unwrap_or(name).to_owned(),
        name: stack.stack_name().unwrap_or(name).to_owned(),
        status,
        status_reason: stack.stack_status_reason().map(str::to_owned),
        parameters: stack
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value().unwrap_or("").to_owned(),
                ))
            })
            .collect(),
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_owned(),
                    o.output_value().unwrap_or("").to_owned(),
                ))
            })
            .collect(),
        created: time(stack.creation_time()).unwrap_or_default(),
        last_updated: time(stack.last_updated_time()),
    }))
}

/// The template as it was submitted (before transforms), so it compares with a rendered one.
pub async fn deployed_template(cfn: &Client, stack: &str) -> anyhow::Result<String> {
    let answer = cfn
        .get_template()
        .stack_name(stack)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| api_error(&format!("reading the deployed template of {stack}"), e))?;
    Ok(answer.template_body().unwrap_or("").to_owned())
}

/// Where CloudFormation gets the template from.
pub enum TemplateSource {
    Body(String),
    Url(String),
    /// The template the stack already has (an update that changes only parameters).
    Previous,
}

pub struct ChangeSetRequest<'a> {
    pub stack_name: &'a str,
    pub change_set_name: String,
    pub kind: ChangeKind,
    pub template: TemplateSource,
    pub parameters: &'a BTreeMap<String, String>,
    pub description: String,
}

pub enum Created {
    ChangeSet {
        arn: String,
        stack_id: String,
    },
    /// Refused at once because nothing changes (what some servers do instead of a FAILED set).
    NoChanges,
}

pub async fn create_change_set(
    cfn: &Client,
    request: ChangeSetRequest<'_>,
) -> anyhow::Result<Created> {
    let mut call = cfn
        .create_change_set()
        .stack_name(request.stack_name)
        .change_set_name(&request.change_set_name)
        .change_set_type(match request.kind {
            ChangeKind::Create => ChangeSetType::Create,
            ChangeKind::Update => ChangeSetType::Update,
        })
        .description(request.description)
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .capabilities(Capability::CapabilityAutoExpand);
    call = match request.template {
        TemplateSource::Body(body) => call.template_body(body),
        TemplateSource::Url(url) => call.template_url(url),
        TemplateSource::Previous => call.use_previous_template(true),
    };
    for (key, value) in request.parameters {
        call = call.parameters(
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build(),
        );
    }
    match call.send().await {
        Ok(answer) => Ok(Created::ChangeSet {
            arn: answer.id().unwrap_or_default().to_owned(),
            stack_id: answer.stack_id().unwrap_or_default().to_owned(),
        }),
        Err(err)
            if is_error(
                &err,
                "ValidationError",
                Some("No updates are to be performed"),
            ) =>
        {
            Ok(Created::NoChanges)
        }
        Err(err) => Err(api_error(
            &format!("creating a change set for {}", request.stack_name),
            err,
        )),
    }
}

/// Waits until the change set is ready (or failed) and returns it with property values, every
/// page of changes collected.
pub async fn wait_for_change_set(cfn: &Client, arn: &str) -> anyhow::Result<DescribeChangeSet> {
    let mut delay = Backoff::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let described = describe_change_set(cfn, arn).await?;
        if !described.is_pending() {
            return Ok(described);
        }
        let status = described.status.as_deref().unwrap_or("");
        if Instant::now() > deadline {
            anyhow::bail!("change set {arn} was still {status} after 10 minutes");
        }
        delay.sleep().await;
    }
}

pub async fn describe_change_set(cfn: &Client, arn: &str) -> anyhow::Result<DescribeChangeSet> {
    let mut out = DescribeChangeSet::default();
    let mut token: Option<String> = None;
    loop {
        let answer = cfn
            .describe_change_set()
            .change_set_name(arn)
            .include_property_values(true)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| api_error("reading the change set", e))?;
        out.change_set_id = answer.change_set_id().map(str::to_owned);
        out.stack_name = answer.stack_name().map(str::to_owned);
        out.status = answer.status().map(|s| s.as_str().to_owned());
        out.status_reason = answer.status_reason().map(str::to_owned);
        out.execution_status = answer.execution_status().map(|s| s.as_str().to_owned());
        out.parameters = answer
            .parameters()
            .iter()
            .map(|p| wire::Parameter {
                parameter_key: p.parameter_key().unwrap_or_default().to_owned(),
                parameter_value: p.parameter_value().map(str::to_owned),
            })
            .collect();
        out.changes
            .extend(answer.changes().iter().map(change_to_wire));
        token = answer.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

fn change_to_wire(change: &aws_sdk_cloudformation::types::Change) -> wire::Change {
    let resource_change = change.resource_change().map(|rc| wire::WireResourceChange {
        policy_action: rc.policy_action().map(|p| p.as_str().to_owned()),
        action: rc.action().map(|a| a.as_str().to_owned()),
        logical_resource_id: rc.logical_resource_id().map(str::to_owned),
        physical_resource_id: rc.physical_resource_id().map(str::to_owned),
        resource_type: rc.resource_type().map(str::to_owned),
        replacement: rc.replacement().map(|r| r.as_str().to_owned()),
        scope: rc.scope().iter().map(|s| s.as_str().to_owned()).collect(),
        details: rc
            .details()
            .iter()
            .map(|d| wire::Detail {
                target: d.target().map(|t| wire::Target {
                    attribute: t.attribute().map(|a| a.as_str().to_owned()),
                    name: t.name().map(str::to_owned),
                    requires_recreation: t.requires_recreation().map(|r| r.as_str().to_owned()),
                    path: t.path().map(str::to_owned),
                    before_value: t.before_value().map(str::to_owned),
                    after_value: t.after_value().map(str::to_owned),
                    attribute_change_type: t.attribute_change_type().map(|a| a.as_str().to_owned()),
                }),
                evaluation: d.evaluation().map(|e| e.as_str().to_owned()),
                change_source: d.change_source().map(|c| c.as_str().to_owned()),
                causing_entity: d.causing_entity().map(str::to_owned),
            })
            .collect(),
        before_context: rc.before_context().map(str::to_owned),
        after_context: rc.after_context().map(str::to_owned),
    });
    wire::Change {
        kind: change.r#type().map(|t| t.as_str().to_owned()),
        resource_change,
    }
}

pub async fn delete_change_set(cfn: &Client, arn: &str) -> anyhow::Result<()> {
    cfn.delete_change_set()
        .change_set_name(arn)
        .send()
        .await
        .map_err(|e| api_error("deleting the change set", e))?;
    Ok(())
}

/// Deletes the change set `name` of `stack` (for when its ARN is not known yet).
pub async fn delete_change_set_named(cfn: &Client, stack: &str, name: &str) -> anyhow::Result<()> {
    cfn.delete_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .map_err(|e| api_error("deleting the change set", e))?;
    Ok(())
}

pub async fn execute_change_set(cfn: &Client, arn: &str) -> anyhow::Result<()> {
    cfn.execute_change_set()
        .change_set_name(arn)
        .send()
        .await
        .map_err(|e| api_error("executing the change set", e))?;
    Ok(())
}

/// The id of the newest event of `stack`, to follow only what comes after it.
pub async fn newest_event_id(cfn: &Client, stack: &str) -> anyhow::Result<Option<String>> {
    let answer = match cfn.describe_stack_events().stack_name(stack).send().await {
        Ok(answer) => answer,
        Err(err) if is_error(&err, "ValidationError", Some("does not exist")) => return Ok(None),
        Err(err) => return Err(api_error("reading stack events", err)),
    };
    Ok(answer
        .stack_events()
        .first()
        .and_then(|e| e.event_id())
        .map(str::to_owned))
}

/// The events of `stack` newer than the event `after`, oldest first.
pub async fn events_after(
    cfn: &Client,
    stack: &str,
    after: Option<&str>,
) -> anyhow::Result<Vec<StackEvent>> {
    let mut newest_first = Vec::new();
    let mut token: Option<String> = None;
    'pages: for _ in 0..20 {
        let answer = cfn
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| api_error("reading stack events", e))?;
        for event in answer.stack_events() {
            if after.is_some() && event.event_id() == after {
                break 'pages;
            }
            newest_first.push(wire::WireStackEvent {
                event_id: event.event_id().unwrap_or_default().to_owned(),
                stack_name: event.stack_name().map(str::to_owned),
                logical_resource_id: event.logical_resource_id().map(str::to_owned),
                physical_resource_id: event.physical_resource_id().map(str::to_owned),
                resource_type: event.resource_type().map(str::to_owned),
                timestamp: time(event.timestamp()).unwrap_or_default(),
                resource_status: event.resource_status().map(|s| s.as_str().to_owned()),
                resource_status_reason: event.resource_status_reason().map(str::to_owned),
            });
        }
        token = answer.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(newest_first
        .iter()
        .rev()
        .map(wire::WireStackEvent::to_review)
        .collect())
}

/// One resource of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
}

pub async fn stack_resources(cfn: &Client, stack: &str) -> anyhow::Result<Vec<StackResource>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let answer = cfn
            .list_stack_resources()
            .stack_name(stack)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| api_error(&format!("listing the resources of {stack}"), e))?;
        for summary in answer.stack_resource_summaries() {
            let logical_id = summary.logical_resource_id().unwrap_or_default();
            if logical_id.is_empty() {
                continue;
            }
            out.push(StackResource {
                logical_id: logical_id.to_owned(),
                physical_id: summary
                    .physical_resource_id()
                    .unwrap_or_default()
                    .to_owned(),
                resource_type: summary.resource_type().unwrap_or_default().to_owned(),
            });
        }
        token = answer.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

pub async fn delete_stack(cfn: &Client, stack: &str) -> anyhow::Result<()> {
    cfn.delete_stack()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| api_error(&format!("deleting stack {stack}"), e))?;
    Ok(())
}

/// Polls until `stack` (a name or id) is in no `_IN_PROGRESS` state; returns that state,
/// `DELETE_COMPLETE` when it is gone.
pub async fn wait_settled(
    cfn: &Client,
    stack: &str,
    limit: Duration,
) -> anyhow::Result<StackStatus> {
    let deadline = Instant::now() + limit;
    let mut delay = Backoff::new();
    loop {
        let status = match describe_stack(cfn, stack).await? {
            Some(found) => found.status,
            None => return Ok(StackStatus::DeleteComplete),
        };
        if !status.is_in_progress() {
            return Ok(status);
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "stack {stack} was still {status} after {} s",
                limit.as_secs()
            );
        }
        delay.sleep().await;
    }
}

/// Polling that starts fast and backs off: 100 ms, growing by half each time, at most 5 s.
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub fn new() -> Backoff {
        Backoff {
            next: Duration::from_millis(100),
        }
    }

    pub async fn sleep(&mut self) {
        tokio::time::sleep(self.next).await;
        self.advance();
    }

    /// The wait before the next poll.
    pub fn peek(&self) -> Duration {
        self.next
    }

    pub fn advance(&mut self) {
        self.next = (self.next * 3 / 2).min(Duration::from_secs(5));
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}
