//! `AWS::Cognito::*`: the user pool people sign in to, its managed login domain and branding,
//! the page's app client and a federated identity provider.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ResourceType;
use crate::cfn::Expr;

/// A user pool; `Ref` gives its id (`us-east-1_Abc`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPool {
    pub user_pool_name: Expr,
    /// `ESSENTIALS`: managed login (version 2) needs at least this plan.
    pub user_pool_tier: String,
    /// `["email"]`: people sign in with their e-mail address.
    pub username_attributes: Vec<String>,
    pub username_configuration: UsernameConfiguration,
    pub auto_verified_attributes: Vec<String>,
    pub user_attribute_update_settings: UserAttributeUpdateSettings,
    pub schema: Vec<SchemaAttribute>,
    pub policies: UserPoolPolicies,
    /// `OFF`, `ON` or `OPTIONAL`.
    pub mfa_configuration: String,
    pub enabled_mfas: Vec<String>,
    pub admin_create_user_config: AdminCreateUserConfig,
    pub account_recovery_setting: AccountRecoverySetting,
    /// `ACTIVE` or `INACTIVE`.
    pub deletion_protection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda_config: Option<LambdaConfig>,
}

impl ResourceType for UserPool {
    const TYPE: &'static str = "AWS::Cognito::UserPool";
    const ATTRIBUTES: &'static [&'static str] = &["Arn", "ProviderURL", "UserPoolId"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsernameConfiguration {
    pub case_sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserAttributeUpdateSettings {
    pub attributes_require_verification_before_update: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaAttribute {
    pub name: String,
    pub attribute_data_type: String,
    pub required: bool,
    pub mutable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPoolPolicies {
    pub password_policy: PasswordPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PasswordPolicy {
    pub minimum_length: u32,
    pub require_lowercase: bool,
    pub require_uppercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub temporary_password_validity_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminCreateUserConfig {
    /// True: no self sign-up.
    pub allow_admin_create_user_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountRecoverySetting {
    pub recovery_mechanisms: Vec<RecoveryOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecoveryOption {
    pub name: String,
    pub priority: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LambdaConfig {
    pub pre_sign_up: Expr,
}

/// The managed login domain, `<Domain>.auth.<region>.amazoncognito.com`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPoolDomain {
    pub domain: Expr,
    pub user_pool_id: Expr,
    /// 2: managed login; 1: the classic hosted UI.
    pub managed_login_version: u32,
}

impl ResourceType for UserPoolDomain {
    const TYPE: &'static str = "AWS::Cognito::UserPoolDomain";
}

/// An app client; `Ref` gives its client id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPoolClient {
    pub client_name: Expr,
    pub user_pool_id: Expr,
    /// False: a public client (a page cannot keep a secret); PKCE protects its codes.
    pub generate_secret: bool,
    #[serde(rename = "AllowedOAuthFlowsUserPoolClient")]
    pub allowed_oauth_flows_user_pool_client: bool,
    #[serde(rename = "AllowedOAuthFlows")]
    pub allowed_oauth_flows: Vec<String>,
    #[serde(rename = "AllowedOAuthScopes")]
    pub allowed_oauth_scopes: Vec<String>,
    #[serde(rename = "CallbackURLs")]
    pub callback_urls: Vec<Expr>,
    #[serde(rename = "LogoutURLs")]
    pub logout_urls: Vec<Expr>,
    pub supported_identity_providers: Vec<Expr>,
    pub explicit_auth_flows: Vec<String>,
    pub prevent_user_existence_errors: String,
    pub enable_token_revocation: bool,
    pub access_token_validity: u32,
    pub id_token_validity: u32,
    pub refresh_token_validity: u32,
    pub token_validity_units: TokenValidityUnits,
}

impl ResourceType for UserPoolClient {
    const TYPE: &'static str = "AWS::Cognito::UserPoolClient";
    const ATTRIBUTES: &'static [&'static str] = &["ClientId"];
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TokenValidityUnits {
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: String,
}

/// Managed login's look for one app client: Cognito's own here.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedLoginBranding {
    pub user_pool_id: Expr,
    pub client_id: Expr,
    pub use_cognito_provided_values: bool,
}

impl ResourceType for ManagedLoginBranding {
    const TYPE: &'static str = "AWS::Cognito::ManagedLoginBranding";
}

/// A federated identity provider (`OIDC` or `SAML`); `Ref` gives its name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPoolIdentityProvider {
    pub user_pool_id: Expr,
    pub provider_name: String,
    pub provider_type: String,
    /// `client_id`, `client_secret`, `oidc_issuer`, ... or `MetadataURL`.
    pub provider_details: BTreeMap<String, Expr>,
    /// User pool attribute to the provider's attribute.
    pub attribute_mapping: BTreeMap<String, String>,
}

impl ResourceType for UserPoolIdentityProvider {
    const TYPE: &'static str = "AWS::Cognito::UserPoolIdentityProvider";
}
