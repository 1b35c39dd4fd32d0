//! A small CloudFormation on 127.0.0.1 that goes wrong on demand: the stack states moto never
//! reaches (`ROLLBACK_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, a stack busy with another
//! operation, a change set that fails), with per-resource events.
//!
//! It answers the query protocol (form-encoded `Action=…` POSTs, XML answers and
//! `ErrorResponse`s shaped as the CloudFormation and STS API references document them) for the
//! actions `cargo xtask deploy` calls, and the few S3 calls (path-style) it makes for the bundle
//! and the site. A stack moves one step on each DescribeStacks, the way a real one moves while
//! it is polled; what an execution does is scripted by the test ([`Outcome`]).
//!
//! It also stands in for what preflight and publishing ask of the rest of the account
//! ([`account`]): Bedrock's control plane and Lambda (REST-JSON), ACM (JSON 1.1) and
//! CloudFront's invalidations (REST-XML). Requests go to the service their SigV4 signature
//! names. Any service can be made to answer garbage ([`Garbage`]) and any call to be refused
//! ([`Refusal`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use md5::{Digest, Md5};

mod http;
mod rollout;
mod s3;
mod stacks;

use http::*;
use s3::*;
use stacks::*;

pub use rollout::{End, Phase, ScriptedRollout};
pub mod account;

pub use account::{Account, FakeCertificate, FakeModel};

pub const ACCOUNT: &str = "123456789012";
/// The live alias's logical ID, as the SAM transform names it.
const ALIAS: &str = "FunctionAliaslive";
pub const REGION: &str = "us-east-1";
const CFN_NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// What executing the next change set does.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every resource is created or updated.
    Succeed,
    /// `logical_id` fails with `reason`: a create rolls back to `ROLLBACK_COMPLETE`, an update
    /// to `UPDATE_ROLLBACK_COMPLETE`.
    Fail { logical_id: String, reason: String },
    /// The operation starts, then stays in progress until [`FakeCloudFormation::finish`]
    /// lets it succeed.
    Hang,
    /// An update whose alias CodeDeploy shifts as scripted: the function and a new version are
    /// updated, then the alias waits on the shift, then completes or fails and rolls back.
    Rollout(ScriptedRollout),
}

/// One call the fake answered: the action, or `S3 <METHOD> /<bucket>/<key>`.
#[derive(Debug, Clone)]
pub struct Call {
    pub action: String,
}

#[derive(Debug, Clone)]
pub struct Event {
    id: String,
    logical_id: String,
    physical_id: String,
    resource_type: String,
    status: String,
    reason: Option<String>,
    timestamp: String,
}

type Step = Box<dyn FnOnce(&mut Stack, &mut Clock) + Send>;

pub struct Stack {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub template: String,
    pub parameters: Vec<(String, String)>,
    events: Vec<Event>,
    steps: VecDeque<Step>,
    /// Steps of a hung operation, run by [`FakeCloudFormation::finish`].
    held: VecDeque<Step>,
}

pub struct ChangeSet {
    pub arn: String,
    pub name: String,
    pub stack_id: String,
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub template: String,
    pub parameters: Vec<(String, String)>,
    pub executed: bool,
}

/// Serial numbers and event times.
#[derive(Default)]
pub struct Clock {
    tick: u32,
}

impl Clock {
    fn next(&mut self) -> u32 {
        self.tick += 1;
        self.tick
    }

    fn time(&self) -> String {
        format!(
            "2026-05-01T12:{:02}:{:02}.000Z",
            (self.tick / 60) % 60,
            self.tick % 60
        )
    }
}

pub struct State {
    /// Answer GetCallerIdentity with this error code and message.
    pub sts_error: Option<(String, String)>,
    /// The next change set fails with this status reason.
    pub fail_next_change_set: Option<String>,
    pub on_execute: Outcome,
    /// What the next executions do, in order, before `on_execute` applies again.
    pub next_executions: VecDeque<Outcome>,
    /// DeleteStack starts the delete, which then stays in progress until
    /// [`FakeCloudFormation::finish`].
    pub hang_deletes: bool,
    /// New change sets stay `CREATE_PENDING`, as CloudFormation works them out.
    pub pending_change_sets: bool,
    /// Answer the next ExecuteChangeSet with this error code and message.
    pub refuse_next_execute: Option<(String, String)>,
    /// Every stack ever made, deleted ones too (a deleted stack is still found by its id).
    pub stacks: Vec<Stack>,
    pub change_sets: Vec<ChangeSet>,
    /// S3: `bucket/key` → bytes.
    pub objects: BTreeMap<String, Vec<u8>>,
    pub calls: Vec<Call>,
    /// The capabilities each CreateChangeSet and UpdateStack acknowledged, by action.
    pub capabilities: Vec<(String, Vec<String>)>,
    /// The `TemplateStage` each GetTemplate asked for (`Original` when it named none).
    pub template_stages: Vec<String>,
    /// The traffic shift of the last [`Outcome::Rollout`].
    pub rollout: Option<rollout::Running>,
    /// Refuse every CodeDeploy call, as for a deploy role without CodeDeploy's read rights.
    pub deny_codedeploy: bool,
    /// What Bedrock, Lambda and ACM say about the account.
    pub account: Account,
    /// Services (by SigV4 name: `cloudformation`, `s3`, `bedrock`…) that answer this instead.
    pub garbage: BTreeMap<String, Garbage>,
    /// Calls answered with an error instead.
    pub refusals: Vec<Refusal>,
    clock: Clock,
}

