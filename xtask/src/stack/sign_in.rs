//! Sign-in (`[auth] mode = "users"`): an Amazon Cognito user pool with managed login, the
//! page's public app client (authorization code with PKCE), a federated identity provider when
//! the env file names one, a pre-sign-up check of e-mail domains, and what the function and API
//! Gateway are told about them. A public environment gets none of it.
//!
//! API Gateway and the function both check the access token: API Gateway's Cognito authorizer
//! refuses a missing, forged or expired token before the function runs (so a flood of bad
//! tokens costs no Lambda time), and the function verifies it again with the issuer's keys,
//! also checking that it is an access token issued to this client.

use std::collections::BTreeMap;

use chatbot_contract::env_vars;

use super::{add, allow, get_att, ids, log_group, reference, trust};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Output, Policy, Resource, Template};
use crate::env::{Environment, FederationProtocol, UserSignIn, default_domain_prefix};

/// The OAuth scopes the page asks for; API Gateway requires [`REQUIRED_SCOPE`] of them.
pub const SCOPES: [&str; 3] = ["openid", "email", "profile"];
/// The scope every signed-in route lists. A Cognito authorizer checks an ACCESS token only
/// when the method names scopes (without, it expects an ID token); tokens the pool issues
/// outside the page's code flow (`aws.cognito.signin.user.admin` only) lack it.
pub const REQUIRED_SCOPE: &str = "openid";

/// Stack output: the user pool's id.
pub const OUTPUT_USER_POOL_ID: &str = "UserPoolId";
/// Stack output: the page's app client id.
pub const OUTPUT_USER_POOL_CLIENT_ID: &str = "UserPoolClientId";
/// Stack output: managed login's sign-in page for the site.
pub const OUTPUT_LOGIN_URL: &str = "LoginUrl";

/// Access and ID tokens live an hour; the page refreshes them with the refresh token, which
/// lives 30 days unless the person signs out (revocation is on).
const ACCESS_TOKEN_MINUTES: u32 = 60;
const REFRESH_TOKEN_DAYS: u32 = 30;

/// The pre-sign-up check, whole: a few lines a reviewer reads in the template. It refuses a
/// sign-up (also a federated person's first sign-in) whose e-mail is not at an allowed domain.
const SIGN_UP_CHECK_CODE: &str = r#"import os

ALLOWED = {d for d in os.environ["ALLOWED_EMAIL_DOMAINS"].split(",") if d}


