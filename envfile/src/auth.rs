//! `[auth]`: who may use the chatbot. `mode = "public"` (the default) is an anonymous chatbot;
//! `mode = "users"` puts an Amazon Cognito user pool with managed login in front of it, with
//! limits per person and, optionally, one federated identity provider (OIDC or SAML).

use crate::check::{Checker, is_domain};
use crate::{EnvError, file};

/// Who may use the chatbot, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// Anyone; a chat's id is its only key and limits count per client address.
    #[default]
    Public,
    /// People signed in through the environment's user pool.
    Users(UserSignIn),
}

impl Auth {
    /// The signed-in settings, in `users` mode.
    pub fn users(&self) -> Option<&UserSignIn> {
        match self {
            Auth::Public => None,
            Auth::Users(users) => Some(users),
        }
    }

    /// `public` or `users`, as the env file and the function's `CHATBOT_AUTH_MODE` say it.
    pub fn mode(&self) -> &'static str {
        match self {
            Auth::Public => "public",
            Auth::Users(_) => "users",
        }
    }
}

/// `[auth]` in `users` mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSignIn {
    /// People may create their own account in managed login; otherwise only an administrator
    /// (or the federated provider) creates accounts.
    pub self_sign_up: bool,
    /// Lowercase DNS names; an account's e-mail must be at one of them. Empty: any.
    pub allowed_email_domains: Vec<String>,
    /// The managed login domain's prefix (`<prefix>.auth.<region>.amazoncognito.com`); `None`:
    /// [`default_domain_prefix`] of the stack name and the account id.
    pub domain_prefix: Option<String>,
    /// Chat turns one person may take per window.
    pub rate_limit: u32,
    pub rate_window_seconds: u32,
    /// Input + output tokens one person may spend per UTC day.
    pub daily_tokens_per_user: u64,
    pub federation: Option<Federation>,
}

/// One federated identity provider people may sign in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Federation {
    /// The provider's name in the user pool and on the managed login button.
    pub name: String,
    /// The provider's attribute that holds the person's e-mail address.
    pub email_attribute: String,
    pub protocol: FederationProtocol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederationProtocol {
    Oidc {
        /// `https://...`: where the provider's discovery document is.
        issuer: String,
        client_id: String,
        /// The Secrets Manager secret holding the client secret (as its whole `SecretString`),
        /// resolved by CloudFormation at deploy time, never written into the template.
        client_secret_arn: String,
        /// Always includes `openid`.
        scopes: Vec<String>,
    },
    Saml {
        /// `https://...`: the provider's SAML metadata document.
        metadata_url: String,
    },
}

/// Words Cognito refuses in a domain prefix.
const RESERVED_PREFIX_WORDS: [&str; 3] = ["aws", "amazon", "cognito"];
/// Characters of a domain prefix; the default adds `-` and a 12-digit account id.
const MAX_PREFIX_CHARS: usize = 63;
const ACCOUNT_SUFFIX_CHARS: usize = 13;
/// The scopes asked of an OIDC provider when `scopes` is not set.
const DEFAULT_OIDC_SCOPES: [&str; 3] = ["openid", "email", "profile"];
const SAML_EMAIL_ATTRIBUTE: &str =
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

/// The part of the default domain prefix known before deploy: the stack name, lowercase. The
/// stack appends `-<account id>`, since a prefix is unique across all accounts of a region.
pub fn default_domain_prefix(stack_name: &str) -> String {
    stack_name.to_ascii_lowercase()
}

