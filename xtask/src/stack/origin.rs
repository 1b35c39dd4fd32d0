//! Only CloudFront may call the API: the origin secret, checked by API Gateway and the function.
//!
//! CloudFront sends one secret to the API origin in two headers. API Gateway checks
//! [`API_KEY_HEADER`]: every method requires an API key, and the only keys of the API's usage
//! plan hold this secret, so a call to the `execute-api` address without it is answered 403 by
//! API Gateway itself and never invokes the function. The function checks
//! [`ORIGIN_VERIFY_HEADER`] as a second line. CloudFormation puts the value into the keys, the
//! distribution and the function through `{{resolve:secretsmanager:…}}` dynamic references, so
//! the template never holds it.
//!
//! Rotation. API key values are create-only and unique in a region, and CloudFront takes
//! minutes to reach every edge, so a new value needs a second key beside the first while edges
//! switch. Each value therefore lives in a secret of its own, in one of two slots (A, B), each
//! slot a secret, an API key and the key's place in the usage plan. A secret gets one value
//! when CloudFormation creates it and keeps it until the slot is removed, so its reference
//! resolves to the same value whenever a resource using it is updated; rotating creates the
//! other slot afresh. The template parameter [`PARAM_ORIGIN_SECRETS`] says which slots exist
//! and which one CloudFront sends ([`OriginSecrets`]); `cargo xtask rotate-secret` walks it
//! through [`OriginSecrets::rotation`].

use std::collections::BTreeMap;
use std::fmt;

use chatbot_contract::{API_KEY_HEADER, ORIGIN_VERIFY_HEADER};

use super::{add, ids, reference};
use crate::cfn::resources::*;
use crate::cfn::{Expr, Parameter, Policy, Resource, Template};

/// Template parameter: the origin secrets' state, as [`OriginSecrets::parameter_value`] writes it.
pub const PARAM_ORIGIN_SECRETS: &str = "OriginSecrets";

/// Characters of each generated secret (letters and digits only, so it can be a header value
/// and an API key).
pub const SECRET_LENGTH: u32 = 48;

/// One of the two places an origin secret can live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    A,
    B,
}

impl Slot {
    pub const BOTH: [Slot; 2] = [Slot::A, Slot::B];

    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// The logical ID of the slot's secret. Slot A's is the one the stack always had, so
    /// stacks deployed before there were slots keep their secret.
    pub fn secret_id(self) -> &'static str {
        match self {
            Slot::A => ids::ORIGIN_SECRET,
            Slot::B => ids::ORIGIN_SECRET_B,
        }
    }

    pub fn api_key_id(self) -> &'static str {
        match self {
            Slot::A => ids::API_KEY_A,
            Slot::B => ids::API_KEY_B,
        }
    }

    pub fn usage_plan_key_id(self) -> &'static str {
        match self {
            Slot::A => ids::USAGE_PLAN_KEY_A,
            Slot::B => ids::USAGE_PLAN_KEY_B,
        }
    }

    /// The template condition under which the slot's resources exist.
    pub fn condition(self) -> &'static str {
        match self {
            Slot::A => conditions::SLOT_A,
            Slot::B => conditions::SLOT_B,
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Slot::A => "A",
            Slot::B => "B",
        })
    }
}

/// Which origin secrets exist: the one CloudFront sends, and while a rotation is under way the
/// other one, still accepted by API Gateway and the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginSecrets {
    pub sent: Slot,
    pub also_accepted: Option<Slot>,
}

impl OriginSecrets {
    /// A new stack's: slot A alone (and a stack deployed before there were slots).
    pub const FIRST: OriginSecrets = OriginSecrets {
        sent: Slot::A,
        also_accepted: None,
    };

    /// Every state the parameter allows.
    pub const ALL: [OriginSecrets; 4] = [
        OriginSecrets::FIRST,
        OriginSecrets {
            sent: Slot::B,
            also_accepted: None,
        },
        OriginSecrets {
            sent: Slot::A,
            also_accepted: Some(Slot::B),
        },
        OriginSecrets {
            sent: Slot::B,
            also_accepted: Some(Slot::A),
        },
    ];

