//! Typed properties of `AWS::Bedrock::Guardrail` and `AWS::Bedrock::GuardrailVersion`, the
//! parts the stack sets.

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Guardrail {
    pub name: Expr,
    pub description: String,
    pub blocked_input_messaging: String,
    pub blocked_outputs_messaging: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_policy_config: Option<ContentPolicyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_policy_config: Option<TopicPolicyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive_information_policy_config: Option<SensitiveInformationPolicyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub word_policy_config: Option<WordPolicyConfig>,
}

impl ResourceType for Guardrail {
    const TYPE: &'static str = "AWS::Bedrock::Guardrail";
    const ATTRIBUTES: &'static [&'static str] = &["GuardrailArn", "GuardrailId", "Version"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContentPolicyConfig {
    pub filters_config: Vec<ContentFilterConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContentFilterConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    pub input_strength: String,
    pub output_strength: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicPolicyConfig {
    pub topics_config: Vec<TopicConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicConfig {
    pub name: String,
    pub definition: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    #[serde(rename = "Type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SensitiveInformationPolicyConfig {
    pub pii_entities_config: Vec<PiiEntityConfig>,
}

/// One kind of personal information and what the guardrail does with it. `Action` applies to
/// both directions unless `InputAction` / `OutputAction` say otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PiiEntityConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_action: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WordPolicyConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_word_lists_config: Vec<ManagedWordsConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words_config: Vec<WordConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedWordsConfig {
    #[serde(rename = "Type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WordConfig {
    pub text: String,
}

/// A published, immutable version of a guardrail: a snapshot of its working draft when the
/// version is created. A new version needs a new resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GuardrailVersion {
    pub guardrail_identifier: Expr,
    pub description: String,
}

impl ResourceType for GuardrailVersion {
    const TYPE: &'static str = "AWS::Bedrock::GuardrailVersion";
    const ATTRIBUTES: &'static [&'static str] = &["GuardrailArn", "GuardrailId", "Version"];
}