/// An answer no AWS SDK can read.
#[derive(Debug, Clone)]
pub struct Garbage {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// Refuse every call whose name ([`Call::action`]) starts with `call`.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub call: String,
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl State {
    fn live_stack(&mut self, name_or_id: &str) -> Option<&mut Stack> {
        self.stacks
            .iter_mut()
            .find(|s| s.id == name_or_id || (s.name == name_or_id && s.status != "DELETE_COMPLETE"))
    }

    /// The live stack named `name`.
    pub fn stack(&self, name: &str) -> Option<&Stack> {
        self.stacks
            .iter()
            .find(|s| s.name == name && s.status != "DELETE_COMPLETE")
    }

    /// The actions called so far, in order.
    pub fn actions(&self) -> Vec<String> {
        self.calls.iter().map(|c| c.action.clone()).collect()
    }

    /// The refusal for the call named `action`, if one is scripted.
    pub fn refused(&self, action: &str) -> Option<Refusal> {
        self.refusals
            .iter()
            .find(|r| action.starts_with(&r.call))
            .cloned()
    }

    /// The keys written to `bucket`, in the order they were written.
    pub fn puts(&self, bucket: &str) -> Vec<String> {
        let prefix = format!("S3 PUT /{bucket}/");
        self.calls
            .iter()
            .filter_map(|c| c.action.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }
}

pub struct FakeCloudFormation {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FakeCloudFormation {
    /// Listens on 127.0.0.1, with the artifacts bootstrap stack (`bootstrap_template`, the
    /// template deploy creates it from) already in place. It serves on a thread of its own
    /// until the process ends.
    pub fn start(bootstrap_template: &str) -> FakeCloudFormation {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("a listener can be made non-blocking");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let mut state = State {
            sts_error: None,
            fail_next_change_set: None,
            on_execute: Outcome::Succeed,
            next_executions: VecDeque::new(),
            hang_deletes: false,
            pending_change_sets: false,
            refuse_next_execute: None,
            stacks: Vec::new(),
            change_sets: Vec::new(),
            objects: BTreeMap::new(),
            calls: Vec::new(),
            capabilities: Vec::new(),
            template_stages: Vec::new(),
            rollout: None,
            deny_codedeploy: false,
            account: Account::default(),
            garbage: BTreeMap::new(),
            refusals: Vec::new(),
            clock: Clock::default(),
        };
        let mut bootstrap = new_stack(&mut state.clock, "chatbot-artifacts", "CREATE_COMPLETE");
        bootstrap.template = bootstrap_template.to_owned();
        state.stacks.push(bootstrap);
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the fake CloudFormation");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("the listener joins the runtime");
                let handler = move |request| http::handle(shared.clone(), request);
                crate::server::serve(listener, handler, || false).await;
            });
        });
        FakeCloudFormation { endpoint, state }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts the live stack `name` into `status` (another operation started, or one failed).
    pub fn set_status(&self, name: &str, status: &str, reason: Option<&str>) {
        let mut state = self.state();
        let stack = state.live_stack(name).expect("the stack exists");
        stack.status = status.to_owned();
        stack.reason = reason.map(str::to_owned);
    }

    /// Runs every step of the stack `name` at once: a hung operation finishes, successfully.
    pub fn finish(&self, name: &str) {
        let mut guard = self.state();
        let state = &mut *guard;
        let stack = state
            .stacks
            .iter_mut()
            .find(|s| s.name == name && s.status != "DELETE_COMPLETE")
            .expect("the stack exists");
        let held: Vec<Step> = stack.held.drain(..).collect();
        stack.steps.extend(held);
        while let Some(step) = stack.steps.pop_front() {
            step(stack, &mut state.clock);
        }
    }
}

