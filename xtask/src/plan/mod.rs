//! What `diff`, `deploy` and `rotate-secret` share: the inputs, the deployed state, the
//! decision between "nothing to do" and a change set, the change set itself, the review built
//! from it, executing it, and the plan file that carries a review from `diff` to `deploy`.

mod execute;
mod inputs;
mod preflight;

pub use execute::{Executed, Execution, run_change_set};
pub use inputs::{Inputs, Target};
pub use preflight::{gate, preflight};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::aws::cfn::{self, ChangeSetRequest, Created, TemplateSource};
use crate::aws::{self, Clients, artifacts};
use crate::digest::sha256_hex;
use crate::review::{self, ChangeKind, DeployedStack, Review, wire::DescribeChangeSet};
use crate::stack::origin::PARAM_ORIGIN_SECRETS;
use crate::stack::{PARAM_CODE_BUCKET, PARAM_CODE_KEY};

/// CloudFormation's limit for a template sent inline.
const INLINE_TEMPLATE_LIMIT: usize = 51_200;

/// The deployed side, read once.
pub struct Situation {
    pub account: String,
    /// The caller's ARN, for the deployment record.
    pub caller_arn: String,
    pub bucket: String,
    /// `None` when the stack does not exist (or only waits for its first change set).
    pub deployed: Option<DeployedStack>,
    pub deployed_template: String,
    /// The parameters this deploy passes.
    pub parameters: BTreeMap<String, String>,
}

impl Situation {
    pub fn kind(&self) -> ChangeKind {
        match &self.deployed {
            Some(stack) if !stack.is_under_review() => ChangeKind::Update,
            _ => ChangeKind::Create,
        }
    }

    /// Template, parameters and code are exactly what is deployed, and the stack is settled:
    /// no change set is needed.
    pub fn is_unchanged(&self, template: &str) -> bool {
        self.deployed.as_ref().is_some_and(|stack| {
            stack.is_updatable()
                && self.deployed_template == template
                && stack.parameters == self.parameters
        })
    }

    /// Identifies the deployed state, to notice when it changed after a review.
    pub fn fingerprint(&self) -> String {
        match &self.deployed {
            Some(stack) if !stack.is_under_review() => sha256_hex(
                format!(
                    "{}\n{}\n{:?}\n{:?}\n{}",
                    stack.id,
                    stack.status,
                    stack.last_updated,
                    stack.parameters,
                    self.deployed_template
                )
                .as_bytes(),
            ),
            _ => "absent".to_owned(),
        }
    }
}

/// Reads the caller's account and the stack's deployed state.
pub async fn survey(clients: &Clients, inputs: &Inputs) -> anyhow::Result<Situation> {
    let aws::Caller {
        account,
        arn: caller_arn,
    } = aws::caller(clients).await?;
    aws::check_account(&inputs.env.name, inputs.env.account_id.as_deref(), &account)?;
    let bucket = artifacts::bucket_name(&account, &clients.region);
    let deployed = cfn::describe_stack(&clients.cfn, &inputs.env.stack_name).await?;
    let deployed_template = match &deployed {
        Some(stack) if !stack.is_under_review() => {
            cfn::deployed_template(&clients.cfn, &stack.id).await?
        }
        _ => String::new(),
    };
    let mut parameters = BTreeMap::from([
        (PARAM_CODE_BUCKET.to_owned(), bucket.clone()),
        (PARAM_CODE_KEY.to_owned(), inputs.bundle.key()),
    ]);
    // CloudFormation gives a parameter an update leaves out its default, so what other
    // commands set (`rotate-secret`) is passed on as deployed.
    if let Some(stack) = deployed.as_ref().filter(|s| !s.is_under_review()) {
        let declared = template_parameters(&inputs.template);
        for name in CARRIED_OVER {
            if let Some(value) = stack.parameters.get(name)
                && declared.contains(name)
            {
                parameters.insert(name.to_owned(), value.clone());
            }
        }
    }
    Ok(Situation {
        account,
        caller_arn,
        bucket,
        deployed,
        deployed_template,
        parameters,
    })
}

