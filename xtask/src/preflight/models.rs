//! Is every allowed model usable by this account in this region? From Bedrock's own answers:
//! the inference profile (for `us.`/`eu.`/`global.`… ids), the foundation model it invokes,
//! and the model's availability to the account (region, authorization, AWS Marketplace
//! agreement and entitlement), plus Anthropic's first-time use-case form.

use super::{Check, Facts, Finding, Reply};

/// Prefixes of Bedrock's cross-region inference profiles, which route a model's calls within
/// a geography.
const GEOGRAPHIES: [&str; 8] = ["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"];

/// How a model id is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLookup {
    /// The inference profile to ask for, when the id is one.
    pub profile: Option<String>,
    /// The foundation model the id names (for a profile: the id without its geography, until
    /// the profile itself says which model it invokes).
    pub foundation_id: String,
}

/// `us.anthropic.claude-…` is an inference profile of `anthropic.claude-…`;
/// `amazon.nova-lite-v1:0` is a foundation model.
pub fn model_lookup(id: &str) -> ModelLookup {
    match id.split_once('.') {
        Some((geography, rest)) if GEOGRAPHIES.contains(&geography) && rest.contains('.') => {
            ModelLookup {
                profile: Some(id.to_owned()),
                foundation_id: rest.to_owned(),
            }
        }
        _ => ModelLookup {
            profile: None,
            foundation_id: id.to_owned(),
        },
    }
}

/// GetInferenceProfile's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceProfile {
    pub status: String,
    /// ARNs of the foundation model in each region the profile routes to.
    pub model_arns: Vec<String>,
}

impl InferenceProfile {
    /// The foundation model it invokes: the one in `region`, else the first.
    pub fn foundation_id(&self, region: &str) -> Option<String> {
        let id = |arn: &String| {
            arn.split_once("foundation-model/")
                .map(|(_, id)| id.to_owned())
        };
        self.model_arns
            .iter()
            .find(|arn| arn.split(':').nth(3) == Some(region))
            .or(self.model_arns.first())
            .and_then(id)
    }
}

/// GetFoundationModel's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundationModel {
    pub provider: String,
    /// `ACTIVE` or `LEGACY`.
    pub lifecycle: String,
    /// `ON_DEMAND`, `PROVISIONED`, `INFERENCE_PROFILE`.
    pub inference_types: Vec<String>,
}

/// GetFoundationModelAvailability's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// `AVAILABLE`, `PENDING`, `NOT_AVAILABLE`, `ERROR`.
    pub agreement: String,
    pub agreement_error: Option<String>,
    /// `AUTHORIZED` or `NOT_AUTHORIZED`.
    pub authorization: String,
    /// `AVAILABLE` or `NOT_AVAILABLE`.
    pub entitlement: String,
    /// `AVAILABLE` or `NOT_AVAILABLE`.
    pub region: String,
}

/// Bedrock's answers about one allowed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelAnswers {
    /// The id in `models.allowed`.
    pub id: String,
    pub name: String,
    /// For an inference-profile id; `None` inside when Bedrock has no such profile here.
    pub profile: Option<Reply<Option<InferenceProfile>>>,
    /// The foundation model the id (or its profile) invokes.
    pub foundation_id: String,
    /// `None` inside when Bedrock has no such model here.
    pub foundation: Reply<Option<FoundationModel>>,
    /// `None` inside when Bedrock has no such model here.
    pub availability: Reply<Option<Availability>>,
}

impl ModelAnswers {
    pub fn is_anthropic(&self) -> bool {
        match self.foundation.answered() {
            Some(Some(model)) => model.provider.eq_ignore_ascii_case("anthropic"),
            _ => self.foundation_id.starts_with("anthropic."),
        }
    }

    fn label(&self) -> String {
        format!("Model {} ({})", self.id, self.name)
    }

    fn not_authorized(&self) -> bool {
        matches!(
            self.availability.answered(),
            Some(Some(a)) if a.region == "AVAILABLE" && a.authorization != "AUTHORIZED"
        )
    }
}

/// The Bedrock console's model catalog in `region`.
pub fn console_url(region: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/bedrock/home?region={region}#/model-catalog")
}

/// The inference-profile geography serving `region`: `us` for us-west-2, `eu` for eu-west-1.
fn geography(region: &str) -> &'static str {
    match region.split('-').next().unwrap_or_default() {
        _ if region.starts_with("us-gov-") => "us-gov",
        "us" => "us",
        "eu" => "eu",
        "ca" => "ca",
        "ap" if region == "ap-northeast-1" || region == "ap-northeast-3" => "jp",
        "ap" if region == "ap-southeast-2" || region == "ap-southeast-4" => "au",
        "ap" => "apac",
        _ => "global",
    }
}

