//! The architecture diagram as data: boxes, arrows and clusters, built by walking the stack
//! model ([`crate::walk`]). Each resource becomes a box, or joins the box of the resource it
//! belongs to (a stage joins its API, a bucket policy its bucket); every alarm joins one box.
//! Arrows are the references between resources, turned to point the way requests and data go.
//! A resource type this module does not know still gets a box of its own, with its arrows.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use crate::cfn::Template;
use crate::env::Environment;
use crate::walk::Graph;

/// What a box is; decides its cluster, shape and the label it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Viewer,
    Cdn,
    Bucket,
    Api,
    Alias,
    Function,
    Table,
    Secret,
    Model,
    Guardrail,
    Logs,
    Alarms,
    Dashboard,
    Topic,
    Destination,
    Other,
}

impl Kind {
    /// The cluster the box is drawn in.
    pub fn cluster(self) -> Cluster {
        match self {
            Kind::Viewer => Cluster::Internet,
            Kind::Cdn | Kind::Bucket => Cluster::Edge,
            Kind::Api | Kind::Alias | Kind::Function => Cluster::Service,
            Kind::Table | Kind::Secret => Cluster::Stores,
            Kind::Model | Kind::Guardrail => Cluster::Bedrock,
            Kind::Logs | Kind::Alarms | Kind::Dashboard | Kind::Topic => Cluster::Observability,
            Kind::Destination => Cluster::Destinations,
            Kind::Other => Cluster::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cluster {
    Internet,
    Edge,
    Service,
    Stores,
    Bedrock,
    Observability,
    Destinations,
    Other,
}

impl Cluster {
    pub fn id(self) -> &'static str {
        match self {
            Cluster::Internet => "internet",
            Cluster::Edge => "edge",
            Cluster::Service => "service",
            Cluster::Stores => "stores",
            Cluster::Bedrock => "bedrock",
            Cluster::Observability => "observability",
            Cluster::Destinations => "destinations",
            Cluster::Other => "other",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Cluster::Internet => "Internet",
            Cluster::Edge => "Edge: CloudFront and the page",
            Cluster::Service => "API and function",
            Cluster::Stores => "Data stores",
            Cluster::Bedrock => "Amazon Bedrock",
            Cluster::Observability => "Logs, metrics, alarms",
            Cluster::Destinations => "Who hears the alarms",
            Cluster::Other => "Other resources",
        }
    }
}

/// One box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Box {
    /// Stable, diagram-safe id: the logical ID of the resource the box stands for, or a fixed
    /// name for what is not a resource (`Viewer`, `Bedrock`).
    pub id: String,
    pub kind: Kind,
    /// Lines of text; the first is the title.
    pub label: Vec<String>,
}

/// How an arrow is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Style {
    /// A request on its way (browser to model).
    Request,
    /// Data written or read.
    Data,
    /// Watching, notifying, configuration: dashed.
    Control,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arrow {
    pub from: String,
    pub to: String,
    pub label: String,
    pub style: Style,
}

/// The whole picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    pub title: String,
    /// What this environment turns on, one item each: `guardrail: on`.
    pub features: Vec<String>,
    pub boxes: Vec<Box>,
    pub arrows: Vec<Arrow>,
    /// Resources not drawn, by type: `AWS::IAM::Role (2)`.
    pub not_drawn: Vec<String>,
}

/// Types drawn inside the box of the resource they belong to, and that box's kind.
const JOINS: [(&str, Kind); 17] = [
    ("AWS::CloudFront::OriginAccessControl", Kind::Cdn),
    ("AWS::CloudFront::ResponseHeadersPolicy", Kind::Cdn),
    ("AWS::CloudFront::OriginRequestPolicy", Kind::Cdn),
    ("AWS::CloudFront::CachePolicy", Kind::Cdn),
    ("AWS::S3::BucketPolicy", Kind::Bucket),
    ("AWS::ApiGateway::Deployment", Kind::Api),
    ("AWS::ApiGateway::Stage", Kind::Api),
    ("AWS::ApiGateway::Account", Kind::Api),
    ("AWS::ApiGateway::ApiKey", Kind::Api),
    ("AWS::ApiGateway::UsagePlan", Kind::Api),
    ("AWS::ApiGateway::UsagePlanKey", Kind::Api),
    ("AWS::ApiGateway::GatewayResponse", Kind::Api),
    ("AWS::Lambda::Permission", Kind::Function),
    ("AWS::Lambda::Version", Kind::Function),
    ("AWS::Lambda::Alias", Kind::Function),
    ("AWS::Bedrock::GuardrailVersion", Kind::Guardrail),
    ("AWS::Logs::MetricFilter", Kind::Logs),
];