/// Checks `[auth]`. `stack_name` gives the default domain prefix; `region` is where the
/// federated provider's secret must be; `daily_token_budget` bounds one person's quota.
pub(crate) fn check(
    c: &Checker,
    auth: file::Auth,
    stack_name: &str,
    region: &str,
    daily_token_budget: u64,
) -> Result<Auth, EnvError> {
    if auth.mode == file::AuthMode::Public {
        let users_only = [
            ("auth.self_sign_up", auth.self_sign_up.is_some()),
            (
                "auth.allowed_email_domains",
                auth.allowed_email_domains.is_some(),
            ),
            ("auth.domain_prefix", auth.domain_prefix.is_some()),
            ("auth.rate_limit", auth.rate_limit.is_some()),
            (
                "auth.rate_window_seconds",
                auth.rate_window_seconds.is_some(),
            ),
            (
                "auth.daily_tokens_per_user",
                auth.daily_tokens_per_user.is_some(),
            ),
            ("auth.federation", auth.federation.is_some()),
        ];
        if let Some((key, _)) = users_only.iter().find(|(_, set)| *set) {
            return Err(c.fail(
                key,
                "is read only with auth.mode = \"users\": set the mode or remove the key"
                    .to_owned(),
            ));
        }
        return Ok(Auth::Public);
    }

    let required = |key: &str, value: Option<u64>| {
        value.ok_or_else(|| {
            c.fail(
                key,
                "missing key (required with auth.mode = \"users\")".to_owned(),
            )
        })
    };
    let rate_limit = required("auth.rate_limit", auth.rate_limit.map(u64::from))?;
    c.range("auth.rate_limit", rate_limit, 1, 100_000, " turns")?;
    let rate_window_seconds = required(
        "auth.rate_window_seconds",
        auth.rate_window_seconds.map(u64::from),
    )?;
    c.range(
        "auth.rate_window_seconds",
        rate_window_seconds,
        1,
        86_400,
        " seconds",
    )?;
    let daily_tokens_per_user = required("auth.daily_tokens_per_user", auth.daily_tokens_per_user)?;
    c.range(
        "auth.daily_tokens_per_user",
        daily_tokens_per_user,
        1,
        daily_token_budget,
        " tokens (chat.daily_token_budget: one person cannot spend more than everyone)",
    )?;

    let allowed_email_domains = auth.allowed_email_domains.unwrap_or_default();
    for (i, domain) in allowed_email_domains.iter().enumerate() {
        let key = format!("auth.allowed_email_domains[{i}]");
        let expected = if domain.starts_with('@') {
            "a domain without the @, such as example.com"
        } else {
            "a lowercase DNS name such as example.com"
        };
        c.check(&key, is_domain(domain), domain, expected)?;
        if allowed_email_domains[..i].contains(domain) {
            return Err(c.fail(&key, format!("{domain:?} is listed twice")));
        }
    }

    match &auth.domain_prefix {
        Some(prefix) => c.check(
            "auth.domain_prefix",
            is_domain_prefix(prefix, MAX_PREFIX_CHARS),
            prefix,
            "1 to 63 lowercase letters, digits and hyphens, not starting or ending with a \
             hyphen, without the words aws, amazon or cognito",
        )?,
        None => {
            let base = default_domain_prefix(stack_name);
            if !is_domain_prefix(&base, MAX_PREFIX_CHARS - ACCOUNT_SUFFIX_CHARS) {
                return Err(c.fail(
                    "auth.domain_prefix",
                    format!(
                        "missing key: the default, the stack name {base:?} and the account id, \
                         is no managed login prefix (at most 50 characters before the account \
                         id, without the words aws, amazon or cognito); set one"
                    ),
                ));
            }
        }
    }

    let federation = auth
        .federation
        .map(|f| federation(c, f, region))
        .transpose()?;

    Ok(Auth::Users(UserSignIn {
        self_sign_up: auth.self_sign_up.unwrap_or(false),
        allowed_email_domains,
        domain_prefix: auth.domain_prefix,
        rate_limit: u32::try_from(rate_limit).unwrap_or(u32::MAX),
        rate_window_seconds: u32::try_from(rate_window_seconds).unwrap_or(u32::MAX),
        daily_tokens_per_user,
        federation,
    }))
}