pub(super) fn check(
    facts: &Facts<'_>,
    model: &ModelAnswers,
    use_case: &Option<Reply<bool>>,
    findings: &mut Vec<Finding>,
) {
    let env = facts.env;
    let region = env.region.as_str();
    let label = model.label();
    let subject = model.id.as_str();
    let allowed_in = format!("models.allowed in envs/{}.toml", env.name);

    if let Some(reply) = &model.profile {
        match reply {
            Reply::Answered(None) => {
                let prefix = model.id.split('.').next().unwrap_or_default();
                let hint = if prefix != "global" && prefix != geography(region) {
                    format!(
                        "`{prefix}.` profiles route only between regions of that geography; in \
                         {region} use a `{}.` profile. ",
                        geography(region)
                    )
                } else {
                    String::new()
                };
                findings.push(Finding::problem(
                    Check::Model,
                    subject,
                    format!(
                        "{label} cannot be used: Bedrock has no inference profile {} in {region}. \
                         {hint}Pick a profile offered there (`aws bedrock list-inference-profiles \
                         --region {region} --query 'inferenceProfileSummaries[].inferenceProfileId'`) \
                         and put it in {allowed_in}",
                        model.id
                    ),
                ));
                return;
            }
            Reply::Answered(Some(profile)) if profile.status != "ACTIVE" => {
                findings.push(Finding::problem(
                    Check::Model,
                    subject,
                    format!(
                        "{label} cannot be used: its inference profile is {} in {region}, not \
                         ACTIVE. Pick another profile (`aws bedrock list-inference-profiles \
                         --region {region}`) and put it in {allowed_in}",
                        profile.status
                    ),
                ));
                return;
            }
            Reply::Answered(Some(_)) => {}
            other => findings.extend(Finding::unchecked(
                Check::Model,
                subject,
                &format!("the inference profile {}", model.id),
                other,
            )),
        }
    }

    let not_offered = || {
        Finding::problem(
            Check::Model,
            subject,
            format!(
                "{label} cannot be used: Bedrock does not offer {} in {region} to account {}. \
                 Pick a model offered there (`aws bedrock list-foundation-models --region \
                 {region} --query 'modelSummaries[].modelId'`) and put it in {allowed_in}, or \
                 deploy the environment to a region that offers it",
                model.foundation_id, facts.account
            ),
        )
    };
    match &model.foundation {
        Reply::Answered(None) => {
            findings.push(not_offered());
            return;
        }
        Reply::Answered(Some(foundation)) => {
            if model.profile.is_none()
                && !foundation.inference_types.iter().any(|t| t == "ON_DEMAND")
            {
                let profile = format!("{}.{}", geography(region), model.id);
                findings.push(Finding::problem(
                    Check::Model,
                    subject,
                    format!(
                        "{label} cannot be called on demand by its own id in {region}: Bedrock \
                         serves it only through an inference profile. Put `{profile}` in \
                         {allowed_in} instead (check it with `aws bedrock get-inference-profile \
                         --inference-profile-identifier {profile} --region {region}`)"
                    ),
                ));
            }
            if foundation.lifecycle == "LEGACY" {
                findings.push(Finding::warning(
                    Check::Model,
                    subject,
                    format!(
                        "{label} is a legacy model: it works until AWS retires it, and accounts \
                         that never used it may be refused. Plan the move to its successor \
                         (`aws bedrock list-foundation-models --region {region} --by-provider \
                         {}`)",
                        foundation.provider
                    ),
                ));
            }
        }
        other => findings.extend(Finding::unchecked(
            Check::Model,
            subject,
            &format!("the model {}", model.foundation_id),
            other,
        )),
    }

    let availability = match &model.availability {
        Reply::Answered(Some(availability)) => availability,
        Reply::Answered(None) => {
            if !matches!(model.foundation, Reply::Answered(None)) {
                findings.push(not_offered());
            }
            return;
        }
        other => {
            findings.extend(Finding::unchecked(
                Check::Model,
                subject,
                &format!(
                    "whether account {} may use {}",
                    facts.account, model.foundation_id
                ),
                other,
            ));
            return;
        }
    };
    if availability.region != "AVAILABLE" {
        findings.push(not_offered());
        return;
    }
    let catalog = console_url(region);
    if availability.authorization != "AUTHORIZED" {
        let text = match (
            model.is_anthropic(),
            use_case.as_ref().and_then(Reply::answered),
        ) {
            (true, Some(true)) => format!(
                "{label} is not authorized for account {} (authorizationStatus {}), although \
                 Anthropic's use-case form is on record: a Service Control Policy or an IAM \
                 policy denies the model, or Anthropic's review is not done yet. Ask the \
                 organization's administrator to allow it, or wait and run the command again",
                facts.account, availability.authorization
            ),
            (true, _) => format!(
                "{label} is not authorized for account {} (authorizationStatus {}): Anthropic \
                 asks each account for a one-time use-case form before its models answer, and \
                 Bedrock has none on record. Submit it once (in an AWS Organization, once in the \
                 management account covers every member): open {catalog}, choose an Anthropic \
                 model and fill in the use-case details it asks for, or send the same form with \
                 `aws bedrock put-use-case-for-model-access --form-data fileb://use-case.json \
                 --region {region}`. Access follows within minutes",
                facts.account, availability.authorization
            ),
            (false, _) => format!(
                "{label} is not authorized for account {} in {region} (authorizationStatus {}): \
                 a Service Control Policy or the account's model access settings deny it. Ask the \
                 organization's administrator to allow it, or choose another model in \
                 {allowed_in}",
                facts.account, availability.authorization
            ),
        };
        findings.push(Finding::problem(Check::Model, subject, text));
    }

    let offers = format!(
        "`aws bedrock list-foundation-model-agreement-offers --model-id {id} --region {region}`, \
         then `aws bedrock create-foundation-model-agreement --model-id {id} --offer-token \
         <offerToken> --region {region}`",
        id = model.foundation_id
    );
    match (
        availability.agreement.as_str(),
        availability.entitlement.as_str(),
    ) {
        ("AVAILABLE", "AVAILABLE") => {}
        ("PENDING", "AVAILABLE") => findings.push(Finding::warning(
            Check::Model,
            subject,
            format!(
                "{label}: its AWS Marketplace agreement is still being set up \
                 (agreementAvailability PENDING). It usually completes within minutes; until \
                 then chats with it fail with AccessDeniedException"
            ),
        )),
        ("ERROR", _) => findings.push(Finding::problem(
            Check::Model,
            subject,
            format!(
                "{label} cannot be used: its AWS Marketplace agreement failed \
                 (agreementAvailability ERROR{}). Check the account's payment method and \
                 subscriptions in AWS Marketplace (https://console.aws.amazon.com/marketplace/home#/subscriptions), \
                 then accept the model's offer again: {offers}",
                availability
                    .agreement_error
                    .as_deref()
                    .map(|e| format!(": {}", e.trim().trim_end_matches('.')))
                    .unwrap_or_default()
            ),
        )),
        (agreement, entitlement) => findings.push(Finding::problem(
            Check::Model,
            subject,
            format!(
                "{label} has no AWS Marketplace subscription in account {} yet \
                 (agreementAvailability {agreement}, entitlementAvailability {entitlement}). \
                 Bedrock subscribes an account on the first call to a third-party model, but only \
                 when the caller may use AWS Marketplace, and the chatbot's function may not. \
                 Subscribe once, as a user or role allowed aws-marketplace:Subscribe, \
                 aws-marketplace:Unsubscribe and aws-marketplace:ViewSubscriptions (the account \
                 also needs a valid payment method): open the model in the playground of \
                 {catalog} and send one message, or accept its offer with {offers}. It takes a \
                 few minutes; run the command again once it is done",
                facts.account
            ),
        )),
    }
}

/// When Bedrock has no Anthropic use-case form on record although every Anthropic model is
/// authorized (an organization's management account may have sent it): a warning, once.
pub(super) fn use_case_warning(
    facts: &Facts<'_>,
    models: &[ModelAnswers],
    use_case: &Option<Reply<bool>>,
) -> Option<Finding> {
    if use_case.as_ref().and_then(Reply::answered) != Some(&false) {
        return None;
    }
    let anthropic: Vec<&ModelAnswers> = models.iter().filter(|m| m.is_anthropic()).collect();
    if anthropic.is_empty() || anthropic.iter().any(|m| m.not_authorized()) {
        return None;
    }
    Some(Finding::warning(
        Check::Model,
        "anthropic",
        format!(
            "Bedrock has no Anthropic use-case form on record for account {}, yet reports {} as \
             authorized (an organization's management account may have sent the form). If chats \
             fail with \"Model use case details have not been submitted\", submit the form: open \
             {}, choose an Anthropic model and fill in the use-case details it asks for",
            facts.account,
            anthropic
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            console_url(&facts.env.region)
        ),
    ))
}