fn new_stack(clock: &mut Clock, name: &str, status: &str) -> Stack {
    let serial = clock.next();
    Stack {
        id: format!(
            "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0000{serial:04}-aaaa-bbbb-cccc-dddddddddddd"
        ),
        name: name.to_owned(),
        status: status.to_owned(),
        reason: None,
        template: String::new(),
        parameters: Vec::new(),
        events: Vec::new(),
        steps: VecDeque::new(),
        held: VecDeque::new(),
    }
}

impl Stack {
    fn event(&mut self, clock: &mut Clock, logical_id: &str, resource_type: &str, status: &str) {
        self.event_because(clock, logical_id, resource_type, status, None);
    }

    fn event_because(
        &mut self,
        clock: &mut Clock,
        logical_id: &str,
        resource_type: &str,
        status: &str,
        reason: Option<&str>,
    ) {
        let serial = clock.next();
        let is_stack = resource_type == "AWS::CloudFormation::Stack";
        self.events.push(Event {
            id: format!("{logical_id}-{status}-{serial:06}"),
            logical_id: logical_id.to_owned(),
            physical_id: if is_stack {
                self.id.clone()
            } else {
                physical_id(&self.name, logical_id)
            },
            resource_type: resource_type.to_owned(),
            status: status.to_owned(),
            reason: reason.map(str::to_owned),
            timestamp: clock.time(),
        });
    }

    fn stack_event(&mut self, clock: &mut Clock, status: &str, reason: Option<&str>) {
        let name = self.name.clone();
        self.status = status.to_owned();
        self.reason = reason.map(str::to_owned);
        self.event_because(clock, &name, "AWS::CloudFormation::Stack", status, reason);
    }
}

fn physical_id(stack: &str, logical_id: &str) -> String {
    format!("{stack}-{}-1a2b3c4d", logical_id.to_ascii_lowercase())
}

/// `(logical id, type, text of its block)` for each resource of a YAML template, read line by
/// line: enough for the small templates the tests deploy.
fn resources(template: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let mut inside = false;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.trim_end() == "Resources:";
            continue;
        }
        if !inside || line.trim().starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            out.push((
                name.trim_end_matches(':').trim().to_owned(),
                String::new(),
                String::new(),
            ));
        } else if let Some(last) = out.last_mut() {
            // The resource's own type, not a nested `Type:` (a deployment preference's).
            if let Some(kind) = line.strip_prefix("    Type:") {
                last.1 = kind.trim().to_owned();
            }
            last.2.push_str(line.trim_end());
            last.2.push('\n');
        }
    }
    out
}

/// The stack's outputs: each `Value: !Ref X` of the template, as X's physical id.
fn outputs(stack: &Stack) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut name = String::new();
    for line in stack.template.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.trim_end() == "Outputs:";
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(n) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            name = n.trim_end_matches(':').trim().to_owned();
        } else if let Some(target) = line.trim().strip_prefix("Value: !Ref ") {
            out.push((name.clone(), physical_id(&stack.name, target.trim())));
        }
    }
    out
}

fn success_steps(kind: &str, template: String, parameters: Vec<(String, String)>) -> Vec<Step> {
    let kind = kind.to_owned();
    vec![
        Box::new({
            let template = template.clone();
            let kind = kind.clone();
            move |stack: &mut Stack, clock: &mut Clock| {
                let before = resources(&stack.template);
                for (logical, rtype, block) in resources(&template) {
                    let changed = before.iter().all(|(l, _, b)| *l != logical || *b != block);
                    if changed {
                        let status = if kind == "CREATE" || !before.iter().any(|r| r.0 == logical) {
                            "CREATE"
                        } else {
                            "UPDATE"
                        };
                        stack.event(clock, &logical, &rtype, &format!("{status}_IN_PROGRESS"));
                        stack.event(clock, &logical, &rtype, &format!("{status}_COMPLETE"));
                    }
                }
                if kind == "UPDATE" {
                    stack.stack_event(clock, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None);
                }
            }
        }),
        Box::new(move |stack: &mut Stack, clock: &mut Clock| {
            stack.template = template;
            stack.parameters = parameters;
            stack.stack_event(clock, &format!("{kind}_COMPLETE"), None);
        }),
    ]
}