def handler(event, context):
    email = event["request"]["userAttributes"].get("email", "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not local or not at or domain not in ALLOWED:
        raise Exception("sign-up is open only to addresses at " + ", ".join(sorted(ALLOWED)))
    return event
"#;

/// The user pool and everything around it, in `users` mode.
pub(super) fn add_to(env: &Environment, t: &mut Template) {
    let Some(users) = env.auth.users() else {
        return;
    };
    let protected = env.table.deletion_protection;

    let lambda_config = (!users.allowed_email_domains.is_empty()).then(|| {
        add_sign_up_check(env, users, t);
        LambdaConfig {
            pre_sign_up: get_att(ids::SIGN_UP_CHECK, "Arn"),
        }
    });
    let pool = Resource::new(Properties::UserPool(UserPool {
        user_pool_name: Expr::sub("${AWS::StackName}-users"),
        user_pool_tier: "ESSENTIALS".into(),
        username_attributes: vec!["email".into()],
        username_configuration: UsernameConfiguration {
            case_sensitive: false,
        },
        auto_verified_attributes: vec!["email".into()],
        user_attribute_update_settings: UserAttributeUpdateSettings {
            attributes_require_verification_before_update: vec!["email".into()],
        },
        schema: vec![SchemaAttribute {
            name: "email".into(),
            attribute_data_type: "String".into(),
            required: true,
            mutable: true,
        }],
        policies: UserPoolPolicies {
            password_policy: PasswordPolicy {
                minimum_length: 12,
                require_lowercase: true,
                require_uppercase: true,
                require_numbers: true,
                require_symbols: false,
                temporary_password_validity_days: 7,
            },
        },
        mfa_configuration: "OPTIONAL".into(),
        enabled_mfas: vec!["SOFTWARE_TOKEN_MFA".into()],
        admin_create_user_config: AdminCreateUserConfig {
            allow_admin_create_user_only: !users.self_sign_up,
        },
        account_recovery_setting: AccountRecoverySetting {
            recovery_mechanisms: vec![RecoveryOption {
                name: "verified_email".into(),
                priority: 1,
            }],
        },
        deletion_protection: if protected { "ACTIVE" } else { "INACTIVE" }.into(),
        lambda_config,
    }))
    .keep(if protected {
        Policy::Retain
    } else {
        Policy::Delete
    });
    add(t, ids::USER_POOL, pool);

    add(
        t,
        ids::USER_POOL_DOMAIN,
        Resource::new(Properties::UserPoolDomain(UserPoolDomain {
            domain: domain_prefix(env, users),
            user_pool_id: reference(ids::USER_POOL),
            managed_login_version: 2,
        })),
    );

    let mut providers = vec![Expr::str("COGNITO")];
    if let Some(federation) = &users.federation {
        let (provider_type, details) = match &federation.protocol {
            FederationProtocol::Oidc {
                issuer,
                client_id,
                client_secret_arn,
                scopes,
            } => (
                "OIDC",
                BTreeMap::from([
                    ("client_id".to_owned(), Expr::str(client_id)),
                    // Resolved by CloudFormation when it creates or updates the provider; the
                    // template and the stack's parameters never hold the secret.
                    (
                        "client_secret".to_owned(),
                        Expr::Str(format!(
                            "{{{{resolve:secretsmanager:{client_secret_arn}:SecretString}}}}"
                        )),
                    ),
                    ("oidc_issuer".to_owned(), Expr::str(issuer)),
                    ("authorize_scopes".to_owned(), Expr::Str(scopes.join(" "))),
                    ("attributes_request_method".to_owned(), Expr::str("GET")),
                ]),
            ),
            FederationProtocol::Saml { metadata_url } => (
                "SAML",
                BTreeMap::from([
                    ("MetadataURL".to_owned(), Expr::str(metadata_url)),
                    ("IDPSignout".to_owned(), Expr::str("false")),
                ]),
            ),
        };
        add(
            t,
            ids::IDENTITY_PROVIDER,
            Resource::new(Properties::UserPoolIdentityProvider(
                UserPoolIdentityProvider {
                    user_pool_id: reference(ids::USER_POOL),
                    provider_name: federation.name.clone(),
                    provider_type: provider_type.into(),
                    provider_details: details,
                    attribute_mapping: BTreeMap::from([(
                        "email".to_owned(),
                        federation.email_attribute.clone(),
                    )]),
                },
            )),
        );
        // `Ref` gives the provider's name, and orders the client after the provider exists.
        providers.push(reference(ids::IDENTITY_PROVIDER));
    }

    let site_urls = site_urls(env);
    add(
        t,
        ids::USER_POOL_CLIENT,
        Resource::new(Properties::UserPoolClient(UserPoolClient {
            client_name: Expr::sub("${AWS::StackName}-page"),
            user_pool_id: reference(ids::USER_POOL),
            generate_secret: false,
            allowed_oauth_flows_user_pool_client: true,
            allowed_oauth_flows: vec!["code".into()],
            allowed_oauth_scopes: SCOPES.map(str::to_owned).to_vec(),
            callback_urls: site_urls.clone(),
            logout_urls: site_urls,
            supported_identity_providers: providers,
            explicit_auth_flows: vec!["ALLOW_REFRESH_TOKEN_AUTH".into()],
            prevent_user_existence_errors: "ENABLED".into(),
            enable_token_revocation: true,
            access_token_validity: ACCESS_TOKEN_MINUTES,
            id_token_validity: ACCESS_TOKEN_MINUTES,
            refresh_token_validity: REFRESH_TOKEN_DAYS,
            token_validity_units: TokenValidityUnits {
                access_token: "minutes".into(),
                id_token: "minutes".into(),
                refresh_token: "days".into(),
            },
        })),
    );

    add(
        t,
        ids::MANAGED_LOGIN_BRANDING,
        Resource::new(Properties::ManagedLoginBranding(ManagedLoginBranding {
            user_pool_id: reference(ids::USER_POOL),
            client_id: reference(ids::USER_POOL_CLIENT),
            use_cognito_provided_values: true,
        }))
        .depends_on(ids::USER_POOL_DOMAIN),
    );
}

/// The pre-sign-up function, its role, log group and the permission Cognito calls it with.
fn add_sign_up_check(env: &Environment, users: &UserSignIn, t: &mut Template) {
    add(
        t,
        ids::SIGN_UP_CHECK_LOGS,
        log_group(env, "sign-up-check", "sign-up check's logs"),
    );
    add(
        t,
        ids::SIGN_UP_CHECK_ROLE,
        Resource::new(Properties::Role(Role {
            assume_role_policy_document: trust("lambda.amazonaws.com"),
            managed_policy_arns: Vec::new(),
            policies: vec![InlinePolicy {
                policy_name: "logs".into(),
                policy_document: PolicyDocument::new(vec![allow(
                    "WriteOwnLogs",
                    &["logs:CreateLogStream", "logs:PutLogEvents"],
                    vec![get_att(ids::SIGN_UP_CHECK_LOGS, "Arn")],
                )]),
            }],
        })),
    );
    add(
        t,
        ids::SIGN_UP_CHECK,
        Resource::new(Properties::InlineFunction(InlineFunction {
            description: format!(
                "Chatbot ({}): refuses sign-ups outside the allowed e-mail domains",
                env.name
            ),
            runtime: "python3.13".into(),
            handler: "index.handler".into(),
            code: InlineCode {
                zip_file: SIGN_UP_CHECK_CODE.into(),
            },
            role: get_att(ids::SIGN_UP_CHECK_ROLE, "Arn"),
            architectures: vec!["arm64".into()],
            memory_size: 128,
            timeout: 5,
            reserved_concurrent_executions: 5,
            environment: FunctionEnvironment {
                variables: BTreeMap::from([(
                    "ALLOWED_EMAIL_DOMAINS".to_owned(),
                    Expr::Str(users.allowed_email_domains.join(",")),
                )]),
            },
            logging_config: LoggingConfig {
                log_format: "JSON".into(),
                application_log_level: "INFO".into(),
                system_log_level: "WARN".into(),
                log_group: reference(ids::SIGN_UP_CHECK_LOGS),
            },
        }))
        .skip_check(
            "CKV_AWS_116",
            "Cognito calls the check synchronously and refuses the sign-up when it fails; there is nothing to retry",
        )
        .skip_check(
            "CKV_AWS_117",
            "The check calls nothing: it reads the sign-up event and answers",
        )
        .skip_check(
            "CKV_AWS_173",
            "The one variable is the list of allowed e-mail domains, which the template shows anyway",
        ),
    );
    add(
        t,
        ids::SIGN_UP_CHECK_PERMISSION,
        Resource::new(Properties::Permission(Permission {
            action: "lambda:InvokeFunction".into(),
            function_name: get_att(ids::SIGN_UP_CHECK, "Arn"),
            principal: "cognito-idp.amazonaws.com".into(),
            source_arn: get_att(ids::USER_POOL, "Arn"),
        })),
    );
}

/// The managed login prefix: the env file's, or the stack name and the account id (a prefix
/// is unique in a region across all accounts).
pub fn domain_prefix(env: &Environment, users: &UserSignIn) -> Expr {
    match &users.domain_prefix {
        Some(prefix) => Expr::str(prefix),
        None => Expr::sub(format!(
            "{}-${{AWS::AccountId}}",
            default_domain_prefix(&env.stack_name)
        )),
    }
}

/// `https://<prefix>.auth.<region>.amazoncognito.com`, managed login's origin, as a
/// `Fn::Sub` template.
pub fn login_origin(env: &Environment, users: &UserSignIn) -> String {
    let prefix = match &users.domain_prefix {
        Some(prefix) => prefix.clone(),
        None => format!(
            "{}-${{AWS::AccountId}}",
            default_domain_prefix(&env.stack_name)
        ),
    };
    format!("https://{prefix}.auth.${{AWS::Region}}.amazoncognito.com")
}

/// Where managed login sends people back after signing in or out: the page on the CloudFront
/// address and, when the env file has one, on the custom domain (the page's `redirect_uri` is
/// its origin and `/`).
fn site_urls(env: &Environment) -> Vec<Expr> {
    let mut urls = vec![Expr::sub(format!(
        "https://${{{}.DomainName}}/",
        ids::DISTRIBUTION
    ))];
    if let Some(domain) = &env.domain {
        urls.push(Expr::Str(format!("https://{}/", domain.name)));
    }
    urls
}

/// The function's sign-in variables ([`env_vars::AUTH`]): the mode always, the rest in `users`
/// mode, read from the pool, its client and its domain.
pub(super) fn function_variables(env: &Environment) -> BTreeMap<String, Expr> {
    let mut variables =
        BTreeMap::from([(env_vars::AUTH_MODE.to_owned(), Expr::str(env.auth.mode()))]);
    let Some(users) = env.auth.users() else {
        return variables;
    };
    let issuer = format!(
        "https://cognito-idp.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{}}}",
        ids::USER_POOL
    );
    let origin = login_origin(env, users);
    variables.extend([
        (env_vars::AUTH_ISSUER.to_owned(), Expr::sub(issuer.clone())),
        (
            env_vars::AUTH_JWKS_URL.to_owned(),
            Expr::sub(format!("{issuer}/.well-known/jwks.json")),
        ),
        (
            env_vars::AUTH_CLIENT_ID.to_owned(),
            reference(ids::USER_POOL_CLIENT),
        ),
        (
            env_vars::AUTH_AUTHORIZE_URL.to_owned(),
            Expr::sub(format!("{origin}/oauth2/authorize")),
        ),
        (
            env_vars::AUTH_TOKEN_URL.to_owned(),
            Expr::sub(format!("{origin}/oauth2/token")),
        ),
        (
            env_vars::AUTH_LOGOUT_URL.to_owned(),
            Expr::sub(format!("{origin}/logout")),
        ),
        (
            env_vars::USER_RATE_LIMIT.to_owned(),
            Expr::Str(users.rate_limit.to_string()),
        ),
        (
            env_vars::USER_RATE_WINDOW_SECONDS.to_owned(),
            Expr::Str(users.rate_window_seconds.to_string()),
        ),
        (
            env_vars::USER_DAILY_TOKEN_QUOTA.to_owned(),
            Expr::Str(users.daily_tokens_per_user.to_string()),
        ),
    ]);
    variables
}

/// The outputs of `users` mode: the pool, the client and managed login's sign-in page.
pub(super) fn outputs(env: &Environment) -> Vec<(String, Output)> {
    let Some(users) = env.auth.users() else {
        return Vec::new();
    };
    let origin = login_origin(env, users);
    let site = match &env.domain {
        Some(domain) => domain.name.clone(),
        None => format!("${{{}.DomainName}}", ids::DISTRIBUTION),
    };
    let output = |description: &str, value: Expr| Output {
        description: description.into(),
        value,
    };
    vec![
        (
            OUTPUT_USER_POOL_ID.into(),
            output(
                "The Cognito user pool people sign in to (add people here when self sign-up is off)",
                reference(ids::USER_POOL),
            ),
        ),
        (
            OUTPUT_USER_POOL_CLIENT_ID.into(),
            output(
                "The page's app client (public: authorization code with PKCE, no secret)",
                reference(ids::USER_POOL_CLIENT),
            ),
        ),
        (
            OUTPUT_LOGIN_URL.into(),
            output(
                "Managed login's sign-in page for the site",
                Expr::sub(format!(
                    "{origin}/login?client_id=${{{client}}}&response_type=code&scope={scopes}&redirect_uri=https%3A%2F%2F{site}%2F",
                    client = ids::USER_POOL_CLIENT,
                    scopes = SCOPES.join("+"),
                )),
            ),
        ),
    ]
}

/// What the OpenAPI document says about sign-in.
pub mod openapi {
    use super::*;

    /// The security scheme's name in the OpenAPI document.
    pub const SCHEME: &str = "signed_in";

    /// The requirement a signed-in route adds beside CloudFront's key: an access token of the
    /// pool carrying [`REQUIRED_SCOPE`].
    pub fn requirement() -> (String, Expr) {
        (
            SCHEME.to_owned(),
            Expr::List(vec![Expr::str(REQUIRED_SCOPE)]),
        )
    }

    /// The Cognito authorizer, in `components.securitySchemes`.
    pub fn scheme() -> (String, Expr) {
        (
            SCHEME.to_owned(),
            Expr::Map(BTreeMap::from([
                ("type".to_owned(), Expr::str("apiKey")),
                ("name".to_owned(), Expr::str("Authorization")),
                ("in".to_owned(), Expr::str("header")),
                (
                    "x-amazon-apigateway-authtype".to_owned(),
                    Expr::str("cognito_user_pools"),
                ),
                (
                    "x-amazon-apigateway-authorizer".to_owned(),
                    Expr::Map(BTreeMap::from([
                        ("type".to_owned(), Expr::str("cognito_user_pools")),
                        (
                            "providerARNs".to_owned(),
                            Expr::List(vec![get_att(ids::USER_POOL, "Arn")]),
                        ),
                    ])),
                ),
            ])),
        )
    }
}
