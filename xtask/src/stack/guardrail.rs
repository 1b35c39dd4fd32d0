//! The Amazon Bedrock guardrail of an environment with a `[guardrail]`: the guardrail, a
//! published version of it that the function names, and what the function needs to use it.
//!
//! A guardrail version is an immutable snapshot of the guardrail's working draft, taken when
//! the version is created, and CloudFormation updates the guardrail (its draft) in place. So the
//! version's description carries a hash of the guardrail's settings: when they change, the
//! description changes, CloudFormation replaces the version (a new one is published from the
//! updated draft), and the function is updated to name it before the old one is deleted.

use std::collections::BTreeMap;

use chatbot_contract::env_vars;

use super::api::fnv1a;
use super::{add, allow, get_att, ids};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Resource, Template};
use crate::env::{Environment, GuardrailSettings, PiiAction};

/// The action that lets a function apply a guardrail to its model calls.
pub const APPLY_GUARDRAIL: &str = "bedrock:ApplyGuardrail";

pub(super) fn add_to(env: &Environment, t: &mut Template) {
    let Some(settings) = &env.guardrail else {
        return;
    };
    let guardrail = guardrail(env, settings);
    let hash = format!(
        "{:016x}",
        fnv1a(&serde_json::to_vec(&guardrail).unwrap_or_default())
    );
    add(
        t,
        ids::GUARDRAIL,
        Resource::new(Properties::Guardrail(guardrail)),
    );
    add(
        t,
        ids::GUARDRAIL_VERSION,
        Resource::new(Properties::GuardrailVersion(GuardrailVersion {
            guardrail_identifier: get_att(ids::GUARDRAIL, "GuardrailId"),
            description: format!("Published by the stack from settings {}", &hash[..12]),
        })),
    );
}

fn guardrail(env: &Environment, settings: &GuardrailSettings) -> Guardrail {
    let content_policy_config =
        (!settings.content_filters.is_empty()).then(|| ContentPolicyConfig {
            filters_config: settings
                .content_filters
                .iter()
                .map(|filter| {
                    let strength = filter.strength.as_str().to_owned();
                    ContentFilterConfig {
                        kind: filter.category.as_str().into(),
                        input_strength: strength.clone(),
                        // A prompt attack is something a prompt does; answers are not assessed.
                        output_strength: if filter.category
                            == crate::env::FilterCategory::PromptAttack
                        {
                            "NONE".into()
                        } else {
                            strength
                        },
                    }
                })
                .collect(),
        });
    let topic_policy_config = (!settings.denied_topics.is_empty()).then(|| TopicPolicyConfig {
        topics_config: settings
            .denied_topics
            .iter()
            .map(|topic| TopicConfig {
                name: topic.name.clone(),
                definition: topic.definition.clone(),
                examples: topic.examples.clone(),
                kind: "DENY".into(),
            })
            .collect(),
    });
    let sensitive_information_policy_config =
        (!settings.pii.is_empty()).then(|| SensitiveInformationPolicyConfig {
            pii_entities_config: settings
                .pii
                .iter()
                .map(|pii| match pii.action {
                    PiiAction::Block => PiiEntityConfig {
                        kind: pii.entity.clone(),
                        action: "BLOCK".into(),
                        input_action: None,
                        input_enabled: None,
                        output_action: None,
                    },
                    // Masked in answers only: a visitor may write their own e-mail address or
                    // name in a question, and masking it would change the question.
                    PiiAction::Mask => PiiEntityConfig {
                        kind: pii.entity.clone(),
                        action: "ANONYMIZE".into(),
                        input_action: Some("NONE".into()),
                        input_enabled: Some(false),
                        output_action: Some("ANONYMIZE".into()),
                    },
                })
                .collect(),
        });
    let word_policy_config = (settings.profanity_filter || !settings.blocked_words.is_empty())
        .then(|| WordPolicyConfig {
            managed_word_lists_config: if settings.profanity_filter {
                vec![ManagedWordsConfig {
                    kind: "PROFANITY".into(),
                }]
            } else {
                Vec::new()
            },
            words_config: settings
                .blocked_words
                .iter()
                .map(|word| WordConfig { text: word.clone() })
                .collect(),
        });
    Guardrail {
        name: Expr::sub("${AWS::StackName}-guardrail"),
        description: format!("Every model call of the chatbot ({})", env.name),
        blocked_input_messaging: settings.blocked_input_message.clone(),
        blocked_outputs_messaging: settings.blocked_output_message.clone(),
        content_policy_config,
        topic_policy_config,
        sensitive_information_policy_config,
        word_policy_config,
    }
}

/// The function's guardrail variables with literal values: how streams are checked and the
/// messages shown for a blocked turn (the guardrail's own, from the same env-file values).
/// Empty without a `[guardrail]`. `cargo xtask dev` adds them when a guardrail id is given.
pub fn literal_environment(env: &Environment) -> BTreeMap<&'static str, String> {
    let Some(settings) = &env.guardrail else {
        return BTreeMap::new();
    };
    BTreeMap::from([
        (
            env_vars::GUARDRAIL_STREAM_PROCESSING,
            settings.stream_processing.as_str().to_owned(),
        ),
        (
            env_vars::GUARDRAIL_BLOCKED_INPUT_MESSAGE,
            settings.blocked_input_message.clone(),
        ),
        (
            env_vars::GUARDRAIL_BLOCKED_OUTPUT_MESSAGE,
            settings.blocked_output_message.clone(),
        ),
    ])
}

/// Every guardrail variable of the function: the id and published version from the stack,
/// and [`literal_environment`]. Empty without a `[guardrail]`.
pub(super) fn function_variables(env: &Environment) -> BTreeMap<String, Expr> {
    if env.guardrail.is_none() {
        return BTreeMap::new();
    }
    let mut variables: BTreeMap<String, Expr> = literal_environment(env)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Expr::Str(value)))
        .collect();
    variables.insert(
        env_vars::GUARDRAIL_ID.to_owned(),
        get_att(ids::GUARDRAIL_VERSION, "GuardrailId"),
    );
    variables.insert(
        env_vars::GUARDRAIL_VERSION.to_owned(),
        get_att(ids::GUARDRAIL_VERSION, "Version"),
    );
    variables
}

/// The function's permission to apply this guardrail, and no other.
pub(super) fn policy(env: &Environment) -> Option<InlinePolicy> {
    env.guardrail.as_ref()?;
    Some(InlinePolicy {
        policy_name: "guardrail".into(),
        policy_document: PolicyDocument::new(vec![allow(
            "ApplyOwnGuardrail",
            &[APPLY_GUARDRAIL],
            vec![get_att(ids::GUARDRAIL, "GuardrailArn")],
        )]),
    })
}