fn failure_steps(kind: &str, template: String, failing: String, why: String) -> Vec<Step> {
    if kind == "CREATE" {
        vec![
            Box::new({
                let template = template.clone();
                move |stack: &mut Stack, clock: &mut Clock| {
                    let all = resources(&template);
                    for (logical, rtype, _) in &all {
                        stack.event(clock, logical, rtype, "CREATE_IN_PROGRESS");
                    }
                    for (logical, rtype, _) in &all {
                        let reason = if *logical == failing {
                            why.clone()
                        } else {
                            "Resource creation cancelled".to_owned()
                        };
                        stack.event_because(clock, logical, rtype, "CREATE_FAILED", Some(&reason));
                    }
                    stack.stack_event(
                        clock,
                        "ROLLBACK_IN_PROGRESS",
                        Some(&format!(
                            "The following resource(s) failed to create: [{failing}]. Rollback requested by user."
                        )),
                    );
                }
            }),
            Box::new(move |stack: &mut Stack, clock: &mut Clock| {
                for (logical, rtype, _) in resources(&template) {
                    stack.event(clock, &logical, &rtype, "DELETE_COMPLETE");
                }
                // GetTemplate still answers the template that failed.
                stack.template = template;
                stack.stack_event(clock, "ROLLBACK_COMPLETE", None);
            }),
        ]
    } else {
        vec![
            Box::new(move |stack: &mut Stack, clock: &mut Clock| {
                let rtype = resources(&template)
                    .into_iter()
                    .find(|r| r.0 == failing)
                    .map(|r| r.1)
                    .unwrap_or_default();
                stack.event(clock, &failing, &rtype, "UPDATE_IN_PROGRESS");
                stack.event_because(clock, &failing, &rtype, "UPDATE_FAILED", Some(&why));
                stack.stack_event(
                    clock,
                    "UPDATE_ROLLBACK_IN_PROGRESS",
                    Some(&format!(
                        "The following resource(s) failed to update: [{failing}]."
                    )),
                );
                stack.event(clock, &failing, &rtype, "UPDATE_COMPLETE");
                stack.stack_event(clock, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None);
            }),
            // The template and parameters stay what they were before the update.
            Box::new(|stack: &mut Stack, clock: &mut Clock| {
                stack.stack_event(clock, "UPDATE_ROLLBACK_COMPLETE", None);
            }),
        ]
    }
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub type Answer = (u16, Vec<(String, String)>, String);
/// An answer as bytes on the wire (CBOR is not text).
type Reply = (u16, Vec<(String, String)>, Vec<u8>);

fn xml(body: String) -> Answer {
    (
        200,
        vec![("Content-Type".to_owned(), "text/xml".to_owned())],
        body,
    )
}

fn query_ok(ns: &str, action: &str, result: &str) -> Answer {
    xml(format!(
        "<{action}Response xmlns=\"{ns}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>00000000-1111-2222-3333-444444444444</RequestId>\
         </ResponseMetadata></{action}Response>"
    ))
}

fn query_error(ns: &str, status: u16, code: &str, message: &str) -> Answer {
    (
        status,
        vec![("Content-Type".to_owned(), "text/xml".to_owned())],
        format!(
            "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{}</Message></Error>\
             <RequestId>00000000-1111-2222-3333-444444444444</RequestId></ErrorResponse>",
            esc(message)
        ),
    )
}

fn validation(message: &str) -> Answer {
    query_error(CFN_NS, 400, "ValidationError", message)
}

fn answer(state: &mut State, request: &Request) -> Reply {
    let text = |(status, headers, body): Answer| (status, headers, body.into_bytes());
    let service = request.service();
    if let Some(garbage) = state.garbage.get(&service).cloned() {
        state.calls.push(Call {
            action: format!("{service} {} {} (garbage)", request.method, request.path),
        });
        return text((
            garbage.status,
            vec![("Content-Type".to_owned(), garbage.content_type)],
            garbage.body,
        ));
    }
    if let Some(action) = request
        .target()
        .and_then(|t| t.strip_prefix("CodeDeploy_20141006."))
    {
        state.calls.push(Call {
            action: format!("CodeDeploy {action}"),
        });
        if state.deny_codedeploy {
            return text(rollout::access_denied(action));
        }
        return text(rollout::codedeploy(
            state.rollout.as_ref(),
            action,
            &request.body,
        ));
    }
    if let Some(rest) = request.path.strip_prefix("/2015-03-31/functions/")
        && let Some((function, alias)) = rest.split_once("/aliases/")
    {
        state.calls.push(Call {
            action: "Lambda GetAlias".to_owned(),
        });
        return text(rollout::get_alias(state.rollout.as_ref(), function, alias));
    }
    if request.path == "/service/GraniteServiceVersion20100801/operation/DescribeAlarms" {
        state.calls.push(Call {
            action: "CloudWatch DescribeAlarms".to_owned(),
        });
        let stack = state
            .rollout
            .as_ref()
            .map(|r| r.stack_name.clone())
            .unwrap_or_default();
        return rollout::describe_alarms(state.rollout.as_ref(), &stack);
    }
    match service.as_str() {
        "bedrock" | "lambda" | "acm" | "cloudfront" => {
            return text(account::answer(state, request));
        }
        _ => {}
    }
    text(answer_text(state, request))
}
