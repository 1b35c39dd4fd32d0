//! A traffic shift through CodeDeploy while CloudFormation waits on the alias update, scripted
//! by the test: the weights the live alias carries, the alarm that fires, how it ends. It
//! answers CodeDeploy (JSON 1.1: ListDeployments, GetDeployment), Lambda (REST JSON: GetAlias)
//! and CloudWatch (RPC v2 CBOR: DescribeAlarms) in the shapes their API references document.
//! The deployment moves one phase each time the stack is described, the way a real one moves
//! while it is polled.

use super::{ACCOUNT, Answer, REGION, physical_id};

/// What a test scripts: the phases of the shift, then how it ends.
#[derive(Debug, Clone)]
pub struct ScriptedRollout {
    pub deployment_id: String,
    pub old_version: String,
    pub new_version: String,
    pub phases: Vec<Phase>,
    pub end: End,
}

/// One look at a running shift.
#[derive(Debug, Clone)]
pub struct Phase {
    /// The new version's share of the traffic, 0 to 1.
    pub weight: f64,
    /// A rollback alarm (logical ID) in ALARM from this phase on.
    pub alarm: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// The new version takes all the traffic.
    Succeed,
    /// CodeDeploy stops on the alarm in ALARM and moves the traffic back.
    StopOnAlarm,
}

/// The rollback alarms the fake answers for (the stack's `FunctionErrorsAlarm` and
/// `FunctionThrottlesAlarm`).
pub const ALARMS: [&str; 2] = ["FunctionErrorsAlarm", "FunctionThrottlesAlarm"];

/// A shift under way or over.
pub struct Running {
    pub script: ScriptedRollout,
    pub stack_name: String,
    /// Index into the phases; `None` before the first.
    pub phase: Option<usize>,
    /// `InProgress`, then `Succeeded` or `Stopped`.
    pub status: String,
}

impl Running {
    pub fn new(script: ScriptedRollout, stack_name: &str) -> Running {
        Running {
            script,
            stack_name: stack_name.to_owned(),
            phase: None,
            status: "InProgress".to_owned(),
        }
    }

    pub fn is_over(&self) -> bool {
        self.status != "InProgress"
    }

    /// One step on; true when the shift just ended.
    pub fn advance(&mut self) -> bool {
        if self.is_over() {
            return false;
        }
        let next = self.phase.map_or(0, |p| p + 1);
        if next < self.script.phases.len() {
            self.phase = Some(next);
            return false;
        }
        self.status = match self.script.end {
            End::Succeed => "Succeeded",
            End::StopOnAlarm => "Stopped",
        }
        .to_owned();
        true
    }

    fn weight(&self) -> Option<f64> {
        if self.is_over() {
            return None;
        }
        self.phase.map(|p| self.script.phases[p].weight)
    }

    /// The alarm in ALARM, once one is.
    pub fn firing(&self) -> Option<&str> {
        let seen = match self.phase {
            Some(p) => &self.script.phases[..=p],
            None => &[],
        };
        seen.iter().rev().find_map(|p| p.alarm.as_deref())
    }

    fn alarm_name(&self, logical: &str) -> String {
        physical_id(&self.stack_name, logical)
    }

    fn rollback_id(&self) -> String {
        format!(
            "{}R",
            &self.script.deployment_id[..self.script.deployment_id.len() - 1]
        )
    }
}