/// A change set made and described.
pub struct Proposal {
    pub arn: String,
    pub stack_id: String,
    pub described: DescribeChangeSet,
}

/// Creates the change set `name` and waits for it; `None` when CloudFormation finds nothing to
/// change (the empty change set is deleted).
pub async fn propose(
    clients: &Clients,
    inputs: &Inputs,
    situation: &Situation,
    name: &str,
) -> anyhow::Result<Option<Proposal>> {
    let template = if inputs.template.len() > INLINE_TEMPLATE_LIMIT {
        let key = artifacts::template_key(
            &inputs.env.stack_name,
            &sha256_hex(inputs.template.as_bytes()),
        );
        artifacts::upload_if_missing(
            clients,
            &situation.bucket,
            &key,
            inputs.template.clone().into_bytes(),
            "application/x-yaml",
        )
        .await?;
        TemplateSource::Url(artifacts::object_url(clients, &situation.bucket, &key))
    } else {
        TemplateSource::Body(inputs.template.clone())
    };
    propose_change(
        clients,
        ChangeSetRequest {
            stack_name: &inputs.env.stack_name,
            change_set_name: name.to_owned(),
            kind: situation.kind(),
            template,
            parameters: &situation.parameters,
            description: format!("cargo xtask deploy --env {}", inputs.env.name),
        },
    )
    .await
}

/// Creates the change set `request` describes and waits for it; `None` when CloudFormation
/// finds nothing to change (the empty change set is deleted). A change set CloudFormation
/// refuses is deleted (with the empty stack a new stack's leaves) and reported as an error.
pub async fn propose_change(
    clients: &Clients,
    request: ChangeSetRequest<'_>,
) -> anyhow::Result<Option<Proposal>> {
    let stack_name = request.stack_name.to_owned();
    let kind = request.kind;
    let created = cfn::create_change_set(&clients.cfn, request).await?;
    let (arn, stack_id) = match created {
        Created::NoChanges => return Ok(None),
        Created::ChangeSet { arn, stack_id } => (arn, stack_id),
    };
    let described = cfn::wait_for_change_set(&clients.cfn, &arn).await?;
    if described.is_empty_change_set() {
        cfn::delete_change_set(&clients.cfn, &arn).await?;
        return Ok(None);
    }
    if described.status.as_deref() == Some("FAILED") {
        let reason = described
            .status_reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "it gave no reason".to_owned());
        cfn::delete_change_set(&clients.cfn, &arn).await.ok();
        if kind == ChangeKind::Create {
            // The change set of a new stack made an empty stack under review: remove it too.
            cfn::delete_stack(&clients.cfn, &stack_id).await.ok();
        }
        anyhow::bail!(
            "CloudFormation refused the change set for stack {stack_name} (nothing was changed, \
             and the change set was deleted): {}",
            reason.trim().trim_end_matches('.')
        );
    }
    Ok(Some(Proposal {
        arn,
        stack_id,
        described,
    }))
}

/// Removes what an unfinished [`propose`] of the change set `name` may have made: the change
/// set, and for a new stack the empty stack under review. Best effort: what is not there is
/// not an error.
pub async fn withdraw(clients: &Clients, inputs: &Inputs, situation: &Situation, name: &str) {
    let stack = &inputs.env.stack_name;
    cfn::delete_change_set_named(&clients.cfn, stack, name)
        .await
        .ok();
    if situation.kind() == ChangeKind::Create
        && let Ok(Some(found)) = cfn::describe_stack(&clients.cfn, stack).await
        && found.is_under_review()
    {
        cfn::delete_stack(&clients.cfn, &found.id).await.ok();
    }
}

/// `xtask-<unix seconds>-<pid>`: unique enough, and says where it came from.
pub fn change_set_name() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("xtask-{seconds}-{}", std::process::id())
}

