//! The table: one on-demand DynamoDB table for history, rate windows and the daily budget,
//! with one index listing each signed-in person's chats.

use chatbot_contract::table as keys;

use super::{add, ids};
use crate::cfn::resources::*;
use crate::cfn::{Policy, Resource, Template};
use crate::env::Environment;

/// One on-demand table for history, rate windows and the daily budget.
pub(super) fn add_to(env: &Environment, t: &mut Template) {
    let string_attribute = |name: &str| AttributeDefinition {
        attribute_name: name.into(),
        attribute_type: "S".into(),
    };
    let key = |name: &str, key_type: &str| KeySchemaElement {
        attribute_name: name.into(),
        key_type: key_type.into(),
    };
    let mut table = Resource::new(Properties::Table(Table {
        billing_mode: "PAY_PER_REQUEST".into(),
        attribute_definitions: vec![
            string_attribute(keys::PARTITION_KEY),
            string_attribute(keys::SORT_KEY),
            string_attribute(keys::OWNER_ATTRIBUTE),
            AttributeDefinition {
                attribute_name: keys::ACTIVITY_ATTRIBUTE.into(),
                attribute_type: "N".into(),
            },
        ],
        key_schema: vec![
            key(keys::PARTITION_KEY, "HASH"),
            key(keys::SORT_KEY, "RANGE"),
        ],
        // A person's chats, newest activity first (users mode; empty in a public
        // environment, as only chats with an owner are in it).
        global_secondary_indexes: vec![GlobalSecondaryIndex {
            index_name: keys::OWNER_INDEX.into(),
            key_schema: vec![
                key(keys::OWNER_ATTRIBUTE, "HASH"),
                key(keys::ACTIVITY_ATTRIBUTE, "RANGE"),
            ],
            projection: Projection {
                projection_type: "ALL".into(),
            },
        }],
        time_to_live_specification: TimeToLiveSpecification {
            attribute_name: keys::TTL_ATTRIBUTE.into(),
            enabled: true,
        },
        sse_specification: SseSpecification { sse_enabled: true },
        point_in_time_recovery_specification: PointInTimeRecoverySpecification {
            point_in_time_recovery_enabled: env.table.point_in_time_recovery,
        },
        deletion_protection_enabled: env.table.deletion_protection,
    }))
    .keep(if env.table.deletion_protection {
        Policy::Retain
    } else {
        Policy::Delete
    })
    .skip_check(
        "CKV_AWS_119",
        "Encrypted at rest with the AWS managed key (SSESpecification); a customer managed key adds cost and no protection this chatbot needs",
    );
    if !env.table.point_in_time_recovery {
        table = table.skip_check(
            "CKV_AWS_28",
            format!(
                "Conversations expire within days and are not worth restoring here; envs/{}.toml sets point_in_time_recovery = false",
                env.name
            ),
        );
    }
    add(t, ids::TABLE, table);
}