fn json(body: serde_json::Value) -> Answer {
    (
        200,
        vec![(
            "Content-Type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        )],
        body.to_string(),
    )
}

fn json_error(kind: &str, message: &str) -> Answer {
    (
        400,
        vec![(
            "Content-Type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        )],
        serde_json::json!({"__type": kind, "message": message}).to_string(),
    )
}

/// What CodeDeploy answers a caller without the right.
pub fn access_denied(action: &str) -> Answer {
    json_error(
        "AccessDeniedException",
        &format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/chatbot-deploy/ci is not authorized to \
             perform: codedeploy:{action} because no identity-based policy allows the \
             codedeploy:{action} action"
        ),
    )
}

/// CodeDeploy: `X-Amz-Target: CodeDeploy_20141006.<Action>`.
pub fn codedeploy(running: Option<&Running>, action: &str, body: &[u8]) -> Answer {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(run) = running else {
        return match action {
            "ListDeployments" => json(serde_json::json!({"deployments": []})),
            _ => json_error(
                "DeploymentDoesNotExistException",
                "The deployment does not exist",
            ),
        };
    };
    match action {
        "ListDeployments" => {
            let mut ids = vec![run.script.deployment_id.clone()];
            if run.status == "Stopped" {
                // CodeDeploy's own rollback is a deployment of the same group.
                ids.insert(0, run.rollback_id());
            }
            json(serde_json::json!({"deployments": ids}))
        }
        "GetDeployment" => {
            let id = request["deploymentId"].as_str().unwrap_or_default();
            let mut info = serde_json::json!({
                "applicationName": physical_id(&run.stack_name, "ServerlessDeploymentApplication"),
                "deploymentGroupName": physical_id(&run.stack_name, "FunctionDeploymentGroup"),
                "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
                "deploymentId": id,
                "createTime": 1_777_636_800.0,
                "computePlatform": "Lambda",
                "deploymentStyle": {
                    "deploymentType": "BLUE_GREEN",
                    "deploymentOption": "WITH_TRAFFIC_CONTROL"
                },
            });
            if id == run.rollback_id() && run.status == "Stopped" {
                info["status"] = "Succeeded".into();
                info["creator"] = "codeDeployRollback".into();
                info["rollbackInfo"] = serde_json::json!({
                    "rollbackTriggeringDeploymentId": run.script.deployment_id,
                    "rollbackMessage": format!(
                        "Deployment {} is a rollback of deployment {}.",
                        run.rollback_id(),
                        run.script.deployment_id
                    ),
                });
                return json(serde_json::json!({"deploymentInfo": info}));
            }
            if id != run.script.deployment_id {
                return json_error(
                    "DeploymentDoesNotExistException",
                    &format!("The deployment {id} could not be found"),
                );
            }
            info["status"] = run.status.clone().into();
            info["creator"] = "CloudFormation".into();
            if run.status == "Stopped" {
                let names: Vec<String> = run
                    .firing()
                    .map(|alarm| format!("<{}>", run.alarm_name(alarm)))
                    .into_iter()
                    .collect();
                info["errorInformation"] = serde_json::json!({
                    "code": "ALARM_ACTIVE",
                    "message": format!(
                        "One or more alarms have been activated according to the Amazon \
                         CloudWatch metrics you selected, and the affected deployments have \
                         been stopped. Activated alarms: {}",
                        names.join(" ")
                    ),
                });
                info["rollbackInfo"] = serde_json::json!({
                    "rollbackDeploymentId": run.rollback_id(),
                    "rollbackMessage": format!(
                        "Deployment {} terminated. Automatic rollback is triggered with a \
                         DeploymentId {}.",
                        run.script.deployment_id,
                        run.rollback_id()
                    ),
                });
            }
            json(serde_json::json!({"deploymentInfo": info}))
        }
        other => json_error(
            "InvalidOperationException",
            &format!("the fake does not answer {other}"),
        ),
    }
}

/// Lambda's GetAlias: `GET /2015-03-31/functions/<function>/aliases/<alias>`.
pub fn get_alias(running: Option<&Running>, function: &str, alias: &str) -> Answer {
    let (version, weights) = match running {
        Some(run) => {
            let version = match run.status.as_str() {
                "Succeeded" => &run.script.new_version,
                _ => &run.script.old_version,
            };
            let weights = run
                .weight()
                .map(|w| serde_json::json!({"AdditionalVersionWeights": {run.script.new_version.clone(): w}}));
            (version.clone(), weights)
        }
        None => ("1".to_owned(), None),
    };
    let mut body = serde_json::json!({
        "AliasArn": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{alias}"),
        "Name": alias,
        "FunctionVersion": version,
        "Description": "",
        "RevisionId": "8c3f0a7e-1b2d-4e5f-9a6b-7c8d9e0f1a2b",
    });
    if let Some(weights) = weights {
        body["RoutingConfig"] = weights;
    }
    (
        200,
        vec![("Content-Type".to_owned(), "application/json".to_owned())],
        body.to_string(),
    )
}

/// CloudWatch's DescribeAlarms over RPC v2 CBOR: the rollback alarms and their states.
pub fn describe_alarms(
    running: Option<&Running>,
    stack_name: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let firing = running.and_then(Running::firing);
    let mut out = Vec::new();
    cbor_head(5, 1, &mut out);
    cbor_text("MetricAlarms", &mut out);
    cbor_head(4, ALARMS.len() as u64, &mut out);
    for logical in ALARMS {
        let (state, reason) = if firing == Some(logical) {
            (
                "ALARM",
                "Threshold Crossed: 1 datapoint [2.0 (01/05/26 12:03:00)] was greater than or equal to the threshold (1.0).",
            )
        } else {
            (
                "OK",
                "Threshold Crossed: 1 datapoint [0.0 (01/05/26 12:02:00)] was not greater than or equal to the threshold (1.0).",
            )
        };
        cbor_head(5, 3, &mut out);
        cbor_text("AlarmName", &mut out);
        cbor_text(&physical_id(stack_name, logical), &mut out);
        cbor_text("StateValue", &mut out);
        cbor_text(state, &mut out);
        cbor_text("StateReason", &mut out);
        cbor_text(reason, &mut out);
    }
    (
        200,
        vec![
            ("Content-Type".to_owned(), "application/cbor".to_owned()),
            ("smithy-protocol".to_owned(), "rpc-v2-cbor".to_owned()),
        ],
        out,
    )
}

/// A CBOR item head: major type and length (RFC 8949, section 3).
fn cbor_head(major: u8, length: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    match length {
        0..=23 => out.push(major | length as u8),
        24..=0xff => out.extend([major | 24, length as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((length as u16).to_be_bytes());
        }
        _ => {
            out.push(major | 26);
            out.extend((length as u32).to_be_bytes());
        }
    }
}

fn cbor_text(text: &str, out: &mut Vec<u8>) {
    cbor_head(3, text.len() as u64, out);
    out.extend_from_slice(text.as_bytes());
}