fn federation(c: &Checker, f: file::Federation, region: &str) -> Result<Federation, EnvError> {
    c.check(
        "auth.federation.name",
        is_provider_name(&f.name),
        &f.name,
        "3 to 32 letters, digits, hyphens, underscores and periods, not starting with an \
         underscore, and not Cognito",
    )?;
    let (this, other) = match f.kind {
        file::FederationType::Oidc => ("oidc", "saml"),
        file::FederationType::Saml => ("saml", "oidc"),
    };
    let foreign = match f.kind {
        file::FederationType::Oidc => vec![("metadata_url", f.metadata_url.is_some())],
        file::FederationType::Saml => vec![
            ("issuer", f.issuer.is_some()),
            ("client_id", f.client_id.is_some()),
            ("client_secret_arn", f.client_secret_arn.is_some()),
            ("scopes", f.scopes.is_some()),
        ],
    };
    if let Some((key, _)) = foreign.iter().find(|(_, set)| *set) {
        return Err(c.fail(
            &format!("auth.federation.{key}"),
            format!("is read only with type = {other:?}, not {this:?}"),
        ));
    }
    let required = |key: &str, value: Option<String>| {
        value.ok_or_else(|| {
            c.fail(
                &format!("auth.federation.{key}"),
                format!("missing key (required with type = {this:?})"),
            )
        })
    };
    if let Some(attribute) = &f.email_attribute {
        c.check(
            "auth.federation.email_attribute",
            !attribute.trim().is_empty() && attribute.len() <= 2048,
            attribute,
            "the provider's attribute or claim name holding the e-mail address",
        )?;
    }

    let protocol =
        match f.kind {
            file::FederationType::Oidc => {
                let issuer = required("issuer", f.issuer)?;
                c.check(
                    "auth.federation.issuer",
                    is_https_url(&issuer),
                    &issuer,
                    "an https:// URL, the provider's issuer (its discovery document is at \
                 <issuer>/.well-known/openid-configuration)",
                )?;
                let client_id = required("client_id", f.client_id)?;
                c.check(
                "auth.federation.client_id",
                (1..=255).contains(&client_id.len())
                    && !client_id.chars().any(|ch| ch.is_whitespace() || ch.is_control()),
                &client_id,
                "the client id the provider gave this user pool: 1 to 255 characters, no spaces",
            )?;
                let client_secret_arn = required("client_secret_arn", f.client_secret_arn)?;
                c.check(
                    "auth.federation.client_secret_arn",
                    is_secret_arn_in(&client_secret_arn, region),
                    &client_secret_arn,
                    &format!(
                        "a Secrets Manager secret ARN in {region} \
                     (arn:aws:secretsmanager:{region}:<account>:secret:<name>) whose value is the \
                     client secret; the secret itself never goes in the env file"
                    ),
                )?;
                let scopes = match f.scopes {
                    Some(scopes) => scopes,
                    None => DEFAULT_OIDC_SCOPES.map(str::to_owned).to_vec(),
                };
                for (i, scope) in scopes.iter().enumerate() {
                    let key = format!("auth.federation.scopes[{i}]");
                    c.check(
                        &key,
                        !scope.is_empty()
                            && scope.len() <= 256
                            && scope
                                .chars()
                                .all(|ch| ch.is_ascii_graphic() && ch != '"' && ch != '\\'),
                        scope,
                        "a scope name without spaces",
                    )?;
                    if scopes[..i].contains(scope) {
                        return Err(c.fail(&key, format!("{scope:?} is listed twice")));
                    }
                }
                if !scopes.iter().any(|s| s == "openid") {
                    return Err(c.fail(
                    "auth.federation.scopes",
                    "must include \"openid\": the user pool signs people in with OpenID Connect"
                        .to_owned(),
                ));
                }
                FederationProtocol::Oidc {
                    issuer,
                    client_id,
                    client_secret_arn,
                    scopes,
                }
            }
            file::FederationType::Saml => {
                let metadata_url = required("metadata_url", f.metadata_url)?;
                c.check(
                    "auth.federation.metadata_url",
                    is_https_url(&metadata_url),
                    &metadata_url,
                    "an https:// URL of the provider's SAML metadata document",
                )?;
                FederationProtocol::Saml { metadata_url }
            }
        };
    let email_attribute = f.email_attribute.unwrap_or_else(|| match protocol {
        FederationProtocol::Oidc { .. } => "email".to_owned(),
        FederationProtocol::Saml { .. } => SAML_EMAIL_ATTRIBUTE.to_owned(),
    });
    Ok(Federation {
        name: f.name,
        email_attribute,
        protocol,
    })
}

/// What Cognito accepts as a prefix domain: lowercase letters, digits and hyphens, no hyphen
/// first or last, none of its reserved words.
fn is_domain_prefix(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !RESERVED_PREFIX_WORDS.iter().any(|w| s.contains(w))
}

/// A name a user pool takes for an identity provider (`COGNITO` is the pool's own).
fn is_provider_name(s: &str) -> bool {
    (3..=32).contains(&s.len())
        && !s.starts_with('_')
        && !s.eq_ignore_ascii_case("cognito")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_https_url(s: &str) -> bool {
    s.strip_prefix("https://").is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default();
        !host.is_empty()
            && host.contains('.')
            && s.len() <= 2048
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// `arn:aws:secretsmanager:<region>:<12 digits>:secret:<name>` (any AWS partition).
fn is_secret_arn_in(s: &str, region: &str) -> bool {
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "secretsmanager"
        && parts[3] == region
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5] == "secret"
        && !parts[6].is_empty()
        && parts[6].chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '=' | '.' | '@' | '-')
        })
}
