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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};

use md5::{Digest, Md5};

mod rollout;

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
    /// Listens on 127.0.0.1, with the artifacts bootstrap stack already in place.
    pub fn start() -> FakeCloudFormation {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1");
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
        bootstrap.template = xtask::aws::artifacts::BOOTSTRAP_TEMPLATE.to_owned();
        state.stacks.push(bootstrap);
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || serve_connection(stream, &state));
            }
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

fn serve_connection(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let (status, headers, body) = {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            answer(&mut state, &request)
        };
        let reason = match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            403 => "Forbidden",
            404 => "Not Found",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            _ => "Bad Request",
        };
        let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in &headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !headers.iter().any(|(n, _)| n == "Content-Length") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("x-amzn-requestid: 00000000-1111-2222-3333-444444444444\r\n\r\n");
        let mut out = head.into_bytes();
        if request.method != "HEAD" {
            out.extend_from_slice(&body);
        }
        if writer.write_all(&out).and_then(|_| writer.flush()).is_err() {
            return;
        }
    }
}

pub struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `X-Amz-Target`, which JSON-protocol services (CodeDeploy) name the action in.
    fn target(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name == "x-amz-target")
            .map(|(_, value)| value.as_str())
    }

    /// The service the request is signed for: `Credential=<key>/<date>/<region>/<service>/…`.
    fn service(&self) -> String {
        self.scope(3)
    }

    /// The region the request is signed for.
    fn region(&self) -> String {
        self.scope(2)
    }

    fn scope(&self, part: usize) -> String {
        self.header("authorization")
            .and_then(|auth| auth.split("Credential=").nth(1))
            .and_then(|scope| scope.split('/').nth(part))
            .unwrap_or_default()
            .to_owned()
    }
}

/// The payload of an `aws-chunked` body (`size[;chunk-signature=…]\r\ndata\r\n…0\r\n` and
/// trailers), which the SDK sends for uploads with a trailing checksum.
fn aws_chunked_payload(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let header = String::from_utf8_lossy(&rest[..end]);
        let Ok(size) = usize::from_str_radix(header.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        if size == 0 || rest.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&rest[end + 2..end + 2 + size]);
        rest = &rest[(end + 4 + size).min(rest.len())..];
    }
    out
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut length = 0usize;
    let mut headers = Vec::new();
    let mut chunked = false;
    let mut aws_chunked = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        headers.push((name.clone(), value.to_owned()));
        if name == "content-length" {
            length = value.parse().ok()?;
        } else if name == "x-amz-decoded-content-length" {
            aws_chunked = true;
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name == "expect" && value.eq_ignore_ascii_case("100-continue") {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .ok()?;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut trailer = String::new();
                    reader.read_line(&mut trailer).ok()?;
                    if trailer.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    if aws_chunked {
        body = aws_chunked_payload(&body);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path: decode(&path),
        query,
        headers,
        body,
    })
}

/// Percent-decoding, with `+` as a space (form encoding).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (b'+', None) => out.push(b' '),
            (byte, None) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

