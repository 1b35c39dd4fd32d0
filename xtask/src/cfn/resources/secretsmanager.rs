//! `AWS::SecretsManager::Secret`: the origin secret's slots.

use serde::Serialize;

use super::ResourceType;

/// A secret whose value Secrets Manager generates; `Ref` gives its ARN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    pub description: String,
    pub generate_secret_string: GenerateSecretString,
}

impl ResourceType for Secret {
    const TYPE: &'static str = "AWS::SecretsManager::Secret";
    const ATTRIBUTES: &'static [&'static str] = &["Id"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateSecretString {
    pub password_length: u32,
    pub exclude_punctuation: bool,
}
