//! DynamoDB's per-partition throughput, metered: how many reads and writes each partition key
//! received in the last second, and whether one more fits.
//!
//! DynamoDB serves at most 1,000 write units and 3,000 read units per second to one partition,
//! however much on-demand capacity the table has; past that it answers
//! `ProvisionedThroughputExceededException`. [`FaultyDynamo`](crate::faulty_dynamo) applies a
//! [`PartitionMeter`] to every request when a test sets limits, scaled down so a bounded test
//! can reach them. Simplifications, each stricter than or equal to DynamoDB: every item read or
//! written counts one unit (the service's items are under 1 KB; a Query counts one read), the
//! limit is enforced over a sliding second with no burst credit, and a batch with one item over
//! its partition's limit is refused whole (DynamoDB would return that item as unprocessed).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Units one partition key may receive per window (a second for DynamoDB; tests that cannot
/// promise their requests fit in a second on a loaded machine stretch it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionLimits {
    pub writes: u32,
    pub reads: u32,
    pub per: Duration,
    /// The table's partition key attribute (`pk` for the chatbot's table).
    pub key_attribute: &'static str,
}

impl PartitionLimits {
    /// DynamoDB's own: 1,000 writes and 3,000 strongly consistent reads per second.
    pub const DYNAMODB: PartitionLimits = PartitionLimits {
        writes: 1_000,
        reads: 3_000,
        per: Duration::from_secs(1),
        key_attribute: "pk",
    };
}

/// Whether a unit reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

/// What the meter saw, for a test to assert on and report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionReport {
    /// Requests refused for a partition over its limit.
    pub throttled: u64,
    /// The most writes one partition key was asked for within one window (refused ones
    /// included: the demand), and which key.
    pub max_writes: Option<(String, u32)>,
    /// The same for reads.
    pub max_reads: Option<(String, u32)>,
    /// The most writes one partition key was served within one window.
    pub max_served_writes: u32,
    pub max_served_reads: u32,
}

/// Sliding-window counts per partition key.
#[derive(Debug)]
pub struct PartitionMeter {
    limits: PartitionLimits,
    served: HashMap<(Access, String), VecDeque<Instant>>,
    asked: HashMap<(Access, String), VecDeque<Instant>>,
    report: PartitionReport,
}

impl PartitionMeter {
    pub fn new(limits: PartitionLimits) -> Self {
        Self {
            limits,
            served: HashMap::new(),
            asked: HashMap::new(),
            report: PartitionReport::default(),
        }
    }

    pub fn limits(&self) -> PartitionLimits {
        self.limits
    }

    /// Counts a request touching `units` at `now`: `true` when each partition has room for all
    /// of its units, and then they are served; `false` (nothing served) otherwise.
    pub fn admit(&mut self, units: &[(Access, String)], now: Instant) -> bool {
        let mut wanted: HashMap<(Access, &str), u32> = HashMap::new();
        for (access, key) in units {
            *wanted.entry((*access, key.as_str())).or_default() += 1;
        }
        for (&(access, key), &n) in &wanted {
            let asked = record(&mut self.asked, access, key, n, now, self.limits.per);
            let max = match access {
                Access::Read => &mut self.report.max_reads,
                Access::Write => &mut self.report.max_writes,
            };
            if max.as_ref().is_none_or(|(_, most)| asked > *most) {
                *max = Some((key.to_owned(), asked));
            }
        }
        let fits = wanted.iter().all(|(&(access, key), &n)| {
            let served = self
                .served
                .get_mut(&(access, key.to_owned()))
                .map_or(0, |times| in_window(times, now, self.limits.per));
            served + n <= self.limit(access)
        });
        if !fits {
            self.report.throttled += 1;
            return false;
        }
        for (&(access, key), &n) in &wanted {
            let served = record(&mut self.served, access, key, n, now, self.limits.per);
            let max = match access {
                Access::Read => &mut self.report.max_served_reads,
                Access::Write => &mut self.report.max_served_writes,
            };
            *max = (*max).max(served);
        }
        true
    }

    pub fn report(&self) -> PartitionReport {
        self.report.clone()
    }