fn joins(type_name: &str) -> Option<Kind> {
    JOINS
        .iter()
        .find(|(t, _)| *t == type_name)
        .map(|(_, kind)| *kind)
}

/// Types not drawn: permissions, not parts of the picture.
const HIDDEN: [&str; 2] = ["AWS::IAM::Role", "AWS::IAM::Policy"];

/// The box kind of a resource type that has a box of its own.
fn kind_of(type_name: &str) -> Option<Kind> {
    Some(match type_name {
        "AWS::CloudFront::Distribution" => Kind::Cdn,
        "AWS::S3::Bucket" => Kind::Bucket,
        "AWS::ApiGateway::RestApi" | "AWS::Serverless::Api" => Kind::Api,
        "AWS::Lambda::Function" | "AWS::Serverless::Function" => Kind::Function,
        "AWS::DynamoDB::Table" => Kind::Table,
        "AWS::SecretsManager::Secret" => Kind::Secret,
        "AWS::Bedrock::Guardrail" => Kind::Guardrail,
        "AWS::Logs::LogGroup" => Kind::Logs,
        "AWS::CloudWatch::Alarm" => Kind::Alarms,
        "AWS::CloudWatch::Dashboard" => Kind::Dashboard,
        "AWS::SNS::Topic" => Kind::Topic,
        _ if joins(type_name).is_some() || HIDDEN.contains(&type_name) => return None,
        _ => Kind::Other,
    })
}

/// The id of the one box every alarm joins.
const ALARMS: &str = "Alarms";
const VIEWER: &str = "Viewer";
const BEDROCK: &str = "Bedrock";

