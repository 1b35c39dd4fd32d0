//! Typed properties of the resource types the stack uses, named as CloudFormation names them,
//! one file per AWS service. Only the properties we set are modelled; a field that is `None` or
//! empty is left out.
//!
//! Each resource type says its CloudFormation type and the attributes `Fn::GetAtt` may read
//! ([`ResourceType`]) next to its struct; [`Properties`], the enum of them all, is generated
//! from the one list at the end of this file. A new resource type is a struct with its
//! `ResourceType` in its service's file and a line in that list.

use serde::Serialize;

mod apigateway;
mod bedrock;
mod cloudfront;
mod cloudwatch;
mod cognito;
mod dynamodb;
mod iam;
mod lambda;
mod logs;
mod s3;
mod secretsmanager;
pub mod serverless;
mod sns;

pub use apigateway::*;
pub use bedrock::*;
pub use cloudfront::*;
pub use cloudwatch::*;
pub use cognito::*;
pub use dynamodb::*;
pub use iam::*;
pub use lambda::*;
pub use logs::*;
pub use s3::*;
pub use secretsmanager::*;
pub use sns::*;

/// A CloudFormation resource type.
pub trait ResourceType {
    /// Its name in a template's `Type`: `AWS::S3::Bucket`.
    const TYPE: &'static str;
    /// The attributes `Fn::GetAtt` may read from it (the ones the stack needs).
    const ATTRIBUTES: &'static [&'static str] = &[];
}

/// The enum of every resource type in `$variant($type)` form, with its type name, attributes
/// and serialization read from each type's [`ResourceType`].
macro_rules! properties {
    ($($variant:ident($type:ty),)*) => {
        /// A resource's type and properties.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Properties {
            $($variant($type),)*
        }

        impl Properties {
            /// The CloudFormation resource type.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Properties::$variant(_) => <$type as ResourceType>::TYPE,)*
                }
            }

            /// The attributes `Fn::GetAtt` may read from this type (the ones the stack needs).
            pub fn attributes(&self) -> &'static [&'static str] {
                match self {
                    $(Properties::$variant(_) => <$type as ResourceType>::ATTRIBUTES,)*
                }
            }
        }

        impl Serialize for Properties {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Properties::$variant(properties) => properties.serialize(serializer),)*
                }
            }
        }
    };
}

properties! {
    Bucket(Bucket),
    BucketPolicy(BucketPolicy),
    Role(Role),
    ServerlessFunction(serverless::Function),
    Permission(Permission),
    LogGroup(LogGroup),
    Table(Table),
    Topic(Topic),
    Alarm(Alarm),
    Dashboard(Dashboard),
    RestApi(RestApi),
    Deployment(Deployment),
    Stage(Stage),
    OriginAccessControl(OriginAccessControl),
    ResponseHeadersPolicy(ResponseHeadersPolicy),
    OriginRequestPolicy(OriginRequestPolicy),
    Distribution(Distribution),
    Secret(Secret),
    ApiKey(ApiKey),
    UsagePlan(UsagePlan),
    UsagePlanKey(UsagePlanKey),
    MetricFilter(MetricFilter),
    Guardrail(Guardrail),
    GuardrailVersion(GuardrailVersion),
    CachePolicy(CachePolicy),
    InlineFunction(InlineFunction),
    UserPool(UserPool),
    UserPoolDomain(UserPoolDomain),
    UserPoolClient(UserPoolClient),
    ManagedLoginBranding(ManagedLoginBranding),
    UserPoolIdentityProvider(UserPoolIdentityProvider),
}

impl Properties {
    /// What SAM lets other resources reference besides attributes (`Ref: Function.Alias`,
    /// `${Function.Alias}`), which the transform replaces with the generated resource.
    pub fn sam_references(&self) -> &'static [&'static str] {
        match self {
            Properties::ServerlessFunction(f) if f.auto_publish_alias.is_some() => {
                &serverless::FUNCTION_REFERENCES
            }
            _ => &[],
        }
    }
}