    fn limit(&self, access: Access) -> u32 {
        match access {
            Access::Read => self.limits.reads,
            Access::Write => self.limits.writes,
        }
    }
}

/// Adds `n` units at `now` and returns the units of the window ending now, these included.
fn record(
    counts: &mut HashMap<(Access, String), VecDeque<Instant>>,
    access: Access,
    key: &str,
    n: u32,
    now: Instant,
    window: Duration,
) -> u32 {
    let times = counts.entry((access, key.to_owned())).or_default();
    times.extend(std::iter::repeat_n(now, n as usize));
    in_window(times, now, window)
}

fn in_window(times: &mut VecDeque<Instant>, now: Instant, window: Duration) -> u32 {
    while times
        .front()
        .is_some_and(|&t| now.saturating_duration_since(t) >= window)
    {
        times.pop_front();
    }
    u32::try_from(times.len()).unwrap_or(u32::MAX)
}

/// The partition keys a DynamoDB JSON request reads or writes, one entry per item, named by
/// the value of `key_attribute` (`S`, `N` or `B`). Operations on no item (Scan,
/// DescribeTable, ...) touch none.
pub fn touched_partitions(
    operation: &str,
    body: &Value,
    key_attribute: &str,
) -> Vec<(Access, String)> {
    let key_of = |item: &Value| -> Option<String> {
        let value = item.get(key_attribute)?.as_object()?;
        value.values().next().map(|v| match v {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    };
    let one = |access: Access, field: &str| -> Vec<(Access, String)> {
        body.get(field)
            .and_then(key_of)
            .map(|key| (access, key))
            .into_iter()
            .collect()
    };
    let each_table = || {
        body.get("RequestItems")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|tables| tables.values())
    };
    match operation {
        "GetItem" => one(Access::Read, "Key"),
        "PutItem" => one(Access::Write, "Item"),
        "UpdateItem" | "DeleteItem" => one(Access::Write, "Key"),
        "Query" => query_partition(body, key_attribute)
            .map(|key| (Access::Read, key))
            .into_iter()
            .collect(),
        "BatchGetItem" => each_table()
            .filter_map(|table| table.get("Keys")?.as_array())
            .flatten()
            .filter_map(key_of)
            .map(|key| (Access::Read, key))
            .collect(),
        "BatchWriteItem" => each_table()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|request| {
                let put = request.get("PutRequest").and_then(|p| p.get("Item"));
                let delete = request.get("DeleteRequest").and_then(|d| d.get("Key"));
                put.or(delete).and_then(key_of)
            })
            .map(|key| (Access::Write, key))
            .collect(),
        "TransactWriteItems" | "TransactGetItems" => body
            .get("TransactItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let (kind, action) = entry.as_object()?.iter().next()?;
                let access = if kind == "Get" {
                    Access::Read
                } else {
                    Access::Write
                };
                let item = action.get("Key").or_else(|| action.get("Item"))?;
                key_of(item).map(|key| (access, key))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The partition key value a Query's `KeyConditionExpression` names (`#pk = :pk AND ...`).
fn query_partition(body: &Value, key_attribute: &str) -> Option<String> {
    let expression = body.get("KeyConditionExpression")?.as_str()?;
    let names = body.get("ExpressionAttributeNames");
    let values = body.get("ExpressionAttributeValues")?;
    expression.split(" AND ").find_map(|condition| {
        let (left, right) = condition.split_once('=')?;
        let left = left.trim().trim_start_matches('(');
        let name = match left.strip_prefix('#') {
            Some(_) => names?.get(left)?.as_str()?,
            None => left,
        };
        if name != key_attribute {
            return None;
        }
        let value = values
            .get(right.trim().trim_end_matches(')'))?
            .as_object()?;
        value.values().next().map(|v| match v {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECOND: Duration = Duration::from_secs(1);

    fn limits(writes: u32, reads: u32) -> PartitionLimits {
        PartitionLimits {
            writes,
            reads,
            per: SECOND,
            key_attribute: "pk",
        }
    }

    fn write(key: &str) -> Vec<(Access, String)> {
        vec![(Access::Write, key.to_owned())]
    }

    #[test]
    fn one_partition_gets_its_limit_per_second_and_no_more() {
        let mut meter = PartitionMeter::new(limits(3, 10));
        let start = Instant::now();
        let served: Vec<bool> = (0..5).map(|_| meter.admit(&write("A"), start)).collect();
        assert_eq!(served, [true, true, true, false, false]);
        // Another key has its own limit; reads have theirs.
        assert!(meter.admit(&write("B"), start));
        assert!(meter.admit(&[(Access::Read, "A".to_owned())], start));
        // A second later the first three have left the window.
        assert!(!meter.admit(&write("A"), start + Duration::from_millis(999)));
        assert!(meter.admit(&write("A"), start + SECOND));
        let report = meter.report();
        assert_eq!(report.throttled, 3);
        assert_eq!(report.max_writes, Some(("A".to_owned(), 6)));
        assert_eq!(report.max_served_writes, 3);
        assert_eq!(report.max_served_reads, 1);
    }

    #[test]
    fn a_request_over_the_limit_on_one_partition_is_refused_whole() {
        let mut meter = PartitionMeter::new(limits(2, 2));
        let now = Instant::now();
        let batch = [
            (Access::Read, "A".to_owned()),
            (Access::Read, "B".to_owned()),
            (Access::Read, "B".to_owned()),
            (Access::Read, "B".to_owned()),
        ];
        assert!(!meter.admit(&batch, now));
        // Nothing of the refused batch was served: A still has its two reads.
        let two_a = [
            (Access::Read, "A".to_owned()),
            (Access::Read, "A".to_owned()),
        ];
        assert!(meter.admit(&two_a, now));
        assert!(!meter.admit(&[(Access::Read, "A".to_owned())], now));
    }

    #[test]
    fn the_partitions_of_each_request_kind_are_found() {
        let check = |operation: &str, body: serde_json::Value, expect: &[(Access, &str)]| {
            let found = touched_partitions(operation, &body, "pk");
            let expect: Vec<(Access, String)> =
                expect.iter().map(|(a, k)| (*a, (*k).to_owned())).collect();
            assert_eq!(found, expect, "{operation} {body}");
        };
        let key = |pk: &str| json!({"pk": {"S": pk}, "sk": {"S": "x"}});
        check("GetItem", json!({"Key": key("A")}), &[(Access::Read, "A")]);
        check(
            "PutItem",
            json!({"Item": key("A")}),
            &[(Access::Write, "A")],
        );
        check(
            "UpdateItem",
            json!({"Key": key("B")}),
            &[(Access::Write, "B")],
        );
        check(
            "DeleteItem",
            json!({"Key": key("C")}),
            &[(Access::Write, "C")],
        );
        check(
            "Query",
            json!({
                "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
                "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
                "ExpressionAttributeValues": {":pk": {"S": "S#1"}, ":prefix": {"S": "M#"}},
            }),
            &[(Access::Read, "S#1")],
        );
        check(
            "Query",
            json!({
                "KeyConditionExpression": "pk = :v",
                "ExpressionAttributeValues": {":v": {"N": "7"}},
            }),
            &[(Access::Read, "7")],
        );
        check(
            "BatchGetItem",
            json!({"RequestItems": {"t": {"Keys": [key("A"), key("B")], "ConsistentRead": true}}}),
            &[(Access::Read, "A"), (Access::Read, "B")],
        );
        check(
            "BatchWriteItem",
            json!({"RequestItems": {"t": [
                {"PutRequest": {"Item": key("A")}},
                {"DeleteRequest": {"Key": key("B")}},
            ]}}),
            &[(Access::Write, "A"), (Access::Write, "B")],
        );
        check(
            "TransactWriteItems",
            json!({"TransactItems": [{"Update": {"Key": key("A")}}, {"Put": {"Item": key("B")}}]}),
            &[(Access::Write, "A"), (Access::Write, "B")],
        );
        check("Scan", json!({"TableName": "t"}), &[]);
        check("GetItem", json!({"Key": {"other": {"S": "A"}}}), &[]);
    }
}