/// Draws `template`, the stack of `env`.
pub fn diagram(env: &Environment, template: &Template) -> Diagram {
    let graph = Graph::of(template);
    let props: BTreeMap<&str, Value> = graph
        .nodes
        .iter()
        .map(|n| {
            (
                n.id,
                serde_yaml::to_value(&n.resource.properties).unwrap_or(Value::Null),
            )
        })
        .collect();
    let type_of: BTreeMap<&str, &str> = graph.nodes.iter().map(|n| (n.id, n.type_name)).collect();

    // Which box each resource is drawn in.
    let mut owner: BTreeMap<&str, String> = BTreeMap::new();
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    for node in &graph.nodes {
        match kind_of(node.type_name) {
            Some(Kind::Alarms) => {
                owner.insert(node.id, ALARMS.to_owned());
                kinds.insert(ALARMS.to_owned(), Kind::Alarms);
            }
            Some(kind) => {
                owner.insert(node.id, node.id.to_owned());
                kinds.insert(node.id.to_owned(), kind);
            }
            None => {}
        }
    }
    // A joining resource goes to the box of a neighbour of the kind it belongs to (what it
    // refers to, or what refers to it). Repeated, so an API's account reaches the API through
    // its stage.
    let joining: Vec<(&str, Kind)> = graph
        .nodes
        .iter()
        .filter_map(|n| joins(n.type_name).map(|kind| (n.id, kind)))
        .collect();
    for _ in 0..joining.len() {
        for (id, wanted) in &joining {
            if owner.contains_key(id) {
                continue;
            }
            let neighbours = graph.targets(id).chain(
                graph
                    .edges
                    .iter()
                    .filter(|(_, to)| to == id)
                    .map(|(from, _)| from.as_str()),
            );
            let found = neighbours
                .filter_map(|n| owner.get(n))
                .find(|b| kinds.get(*b) == Some(wanted))
                .cloned();
            if let Some(target) = found {
                owner.insert(id, target);
            }
        }
    }

    let mut boxes: BTreeMap<String, Box> = BTreeMap::new();
    for (box_id, kind) in &kinds {
        let members: Vec<&str> = owner
            .iter()
            .filter(|(_, b)| *b == box_id)
            .map(|(id, _)| *id)
            .collect();
        let label = label(*kind, box_id, &members, &props, &type_of, env);
        boxes.insert(
            box_id.clone(),
            Box {
                id: box_id.clone(),
                kind: *kind,
                label,
            },
        );
    }

    let mut arrows: BTreeSet<Arrow> = BTreeSet::new();
    for (from, to) in &graph.edges {
        let (Some(a), Some(b)) = (owner.get(from.as_str()), owner.get(to.as_str())) else {
            continue;
        };
        if a == b {
            continue;
        }
        if let Some(arrow) = arrow(kinds[a], a, kinds[b], b) {
            arrows.insert(arrow);
        }
    }

    for (id, kind) in &kinds {
        if *kind == Kind::Dashboard {
            let shown: BTreeSet<&str> = graph
                .targets(id)
                .filter_map(|t| owner.get(t))
                .filter(|b| *b != id)
                .map(String::as_str)
                .collect();
            if let Some(b) = boxes.get_mut(id)
                && !shown.is_empty()
            {
                b.label.push(format!(
                    "shows {}",
                    shown.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }

    // What is not a resource of the stack: the viewer and the models.
    boxes.insert(
        VIEWER.to_owned(),
        Box {
            id: VIEWER.to_owned(),
            kind: Kind::Viewer,
            label: vec!["Browser".into(), "the chat page".into()],
        },
    );
    for (id, kind) in &kinds {
        if *kind == Kind::Cdn {
            arrows.insert(Arrow {
                from: VIEWER.to_owned(),
                to: id.clone(),
                label: "HTTPS".into(),
                style: Style::Request,
            });
        }
        if *kind == Kind::Function && !models(&props[id.as_str()]).is_empty() {
            let names = models(&props[id.as_str()]);
            boxes.insert(
                BEDROCK.to_owned(),
                Box {
                    id: BEDROCK.to_owned(),
                    kind: Kind::Model,
                    label: std::iter::once("Bedrock models".to_owned())
                        .chain(names)
                        .collect(),
                },
            );
            arrows.insert(Arrow {
                from: id.clone(),
                to: BEDROCK.to_owned(),
                label: "Converse / ConverseStream".into(),
                style: Style::Request,
            });
            if let Some(guardrail) = kinds.iter().find(|(_, k)| **k == Kind::Guardrail) {
                arrows.insert(Arrow {
                    from: BEDROCK.to_owned(),
                    to: guardrail.0.clone(),
                    label: "each call assessed".into(),
                    style: Style::Control,
                });
            }
        }
    }
    for (id, kind) in &kinds {
        if *kind == Kind::Function {
            alias(id, &props[id.as_str()], &mut boxes, &mut arrows);
        }
    }
    destinations(env, &kinds, &mut boxes, &mut arrows);

    let mut not_drawn: BTreeMap<&str, u64> = BTreeMap::new();
    for node in &graph.nodes {
        if !owner.contains_key(node.id) {
            *not_drawn.entry(node.type_name).or_default() += 1;
        }
    }
    let mut not_drawn: Vec<String> = not_drawn
        .into_iter()
        .map(|(kind, n)| format!("{kind} ({n})"))
        .collect();
    not_drawn.extend(
        graph
            .absent
            .iter()
            .map(|id| format!("{id} (only during a secret rotation)")),
    );

    let mut boxes: Vec<Box> = boxes.into_values().collect();
    boxes.sort_by(|a, b| (a.kind.cluster(), &a.id).cmp(&(b.kind.cluster(), &b.id)));
    Diagram {
        title: format!("Chatbot {} ({})", env.name, env.region),
        features: features(env, &graph),
        boxes,
        arrows: arrows.into_iter().collect(),
        not_drawn,
    }
}

/// The arrow for a reference from box `a` to box `b`, pointing the way requests and data go;
/// `None` for references that only order the deployment or grant access back.
fn arrow(a_kind: Kind, a: &str, b_kind: Kind, b: &str) -> Option<Arrow> {
    let make = |from: &str, to: &str, label: &str, style| Arrow {
        from: from.to_owned(),
        to: to.to_owned(),
        label: label.to_owned(),
        style,
    };
    use Kind::*;
    Some(match (a_kind, b_kind) {
        (Cdn, Bucket) => make(a, b, "/* the page (OAC)", Style::Request),
        (Cdn, Api) => make(a, b, "/api/* with the API key", Style::Request),
        (Api, Function) => make(a, b, "proxy, streamed", Style::Request),
        (Function, Table) => make(a, b, "history, rate limits, budget", Style::Data),
        (Function, Guardrail) => make(a, b, "names it in each call", Style::Control),
        (Function | Api, Logs) => make(
            a,
            b,
            if a_kind == Function {
                "JSON logs, EMF metrics"
            } else {
                "access log"
            },
            Style::Data,
        ),
        (Cdn | Api | Function, Secret) => make(b, a, "origin secret", Style::Control),
        (Alarms, Topic) => make(a, b, "notify", Style::Control),
        // The function's rollout names its rollback alarms: drawn from the alarms to its alias.
        (Function, Alarms) => return None,
        (Alarms, Function | Table | Api) => make(a, b, "watch", Style::Control),
        // Named in the dashboard's box instead: arrows to everything it shows would hide the
        // request path.
        (Dashboard, _) => return None,
        // The stage waits for the distribution, the bucket policy lets CloudFront read, the
        // function's permission lets API Gateway invoke it: grants and order, not flow.
        (Api, Cdn) | (Bucket, Cdn) | (Function, Api) => return None,
        _ => make(a, b, "", Style::Control),
    })
}

/// The box's lines: what it is and the settings that matter.
fn label(
    kind: Kind,
    id: &str,
    members: &[&str],
    props: &BTreeMap<&str, Value>,
    type_of: &BTreeMap<&str, &str>,
    env: &Environment,
) -> Vec<String> {
    let own = props.get(id).cloned().unwrap_or(Value::Null);
    let at = |path: &str| pointer(&own, path);
    let member_of = |type_name: &str| {
        members
            .iter()
            .find(|m| type_of.get(*m) == Some(&type_name))
            .and_then(|m| props.get(m))
    };
    match kind {
        Kind::Cdn => {
            let aliases: Vec<String> = at("DistributionConfig.Aliases")
                .and_then(Value::as_sequence)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            vec![
                format!("CloudFront {id}"),
                if aliases.is_empty() {
                    "*.cloudfront.net".to_owned()
                } else {
                    aliases.join(", ")
                },
                format!(
                    "{}, security headers",
                    text(at("DistributionConfig.PriceClass")).unwrap_or_default()
                ),
            ]
        }
        Kind::Bucket => vec![
            format!("S3 bucket {id}"),
            format!(
                "private, TLS only{}",
                if at("VersioningConfiguration").is_some() {
                    ", versioned"
                } else {
                    ""
                }
            ),
        ],
        Kind::Api => {
            let mut lines = vec![format!("API Gateway {id}")];
            if let Some(stage) = member_of("AWS::ApiGateway::Stage") {
                let name = text(pointer(stage, "StageName")).unwrap_or_default();
                let setting = pointer(stage, "MethodSettings")
                    .and_then(Value::as_sequence)
                    .and_then(|m| m.first());
                let number = |key: &str| {
                    setting
                        .and_then(|s| s.get(key))
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                };
                lines.push(format!(
                    "REST, stage {name}: {}/s, burst {}",
                    number("ThrottlingRateLimit"),
                    number("ThrottlingBurstLimit")
                ));
            }
            if member_of("AWS::ApiGateway::ApiKey").is_some() {
                lines.push("API key required".to_owned());
            }
            lines
        }
        Kind::Function => {
            let architecture = at("Architectures")
                .and_then(Value::as_sequence)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .unwrap_or("x86_64")
                .to_owned();
            vec![
                format!("Lambda {id}"),
                format!(
                    "{}, {architecture}, {} MB, {} s",
                    match at("Runtime").and_then(Value::as_str) {
                        Some(runtime) if runtime.starts_with("python") => "Python (inline)",
                        _ => "Rust",
                    },
                    at("MemorySize").and_then(Value::as_u64).unwrap_or(0),
                    at("Timeout").and_then(Value::as_u64).unwrap_or(0)
                ),
                format!(
                    "reserved concurrency {}",
                    at("ReservedConcurrentExecutions")
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                ),
            ]
        }
        Kind::Table => {
            let pitr = at("PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled")
                .and_then(Value::as_bool)
                == Some(true);
            vec![
                format!("DynamoDB {id}"),
                format!("on demand, TTL {} days", env.history_days),
                format!("PITR {}", if pitr { "on" } else { "off" }),
            ]
        }
        Kind::Secret => vec!["Secrets Manager".to_owned(), id.to_owned()],
        Kind::Guardrail => {
            let mut policies = Vec::new();
            for (path, name) in [
                ("ContentPolicyConfig", "content filters"),
                ("TopicPolicyConfig", "denied topics"),
                ("SensitiveInformationPolicyConfig", "PII"),
                ("WordPolicyConfig", "words"),
            ] {
                if at(path).is_some() {
                    policies.push(name);
                }
            }
            vec![titled("Bedrock guardrail", id), policies.join(", ")]
        }
        Kind::Logs => {
            let filters = members
                .iter()
                .filter(|m| type_of.get(*m) == Some(&"AWS::Logs::MetricFilter"))
                .count();
            let mut lines = vec![
                "CloudWatch Logs".to_owned(),
                id.to_owned(),
                format!(
                    "kept {} days",
                    at("RetentionInDays").and_then(Value::as_u64).unwrap_or(0)
                ),
            ];
            if filters > 0 {
                lines.push(format!(
                    "{filters} metric filter{}",
                    if filters == 1 { "" } else { "s" }
                ));
            }
            lines
        }
        Kind::Alarms => vec![
            format!("{} CloudWatch alarms", members.len()),
            "errors, throttles, latency,".to_owned(),
            "refusals, model, budget".to_owned(),
        ],
        Kind::Dashboard => vec![titled("CloudWatch dashboard", id)],
        Kind::Topic => vec![format!("SNS topic {id}")],
        Kind::Viewer | Kind::Model | Kind::Destination | Kind::Alias => vec![id.to_owned()],
        Kind::Other => vec![
            id.to_owned(),
            type_of.get(id).copied().unwrap_or("").to_owned(),
        ],
    }
}

/// The alias a SAM function publishes (`AutoPublishAlias`), between API Gateway and the
/// function: requests for the function go to the alias, which points at the live version and
/// which a gradual rollout moves, rolled back by the alarms it names.
fn alias(
    function: &str,
    props: &Value,
    boxes: &mut BTreeMap<String, Box>,
    arrows: &mut BTreeSet<Arrow>,
) {
    let Some(name) = pointer(props, "AutoPublishAlias").and_then(Value::as_str) else {
        return;
    };
    let id = format!("{function}Alias");
    let preference = pointer(props, "DeploymentPreference");
    let rollout = preference
        .and_then(|p| p.get("Type"))
        .and_then(Value::as_str)
        .map_or_else(|| "new versions all at once".to_owned(), rollout_text);
    let rollback_alarms = preference
        .and_then(|p| p.get("Alarms"))
        .and_then(Value::as_sequence)
        .map_or(0, Vec::len);
    let mut label = vec![format!("Lambda alias {name}"), rollout];
    if rollback_alarms > 0 {
        label.push(format!("rolled back by {rollback_alarms} alarms"));
        arrows.insert(Arrow {
            from: ALARMS.to_owned(),
            to: id.clone(),
            label: "roll back a new version".into(),
            style: Style::Control,
        });
    }
    boxes.insert(
        id.clone(),
        Box {
            id: id.clone(),
            kind: Kind::Alias,
            label,
        },
    );
    let into_function: Vec<Arrow> = arrows
        .iter()
        .filter(|a| a.to == function && a.style == Style::Request)
        .cloned()
        .collect();
    for arrow in into_function {
        arrows.remove(&arrow);
        arrows.insert(Arrow {
            to: id.clone(),
            ..arrow
        });
    }
    arrows.insert(Arrow {
        from: id,
        to: function.to_owned(),
        label: "the live version".into(),
        style: Style::Request,
    });
}

/// A CodeDeploy deployment preference type in words: `Canary10Percent5Minutes`.
fn rollout_text(kind: &str) -> String {
    match kind {
        "AllAtOnce" => "new versions all at once".to_owned(),
        _ => {
            let (style, rest) = if let Some(rest) = kind.strip_prefix("Canary") {
                ("canary", rest)
            } else if let Some(rest) = kind.strip_prefix("Linear") {
                ("linear", rest)
            } else {
                return format!("rollout {kind}");
            };
            let Some((percent, period)) = rest.split_once("Percent") else {
                return format!("rollout {kind}");
            };
            let period = period
                .strip_prefix("Every")
                .unwrap_or(period)
                .replace("Minutes", " min")
                .replace("Minute", " min");
            match style {
                "canary" => format!("canary rollout: {percent}% for {period}"),
                _ => format!("linear rollout: +{percent}% every {period}"),
            }
        }
    }
}

/// Who the alarms reach: the e-mail address subscribed to the topic and the existing topic.
fn destinations(
    env: &Environment,
    kinds: &BTreeMap<String, Kind>,
    boxes: &mut BTreeMap<String, Box>,
    arrows: &mut BTreeSet<Arrow>,
) {
    let Some((topic, _)) = kinds.iter().find(|(_, k)| **k == Kind::Topic) else {
        return;
    };
    let mut add = |id: &str, label: Vec<String>, from: &str| {
        boxes.insert(
            id.to_owned(),
            Box {
                id: id.to_owned(),
                kind: Kind::Destination,
                label,
            },
        );
        arrows.insert(Arrow {
            from: from.to_owned(),
            to: id.to_owned(),
            label: "notify".into(),
            style: Style::Control,
        });
    };
    if let Some(email) = &env.alarms.email {
        add("AlarmEmail", vec!["E-mail".into(), email.clone()], topic);
    }
    if let Some(arn) = &env.alarms.topic_arn {
        let name = arn.rsplit(':').next().unwrap_or(arn);
        add(
            "AlarmExistingTopic",
            vec!["Existing SNS topic".into(), name.to_owned()],
            ALARMS,
        );
    }
    if env.alarms.email.is_none() && env.alarms.topic_arn.is_none() {
        add(
            "NoAlarmDestination",
            vec!["No one".into(), "(no e-mail or topic set)".into()],
            topic,
        );
    }
}

/// What the environment turns on, for the caption.
fn features(env: &Environment, graph: &Graph) -> Vec<String> {
    let guardrail = match &env.guardrail {
        Some(_) => "guardrail: on".to_owned(),
        None => "guardrail: off".to_owned(),
    };
    let domain = match &env.domain {
        Some(domain) => format!("custom domain: {}", domain.name),
        None => "custom domain: none".to_owned(),
    };
    let api_key = if graph.of_type("AWS::ApiGateway::ApiKey").next().is_some() {
        "API key: CloudFront's, required"
    } else {
        "API key: none"
    };
    vec![
        guardrail,
        domain,
        api_key.to_owned(),
        format!("rollout: {}", env.function.rollout.as_str()),
        match env.auth.users() {
            None => "sign-in: none (public)".to_owned(),
            Some(users) => format!(
                "sign-in: Cognito user pool{}",
                match &users.federation {
                    Some(federation) => format!(" + {}", federation.name),
                    None => String::new(),
                }
            ),
        },
        format!(
            "PITR: {}",
            if env.table.point_in_time_recovery {
                "on"
            } else {
                "off"
            }
        ),
        format!(
            "budget: {} tokens{} a day",
            chatbot_contract::pricing::grouped(env.daily_token_budget),
            env.daily_cost_budget_micro_usd
                .map(|b| format!(" or {}", chatbot_contract::pricing::Usd(b)))
                .unwrap_or_default()
        ),
    ]
}

/// The names of the models a function may call, from its `CHATBOT_MODELS` variable.
fn models(function: &Value) -> Vec<String> {
    let Some(json) = pointer(function, "Environment.Variables")
        .and_then(|v| v.get(chatbot_contract::env_vars::MODELS))
        .and_then(Value::as_str)
    else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Array(models)) = serde_json::from_str::<serde_json::Value>(json)
    else {
        return Vec::new();
    };
    models
        .iter()
        .filter_map(|m| m.get("name")?.as_str().map(str::to_owned))
        .collect()
}

/// `what`, followed by the logical ID when it says more than `what` does.
fn titled(what: &str, id: &str) -> String {
    if what.to_lowercase().ends_with(&id.to_lowercase()) {
        what.to_owned()
    } else {
        format!("{what} {id}")
    }
}

fn pointer<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}