    /// `A`, `B`, or the sent slot then the other: `A+B`, `B+A`.
    pub fn parameter_value(self) -> &'static str {
        match (self.sent, self.also_accepted) {
            (Slot::A, None) => "A",
            (Slot::B, None) => "B",
            (Slot::A, Some(_)) => "A+B",
            (Slot::B, Some(_)) => "B+A",
        }
    }

    pub fn parse(value: &str) -> Option<OriginSecrets> {
        OriginSecrets::ALL
            .into_iter()
            .find(|state| state.parameter_value() == value)
    }

    /// The slots whose values API Gateway and the function accept, the sent one first.
    pub fn accepted(self) -> Vec<Slot> {
        std::iter::once(self.sent)
            .chain(self.also_accepted)
            .collect()
    }

    /// The states to deploy one after the other so that CloudFront ends up sending a value
    /// created during the rotation, and no request is refused on the way.
    ///
    /// Within one deploy, API Gateway, the function and every CloudFront edge switch from the
    /// old state to the new one each at its own moment, so a step is safe only when the values
    /// sent before and after it are accepted both before and after it. A new value is therefore
    /// first accepted (`A` → `A+B`), then sent (`B+A`), and the old one dropped only after that
    /// deploy, which waits until every edge sends the new value (`B`). A rotation found half
    /// done (`A+B`) is first brought back to the value being sent, since it cannot tell whether
    /// the other one is the newer.
    pub fn rotation(self) -> Vec<OriginSecrets> {
        let single = |sent| OriginSecrets {
            sent,
            also_accepted: None,
        };
        let mut steps = Vec::new();
        if self.also_accepted.is_some() {
            steps.push(single(self.sent));
        }
        let (old, new) = (self.sent, self.sent.other());
        steps.push(OriginSecrets {
            sent: old,
            also_accepted: Some(new),
        });
        steps.push(OriginSecrets {
            sent: new,
            also_accepted: Some(old),
        });
        steps.push(single(new));
        steps
    }
}

impl fmt::Display for OriginSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.also_accepted {
            None => write!(f, "slot {} sent and accepted", self.sent),
            Some(other) => write!(
                f,
                "slot {} sent, slots {} and {other} accepted",
                self.sent, self.sent
            ),
        }
    }
}

/// The template's conditions on [`PARAM_ORIGIN_SECRETS`].
pub mod conditions {
    /// Slot A's secret, key and usage plan key exist.
    pub const SLOT_A: &str = "OriginSecretSlotA";
    /// Slot B's exist.
    pub const SLOT_B: &str = "OriginSecretSlotB";
    /// CloudFront sends slot A's value (slot B's otherwise).
    pub const SENDS_A: &str = "OriginSecretSendsA";
    /// Two values are accepted: a rotation is under way.
    pub const ROTATING: &str = "OriginSecretRotating";
}

/// The parameter, its conditions and the slots' secrets.
pub(super) fn add_secrets(t: &mut Template) {
    t.parameters.push((
        PARAM_ORIGIN_SECRETS.into(),
        Parameter {
            default: Some(OriginSecrets::FIRST.parameter_value().into()),
            allowed_values: OriginSecrets::ALL
                .iter()
                .map(|state| state.parameter_value().to_owned())
                .collect(),
            ..Parameter::string(
                "Origin secret slots: the one CloudFront sends, then the one still accepted during a rotation (cargo xtask rotate-secret changes it)",
            )
        },
    ));
    let is = |value: &str| {
        Expr::Map(BTreeMap::from([(
            "Fn::Equals".to_owned(),
            Expr::List(vec![reference(PARAM_ORIGIN_SECRETS), Expr::str(value)]),
        )]))
    };
    let any = |values: [&str; 2]| {
        Expr::Map(BTreeMap::from([(
            "Fn::Or".to_owned(),
            Expr::List(values.into_iter().map(is).collect()),
        )]))
    };
    let not = |condition: Expr| {
        Expr::Map(BTreeMap::from([(
            "Fn::Not".to_owned(),
            Expr::List(vec![condition]),
        )]))
    };
    t.conditions.extend([
        (conditions::SLOT_A.to_owned(), not(is("B"))),
        (conditions::SLOT_B.to_owned(), not(is("A"))),
        (conditions::SENDS_A.to_owned(), any(["A", "A+B"])),
        (conditions::ROTATING.to_owned(), any(["A+B", "B+A"])),
    ]);

    for slot in Slot::BOTH {
        add(
            t,
            slot.secret_id(),
            Resource::new(Properties::Secret(Secret {
                description: format!(
                    "Origin secret, slot {slot}: sent by CloudFront to the API in {API_KEY_HEADER} and {ORIGIN_VERIFY_HEADER}; requests without it are refused"
                ),
                generate_secret_string: GenerateSecretString {
                    password_length: SECRET_LENGTH,
                    exclude_punctuation: true,
                },
            }))
            .when(slot.condition())
            .keep(Policy::Delete)
            .skip_check(
                "CKV_AWS_149",
                "The value only proves a request came through CloudFront and is also in the distribution's and the function's configuration; a customer managed key would hide it from no one who can read those, and Secrets Manager encrypts it at rest with its own key",
            ),
        );
    }
}