fn answer_text(state: &mut State, request: &Request) -> Answer {
    let is_query = request.method == "POST" && request.path == "/";
    if !is_query {
        return s3(state, request);
    }
    let params = form(&request.body);
    let action = params.get("Action").cloned().unwrap_or_default();
    state.calls.push(Call {
        action: action.clone(),
    });
    match action.as_str() {
        "GetCallerIdentity" => match &state.sts_error {
            Some((code, message)) => query_error(STS_NS, 403, code, message),
            None => query_ok(
                STS_NS,
                "GetCallerIdentity",
                &format!(
                    "<Arn>arn:aws:iam::{ACCOUNT}:user/deployer</Arn>\
                     <UserId>AIDAEXAMPLEDEPLOYER</UserId><Account>{ACCOUNT}</Account>"
                ),
            ),
        },
        "DescribeStacks" => describe_stacks(state, &params),
        "GetTemplate" => {
            let name = params.get("StackName").cloned().unwrap_or_default();
            let stage = params
                .get("TemplateStage")
                .cloned()
                .unwrap_or_else(|| "Original".to_owned());
            state.template_stages.push(stage.clone());
            match state.live_stack(&name) {
                Some(stack) => {
                    let body = if stage == "Processed" {
                        processed(&stack.template)
                    } else {
                        stack.template.clone()
                    };
                    query_ok(
                        CFN_NS,
                        "GetTemplate",
                        &format!(
                            "<TemplateBody>{}</TemplateBody><StagesAvailable><member>Original</member>\
                             <member>Processed</member></StagesAvailable>",
                            esc(&body)
                        ),
                    )
                }
                None => validation(&format!("Stack with id {name} does not exist")),
            }
        }
        "UpdateStack" => update_stack(state, &params),
        "DescribeStackEvents" => {
            let name = params.get("StackName").cloned().unwrap_or_default();
            match state.live_stack(&name) {
                Some(stack) => {
                    let stack = &*stack;
                    let members: String = stack
                        .events
                        .iter()
                        .rev()
                        .map(|e| event_xml(stack, e))
                        .collect();
                    query_ok(
                        CFN_NS,
                        "DescribeStackEvents",
                        &format!("<StackEvents>{members}</StackEvents>"),
                    )
                }
                None => validation(&format!("Stack [{name}] does not exist")),
            }
        }
        "CreateChangeSet" => create_change_set(state, &params),
        "DescribeChangeSet" => {
            let arn = params.get("ChangeSetName").cloned().unwrap_or_default();
            match state.change_sets.iter().find(|c| c.arn == arn) {
                Some(set) => describe_change_set(state, set),
                None => query_error(
                    CFN_NS,
                    404,
                    "ChangeSetNotFound",
                    &format!("ChangeSet [{arn}] does not exist"),
                ),
            }
        }
        "DeleteChangeSet" => {
            // An ARN, or a name with the stack's name.
            let arn = params.get("ChangeSetName").cloned().unwrap_or_default();
            let stack = params.get("StackName").cloned().unwrap_or_default();
            let stack_ids: Vec<String> = state
                .stacks
                .iter()
                .filter(|s| s.name == stack || s.id == stack)
                .map(|s| s.id.clone())
                .collect();
            let before = state.change_sets.len();
            state
                .change_sets
                .retain(|c| c.arn != arn && !(c.name == arn && stack_ids.contains(&c.stack_id)));
            if state.change_sets.len() == before {
                return query_error(
                    CFN_NS,
                    404,
                    "ChangeSetNotFound",
                    &format!("ChangeSet [{arn}] does not exist"),
                );
            }
            query_ok(CFN_NS, "DeleteChangeSet", "")
        }
        "ExecuteChangeSet" => execute_change_set(state, &params),
        "ListStackResources" => {
            let name = params.get("StackName").cloned().unwrap_or_default();
            match state.live_stack(&name) {
                Some(stack) => {
                    let members: String = resources(&stack.template)
                        .iter()
                        .map(|(logical, rtype, _)| {
                            format!(
                                "<member><LogicalResourceId>{}</LogicalResourceId>\
                                 <PhysicalResourceId>{}</PhysicalResourceId>\
                                 <ResourceType>{}</ResourceType>\
                                 <LastUpdatedTimestamp>2026-05-01T12:00:00.000Z</LastUpdatedTimestamp>\
                                 <ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>",
                                esc(logical),
                                esc(&physical_id(&stack.name, logical)),
                                esc(rtype)
                            )
                        })
                        .collect();
                    query_ok(
                        CFN_NS,
                        "ListStackResources",
                        &format!("<StackResourceSummaries>{members}</StackResourceSummaries>"),
                    )
                }
                None => validation(&format!("Stack with id {name} does not exist")),
            }
        }
        "DeleteStack" => {
            let name = params.get("StackName").cloned().unwrap_or_default();
            let State {
                stacks,
                clock,
                hang_deletes,
                ..
            } = state;
            let Some(stack) = stacks
                .iter_mut()
                .find(|s| s.id == name || (s.name == name && s.status != "DELETE_COMPLETE"))
            else {
                return query_ok(CFN_NS, "DeleteStack", "");
            };
            if stack.status == "DELETE_COMPLETE" {
                return query_ok(CFN_NS, "DeleteStack", "");
            }
            if stack.status == "REVIEW_IN_PROGRESS" {
                stack.status = "DELETE_COMPLETE".to_owned();
            } else {
                stack.stack_event(clock, "DELETE_IN_PROGRESS", Some("User Initiated"));
                let template = stack.template.clone();
                let steps =
                    VecDeque::from(vec![Box::new(move |stack: &mut Stack, clock: &mut Clock| {
                        for (logical, rtype, _) in resources(&template).into_iter().rev() {
                            stack.event(clock, &logical, &rtype, "DELETE_COMPLETE");
                        }
                        stack.stack_event(clock, "DELETE_COMPLETE", None);
                    }) as Step]);
                if *hang_deletes {
                    stack.held = steps;
                } else {
                    stack.steps = steps;
                }
            }
            let id = stack.id.clone();
            state.change_sets.retain(|c| c.stack_id != id);
            query_ok(CFN_NS, "DeleteStack", "")
        }
        other => query_error(
            CFN_NS,
            400,
            "InvalidAction",
            &format!("the fake does not answer {other}"),
        ),
    }
}