/// The review of a proposal: the change set's resources, the parameters, IAM statements, what
/// can raise spend and the template's text diff against what is deployed.
pub fn review(
    inputs: &Inputs,
    situation: &Situation,
    described: Option<&DescribeChangeSet>,
) -> Review {
    let deployed_parameters = situation
        .deployed
        .as_ref()
        .filter(|stack| !stack.is_under_review())
        .map(|stack| stack.parameters.clone())
        .unwrap_or_default();
    let deployed_name = match situation.kind() {
        ChangeKind::Create => "deployed (none)".to_owned(),
        ChangeKind::Update => format!("deployed {}", inputs.env.stack_name),
    };
    let mut changes = described
        .map(DescribeChangeSet::resource_changes)
        .unwrap_or_default();
    review::mark_transform_resources(
        &mut changes,
        &[&situation.deployed_template, &inputs.template],
    );
    Review::new(
        &inputs.env.stack_name,
        situation.kind(),
        changes,
        review::parameter_changes(&deployed_parameters, &situation.parameters),
        review::diff_statements(
            &review::statements(&situation.deployed_template),
            &review::statements(&inputs.template),
        ),
        review::template_diff(
            &situation.deployed_template,
            &inputs.template,
            &deployed_name,
            &inputs.template_name,
        ),
    )
    .with_spend(review::spend_review(
        &situation.deployed_template,
        &inputs.template,
    ))
}

/// A reviewed change set kept for `deploy --plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFile {
    pub env: String,
    pub stack_name: String,
    pub change_set_arn: String,
    pub stack_id: String,
    /// The deployed state the review was made against.
    pub fingerprint: String,
    pub code_bucket: String,
    pub code_key: String,
    pub plan: String,
}

impl PlanFile {
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(path, text).with_context(|| format!("writing the plan {}", path.display()))
    }

    pub fn read(path: &Path) -> anyhow::Result<PlanFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the plan {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a plan written by `cargo xtask diff --out`",
                path.display()
            )
        })
    }
}

/// The stack's outputs; where the API gives none (a local server after a change set), outputs
/// that are a plain `Ref` in the template are resolved from the stack's resources.
pub async fn outputs(
    clients: &Clients,
    stack: &DeployedStack,
    template: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut outputs = stack.outputs.clone();
    let refs = output_refs(template);
    if refs.keys().all(|name| outputs.contains_key(name)) {
        return Ok(outputs);
    }
    let resources = cfn::stack_resources(&clients.cfn, &stack.id).await?;
    for (name, logical_id) in refs {
        if outputs.contains_key(&name) {
            continue;
        }
        if let Some(resource) = resources
            .iter()
            .find(|r| r.logical_id == logical_id && !r.physical_id.is_empty())
        {
            outputs.insert(name, resource.physical_id.clone());
        }
    }
    Ok(outputs)
}

/// Parameters a deploy keeps as they are deployed: set by other commands, not by the env file.
pub const CARRIED_OVER: [&str; 1] = [PARAM_ORIGIN_SECRETS];

/// The names of the parameters `template` declares.
pub fn template_parameters(template: &str) -> BTreeSet<String> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(template) else {
        return BTreeSet::new();
    };
    doc.get("Parameters")
        .and_then(|p| p.as_mapping())
        .into_iter()
        .flat_map(|parameters| parameters.keys())
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect()
}

/// `output name → logical id` for every output whose value is `Ref: <resource>`.
pub fn output_refs(template: &str) -> BTreeMap<String, String> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(template) else {
        return BTreeMap::new();
    };
    let Some(outputs) = doc.get("Outputs").and_then(|o| o.as_mapping()) else {
        return BTreeMap::new();
    };
    outputs
        .iter()
        .filter_map(|(name, output)| {
            let value = output.get("Value")?;
            let logical = match value {
                serde_yaml::Value::Tagged(tagged) if tagged.tag == "Ref" => {
                    tagged.value.as_str()?
                }
                other => other.get("Ref")?.as_str()?,
            };
            Some((name.as_str()?.to_owned(), logical.to_owned()))
        })
        .collect()
}