/// The API keys of the slots and the usage plan that opens the stage to them.
pub(super) fn add_api_keys(t: &mut Template) {
    add(
        t,
        ids::USAGE_PLAN,
        Resource::new(Properties::UsagePlan(UsagePlan {
            usage_plan_name: Expr::sub("${AWS::StackName}-cloudfront"),
            description: "CloudFront's keys to the API; no other key opens it".into(),
            api_stages: vec![ApiStage {
                api_id: reference(ids::REST_API),
                stage: reference(ids::API_STAGE),
            }],
        })),
    );
    for slot in Slot::BOTH {
        add(
            t,
            slot.api_key_id(),
            Resource::new(Properties::ApiKey(ApiKey {
                description: format!("CloudFront's key to the API: origin secret slot {slot}"),
                enabled: true,
                value: secret_value(slot),
            }))
            .when(slot.condition()),
        );
        add(
            t,
            slot.usage_plan_key_id(),
            Resource::new(Properties::UsagePlanKey(UsagePlanKey {
                key_id: reference(slot.api_key_id()),
                key_type: "API_KEY".into(),
                usage_plan_id: reference(ids::USAGE_PLAN),
            }))
            .when(slot.condition()),
        );
    }
}

/// A slot's value, as a dynamic reference CloudFormation resolves when it creates or updates
/// the resource using it: `{{resolve:secretsmanager:<secret ARN>:SecretString}}`.
pub fn secret_value(slot: Slot) -> Expr {
    Expr::join(
        "",
        [
            Expr::str("{{resolve:secretsmanager:"),
            reference(slot.secret_id()),
            Expr::str(":SecretString}}"),
        ],
    )
}

/// The value CloudFront sends: the API key and the function's [`ORIGIN_VERIFY_HEADER`].
pub fn sent_value() -> Expr {
    Expr::If(
        conditions::SENDS_A.into(),
        Box::new(secret_value(Slot::A)),
        Box::new(secret_value(Slot::B)),
    )
}

/// The value the function still accepts during a rotation; empty otherwise.
pub fn previous_value() -> Expr {
    Expr::If(
        conditions::ROTATING.into(),
        Box::new(Expr::If(
            conditions::SENDS_A.into(),
            Box::new(secret_value(Slot::B)),
            Box::new(secret_value(Slot::A)),
        )),
        Box::new(Expr::str("")),
    )
}

/// The headers CloudFront adds to every request to the API origin: the secret, twice.
pub fn origin_headers() -> Vec<OriginCustomHeader> {
    [API_KEY_HEADER, ORIGIN_VERIFY_HEADER]
        .into_iter()
        .map(|header| OriginCustomHeader {
            header_name: header.into(),
            header_value: sent_value(),
        })
        .collect()
}

/// The OpenAPI document's part of the check: an API key in [`API_KEY_HEADER`] on every
/// operation, read from the header.
pub mod openapi {
    use super::*;

    /// The security scheme's name in the OpenAPI document.
    pub const SCHEME: &str = "cloudfront_key";

    /// What each operation lists under `security`.
    pub fn requirement() -> Expr {
        Expr::List(vec![Expr::Map(BTreeMap::from([(
            SCHEME.to_owned(),
            Expr::List(Vec::new()),
        )]))])
    }

    /// `components.securitySchemes`.
    pub fn schemes() -> Expr {
        Expr::Map(BTreeMap::from([(
            SCHEME.to_owned(),
            Expr::Map(BTreeMap::from([
                ("type".to_owned(), Expr::str("apiKey")),
                ("name".to_owned(), Expr::str(API_KEY_HEADER)),
                ("in".to_owned(), Expr::str("header")),
            ])),
        )]))
    }
}