fn describe_stacks(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
    let name = params.get("StackName").cloned().unwrap_or_default();
    let State {
        stacks,
        clock,
        rollout,
        ..
    } = state;
    let Some(stack) = stacks
        .iter_mut()
        .find(|s| s.id == name || (s.name == name && s.status != "DELETE_COMPLETE"))
    else {
        return validation(&format!("Stack with id {name} does not exist"));
    };
    if let Some(step) = stack.steps.pop_front() {
        step(stack, clock);
    } else if let Some(run) = rollout.as_mut().filter(|r| r.stack_name == stack.name)
        && run.advance()
    {
        // The shift is over: CloudFormation finishes the alias and the stack.
        let held: Vec<Step> = stack.held.drain(..).collect();
        stack.steps.extend(held);
    }
    let parameters: String = stack
        .parameters
        .iter()
        .map(|(k, v)| {
            format!(
                "<member><ParameterKey>{}</ParameterKey><ParameterValue>{}</ParameterValue></member>",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let has_outputs = !matches!(
        stack.status.as_str(),
        "REVIEW_IN_PROGRESS"
            | "CREATE_IN_PROGRESS"
            | "ROLLBACK_IN_PROGRESS"
            | "ROLLBACK_COMPLETE"
            | "DELETE_COMPLETE"
    );
    let outputs: String = if has_outputs {
        outputs(stack)
            .iter()
            .map(|(k, v)| {
                format!(
                    "<member><OutputKey>{}</OutputKey><OutputValue>{}</OutputValue></member>",
                    esc(k),
                    esc(v)
                )
            })
            .collect()
    } else {
        String::new()
    };
    let reason = stack
        .reason
        .as_deref()
        .map(|r| format!("<StackStatusReason>{}</StackStatusReason>", esc(r)))
        .unwrap_or_default();
    query_ok(
        CFN_NS,
        "DescribeStacks",
        &format!(
            "<Stacks><member><StackName>{}</StackName><StackId>{}</StackId>\
             <CreationTime>2026-05-01T12:00:00.000Z</CreationTime>\
             <LastUpdatedTime>{}</LastUpdatedTime>\
             <StackStatus>{}</StackStatus>{reason}\
             <Parameters>{parameters}</Parameters><Outputs>{outputs}</Outputs>\
             <Capabilities><member>CAPABILITY_IAM</member></Capabilities>\
             <DisableRollback>false</DisableRollback></member></Stacks>",
            esc(&stack.name),
            esc(&stack.id),
            stack
                .events
                .last()
                .map(|e| e.timestamp.clone())
                .unwrap_or_else(|| "2026-05-01T12:00:00.000Z".to_owned()),
            stack.status
        ),
    )
}

fn event_xml(stack: &Stack, event: &Event) -> String {
    let reason = event
        .reason
        .as_deref()
        .map(|r| format!("<ResourceStatusReason>{}</ResourceStatusReason>", esc(r)))
        .unwrap_or_default();
    format!(
        "<member><Timestamp>{}</Timestamp><ResourceStatus>{}</ResourceStatus>\
         <StackId>{}</StackId><EventId>{}</EventId>\
         <LogicalResourceId>{}</LogicalResourceId><StackName>{}</StackName>\
         <PhysicalResourceId>{}</PhysicalResourceId>{reason}\
         <ResourceType>{}</ResourceType></member>",
        event.timestamp,
        event.status,
        esc(&stack.id),
        esc(&event.id),
        esc(&event.logical_id),
        esc(&stack.name),
        esc(&event.physical_id),
        esc(&event.resource_type),
    )
}

/// `Parameters.member.N.ParameterKey` / `…ParameterValue` pairs.
/// `given` and, for each parameter of `template` not given, its default: what CloudFormation
/// uses for a parameter a create or an update leaves out.
fn with_defaults(mut given: Vec<(String, String)>, template: &str) -> Vec<(String, String)> {
    let doc: serde_yaml::Value = serde_yaml::from_str(template).unwrap_or_default();
    if let Some(declared) = doc.get("Parameters").and_then(|p| p.as_mapping()) {
        for (name, parameter) in declared {
            let (Some(name), Some(default)) = (
                name.as_str(),
                parameter.get("Default").and_then(|d| d.as_str()),
            ) else {
                continue;
            };
            if !given.iter().any(|(key, _)| key == name) {
                given.push((name.to_owned(), default.to_owned()));
            }
        }
    }
    given.sort();
    given
}

fn parameters(params: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in 1.. {
        let Some(key) = params.get(&format!("Parameters.member.{n}.ParameterKey")) else {
            break;
        };
        let value = params
            .get(&format!("Parameters.member.{n}.ParameterValue"))
            .cloned()
            .unwrap_or_default();
        out.push((key.clone(), value));
    }
    out.sort();
    out
}

/// A template without its comment lines: what CloudFormation compares.
fn meaning(template: &str) -> String {
    template
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Capabilities.member.N`, in order.
fn capabilities(params: &BTreeMap<String, String>) -> Vec<String> {
    (1..)
        .map_while(|n| params.get(&format!("Capabilities.member.{n}")).cloned())
        .collect()
}

/// What the fake answers for `TemplateStage=Processed`: a template with the SAM transform
/// declared comes back without it and marked, as CloudFormation returns the expanded one; so
/// a caller comparing the wrong stage with its rendering sees a difference.
fn processed(template: &str) -> String {
    if !template.contains("Transform: AWS::Serverless-2016-10-31") {
        return template.to_owned();
    }
    let body: Vec<&str> = template
        .lines()
        .filter(|l| !l.starts_with("Transform:"))
        .collect();
    format!("# expanded by the SAM transform\n{}\n", body.join("\n"))
}

/// UpdateStack, as the bootstrap stack is updated: the stack moves to the template in the
/// steps a change set's execution takes.
fn update_stack(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
    let name = params.get("StackName").cloned().unwrap_or_default();
    let template = params.get("TemplateBody").cloned().unwrap_or_default();
    state
        .capabilities
        .push(("UpdateStack".to_owned(), capabilities(params)));
    let State { stacks, clock, .. } = state;
    let Some(stack) = stacks
        .iter_mut()
        .find(|s| s.name == name && s.status != "DELETE_COMPLETE")
    else {
        return validation(&format!("Stack [{name}] does not exist"));
    };
    if meaning(&stack.template) == meaning(&template) {
        return validation("No updates are to be performed.");
    }
    let parameters = stack.parameters.clone();
    let id = stack.id.clone();
    stack.stack_event(clock, "UPDATE_IN_PROGRESS", Some("User Initiated"));
    stack.steps = success_steps("UPDATE", template, parameters).into();
    query_ok(
        CFN_NS,
        "UpdateStack",
        &format!("<StackId>{}</StackId>", esc(&id)),
    )
}

fn create_change_set(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
    let name = params.get("StackName").cloned().unwrap_or_default();
    state
        .capabilities
        .push(("CreateChangeSet".to_owned(), capabilities(params)));
    let set_name = params.get("ChangeSetName").cloned().unwrap_or_default();
    let kind = params
        .get("ChangeSetType")
        .cloned()
        .unwrap_or("UPDATE".into());
    let parameters = parameters(params);
    let existing = state
        .stacks
        .iter()
        .find(|s| s.name == name && s.status != "DELETE_COMPLETE");
    let template = match (params.get("UsePreviousTemplate"), existing) {
        (Some(yes), Some(stack)) if yes == "true" => stack.template.clone(),
        _ => params.get("TemplateBody").cloned().unwrap_or_default(),
    };
    let parameters = with_defaults(parameters, &template);
    let unchanged = kind == "UPDATE"
        && existing.is_some_and(|s| {
            meaning(&s.template) == meaning(&template) && s.parameters == parameters
        });
    let stack_id = match (kind.as_str(), existing) {
        ("CREATE", Some(stack)) if stack.status != "REVIEW_IN_PROGRESS" => {
            return query_error(
                CFN_NS,
                400,
                "AlreadyExistsException",
                &format!("Stack [{name}] already exists"),
            );
        }
        ("CREATE", Some(stack)) => stack.id.clone(),
        ("CREATE", None) => {
            let stack = new_stack(&mut state.clock, &name, "REVIEW_IN_PROGRESS");
            let id = stack.id.clone();
            state.stacks.push(stack);
            id
        }
        (_, None) => return validation(&format!("Stack [{name}] does not exist")),
        (_, Some(stack)) => {
            let updatable = matches!(
                stack.status.as_str(),
                "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE"
            );
            if !updatable {
                return validation(&format!(
                    "Stack:{} is in {} state and can not be updated.",
                    stack.id, stack.status
                ));
            }
            stack.id.clone()
        }
    };
    let (status, reason) = match state.fail_next_change_set.take() {
        Some(reason) => ("FAILED", Some(reason)),
        None if unchanged => (
            "FAILED",
            Some(
                "The submitted information didn't contain changes. Submit different \
                 information to create a change set."
                    .to_owned(),
            ),
        ),
        None if state.pending_change_sets => ("CREATE_PENDING", None),
        None => ("CREATE_COMPLETE", None),
    };
    let serial = state.clock.next();
    let arn = format!(
        "arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{set_name}/1111{serial:04}-aaaa-bbbb-cccc-dddddddddddd"
    );
    state.change_sets.push(ChangeSet {
        arn: arn.clone(),
        name: set_name,
        stack_id: stack_id.clone(),
        kind,
        status: status.to_owned(),
        reason,
        template,
        parameters,
        executed: false,
    });
    query_ok(
        CFN_NS,
        "CreateChangeSet",
        &format!(
            "<Id>{}</Id><StackId>{}</StackId>",
            esc(&arn),
            esc(&stack_id)
        ),
    )
}

fn describe_change_set(state: &State, set: &ChangeSet) -> Answer {
    let stack = state.stacks.iter().find(|s| s.id == set.stack_id);
    let before = stack
        .map(|s| resources(&s.template))
        .filter(|_| set.kind == "UPDATE")
        .unwrap_or_default();
    let after = resources(&set.template);
    let mut changes = String::new();
    if set.status == "CREATE_COMPLETE" {
        let mut change = |action: &str, logical: &str, rtype: &str| {
            let physical = if action == "Add" {
                String::new()
            } else {
                format!(
                    "<PhysicalResourceId>{}</PhysicalResourceId>",
                    physical_id(stack.map(|s| s.name.as_str()).unwrap_or(""), logical)
                )
            };
            let replacement = if action == "Modify" {
                "<Replacement>False</Replacement><Scope><member>Properties</member></Scope>"
            } else {
                ""
            };
            changes.push_str(&format!(
                "<member><Type>Resource</Type><ResourceChange><Action>{action}</Action>\
                 <LogicalResourceId>{logical}</LogicalResourceId>{physical}\
                 <ResourceType>{rtype}</ResourceType>{replacement}<Details/></ResourceChange>\
                 </member>"
            ));
        };
        for (logical, rtype, block) in &after {
            match before.iter().find(|b| b.0 == *logical) {
                None => change("Add", logical, rtype),
                Some(old) if old.2 != *block => change("Modify", logical, rtype),
                Some(_) => {}
            }
        }
        for (logical, rtype, _) in &before {
            if !after.iter().any(|a| a.0 == *logical) {
                change("Remove", logical, rtype);
            }
        }
    }
    let parameters: String = set
        .parameters
        .iter()
        .map(|(k, v)| {
            format!(
                "<member><ParameterKey>{}</ParameterKey><ParameterValue>{}</ParameterValue></member>",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let execution = match (set.status.as_str(), set.executed) {
        (_, true) => "EXECUTE_IN_PROGRESS",
        ("CREATE_COMPLETE", false) => "AVAILABLE",
        _ => "UNAVAILABLE",
    };
    let reason = set
        .reason
        .as_deref()
        .map(|r| format!("<StatusReason>{}</StatusReason>", esc(r)))
        .unwrap_or_default();
    query_ok(
        CFN_NS,
        "DescribeChangeSet",
        &format!(
            "<ChangeSetName>{}</ChangeSetName><ChangeSetId>{}</ChangeSetId>\
             <StackId>{}</StackId><StackName>{}</StackName>\
             <CreationTime>2026-05-01T12:00:00.000Z</CreationTime>\
             <ExecutionStatus>{execution}</ExecutionStatus><Status>{}</Status>{reason}\
             <Parameters>{parameters}</Parameters><Changes>{changes}</Changes>\
             <IncludeNestedStacks>false</IncludeNestedStacks>",
            esc(&set.name),
            esc(&set.arn),
            esc(&set.stack_id),
            esc(stack.map(|s| s.name.as_str()).unwrap_or("")),
            set.status
        ),
    )
}

fn execute_change_set(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
    let arn = params.get("ChangeSetName").cloned().unwrap_or_default();
    if let Some((code, message)) = state.refuse_next_execute.take() {
        return query_error(CFN_NS, 400, &code, &message);
    }
    let Some(set) = state.change_sets.iter_mut().find(|c| c.arn == arn) else {
        return query_error(
            CFN_NS,
            404,
            "ChangeSetNotFound",
            &format!("ChangeSet [{arn}] does not exist"),
        );
    };
    if set.status != "CREATE_COMPLETE" || set.executed {
        return query_error(
            CFN_NS,
            400,
            "InvalidChangeSetStatus",
            &format!(
                "ChangeSet [{arn}] cannot be executed in its current status of [{}]",
                set.status
            ),
        );
    }
    set.executed = true;
    let (kind, template, parameters, stack_id) = (
        set.kind.clone(),
        set.template.clone(),
        set.parameters.clone(),
        set.stack_id.clone(),
    );
    // Executing a change set deletes the stack's other change sets.
    state
        .change_sets
        .retain(|c| c.stack_id != stack_id || c.arn == arn);
    let outcome = state
        .next_executions
        .pop_front()
        .unwrap_or_else(|| state.on_execute.clone());
    let State {
        stacks,
        clock,
        rollout,
        ..
    } = state;
    let stack = stacks
        .iter_mut()
        .find(|s| s.id == stack_id)
        .expect("the change set's stack");
    stack.stack_event(
        clock,
        &format!("{kind}_IN_PROGRESS"),
        Some("User Initiated"),
    );
    match outcome {
        Outcome::Succeed => stack.steps = success_steps(&kind, template, parameters).into(),
        Outcome::Fail { logical_id, reason } => {
            if kind == "CREATE" {
                stack.parameters = parameters;
            }
            stack.steps = failure_steps(&kind, template, logical_id, reason).into();
        }
        Outcome::Hang => stack.held = success_steps(&kind, template, parameters).into(),
        Outcome::Rollout(script) => {
            let ends_well = script.end == End::Succeed;
            let new_version = format!("FunctionVersion{}", script.new_version);
            stack.steps =
                VecDeque::from(vec![Box::new(move |stack: &mut Stack, clock: &mut Clock| {
                    for (logical, rtype, verb) in [
                        ("Function", "AWS::Lambda::Function", "UPDATE"),
                        (new_version.as_str(), "AWS::Lambda::Version", "CREATE"),
                    ] {
                        stack.event(clock, logical, rtype, &format!("{verb}_IN_PROGRESS"));
                        stack.event(clock, logical, rtype, &format!("{verb}_COMPLETE"));
                    }
                    stack.event(clock, ALIAS, "AWS::Lambda::Alias", "UPDATE_IN_PROGRESS");
                }) as Step]);
            stack.held = if ends_well {
                let mut steps: VecDeque<Step> = VecDeque::new();
                steps.push_back(Box::new(|stack: &mut Stack, clock: &mut Clock| {
                    stack.event(clock, ALIAS, "AWS::Lambda::Alias", "UPDATE_COMPLETE");
                }));
                steps.extend(success_steps(&kind, template, parameters));
                steps
            } else {
                let id = script.deployment_id.clone();
                VecDeque::from(vec![
                    Box::new(move |stack: &mut Stack, clock: &mut Clock| {
                        // CloudFormation's wording of this reason is not documented; this one
                        // is the fake's own.
                        let reason = format!("CodeDeploy deployment {id} did not succeed");
                        stack.event_because(
                            clock,
                            ALIAS,
                            "AWS::Lambda::Alias",
                            "UPDATE_FAILED",
                            Some(&reason),
                        );
                        stack.stack_event(
                            clock,
                            "UPDATE_ROLLBACK_IN_PROGRESS",
                            Some(&format!(
                                "The following resource(s) failed to update: [{ALIAS}]."
                            )),
                        );
                    }) as Step,
                    Box::new(|stack: &mut Stack, clock: &mut Clock| {
                        stack.event(clock, ALIAS, "AWS::Lambda::Alias", "UPDATE_COMPLETE");
                        stack.stack_event(
                            clock,
                            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                            None,
                        );
                    }),
                    // The template and parameters stay what they were before the update.
                    Box::new(|stack: &mut Stack, clock: &mut Clock| {
                        stack.stack_event(clock, "UPDATE_ROLLBACK_COMPLETE", None);
                    }),
                ])
            };
            *rollout = Some(rollout::Running::new(script, &stack.name));
        }
    }
    query_ok(CFN_NS, "ExecuteChangeSet", "")
}

/// Path-style S3: HeadObject, PutObject, ListObjectsV2, DeleteObjects.
fn s3(state: &mut State, request: &Request) -> Answer {
    let path = request.path.trim_start_matches('/').to_owned();
    let (bucket, key) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let action = format!("S3 {} /{path}", request.method);
    state.calls.push(Call {
        action: action.clone(),
    });
    if let Some(refusal) = state.refused(&action) {
        return (
            refusal.status,
            vec![("Content-Type".to_owned(), "application/xml".to_owned())],
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code>\
                 <Message>{}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
                refusal.code,
                esc(&refusal.message)
            ),
        );
    }
    // Single-part ETags are the MD5 of the bytes, which publishing compares with its files.
    let etag = |bytes: &[u8]| {
        let hex: String = Md5::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("\"{hex}\"")
    };
    match (request.method.as_str(), key.is_empty()) {
        ("HEAD", false) => match state.objects.get(&path) {
            Some(bytes) => (
                200,
                vec![
                    ("ETag".to_owned(), etag(bytes)),
                    ("Content-Length".to_owned(), bytes.len().to_string()),
                ],
                String::new(),
            ),
            None => (404, Vec::new(), String::new()),
        },
        ("PUT", false) => {
            let tag = etag(&request.body);
            state.objects.insert(path.clone(), request.body.clone());
            (200, vec![("ETag".to_owned(), tag)], String::new())
        }
        ("GET", true) if request.query.contains("list-type=2") => {
            let prefix = format!("{bucket}/");
            let contents: String = state
                .objects
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?, v)))
                .map(|(k, v)| {
                    format!(
                        "<Contents><Key>{}</Key><ETag>{}</ETag><Size>{}</Size>\
                         <LastModified>2026-05-01T12:00:00.000Z</LastModified>\
                         <StorageClass>STANDARD</StorageClass></Contents>",
                        esc(k),
                        esc(&etag(v)),
                        v.len()
                    )
                })
                .collect();
            xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Name>{bucket}</Name><Prefix></Prefix><KeyCount>0</KeyCount>\
                 <MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}\
                 </ListBucketResult>"
            ))
        }
        ("GET", true) if request.query.contains("versions") => {
            let prefix = format!("{bucket}/");
            let versions: String = state
                .objects
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?, v)))
                .map(|(k, v)| {
                    format!(
                        "<Version><Key>{}</Key><VersionId>null</VersionId>\
                         <IsLatest>true</IsLatest><ETag>{}</ETag><Size>{}</Size>\
                         <LastModified>2026-05-01T12:00:00.000Z</LastModified>\
                         <StorageClass>STANDARD</StorageClass></Version>",
                        esc(k),
                        esc(&etag(v)),
                        v.len()
                    )
                })
                .collect();
            xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Name>{bucket}</Name><Prefix></Prefix><KeyMarker></KeyMarker>\
                 <VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys>\
                 <IsTruncated>false</IsTruncated>{versions}</ListVersionsResult>"
            ))
        }
        // The deployment records (text) that deploy, status and rollback read back.
        ("GET", false) => match state.objects.get(&path) {
            Some(bytes) => (
                200,
                vec![("ETag".to_owned(), etag(bytes))],
                String::from_utf8_lossy(bytes).into_owned(),
            ),
            None => (
                404,
                vec![("Content-Type".to_owned(), "application/xml".to_owned())],
                "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                    .to_owned(),
            ),
        },
        ("POST", true) if request.query.contains("delete") => {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            for part in body.split("<Key>").skip(1) {
                if let Some((key, _)) = part.split_once("</Key>") {
                    state.objects.remove(&format!("{bucket}/{key}"));
                }
            }
            xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>"
                .to_owned())
        }
        _ => (
            400,
            vec![("Content-Type".to_owned(), "application/xml".to_owned())],
            format!(
                "<Error><Code>NotImplemented</Code><Message>the fake does not answer {} {}</Message></Error>",
                request.method,
                esc(&request.path)
            ),
        ),
    }
}
