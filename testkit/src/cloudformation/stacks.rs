//! The CloudFormation and STS query protocol: stacks, change sets, events, and who is calling.

use super::*;

pub(super) fn answer_text(state: &mut State, request: &Request) -> Answer {
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
            let Some(stack) = live_stack(stacks, &name) else {
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

pub(super) fn describe_stacks(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
    let name = params.get("StackName").cloned().unwrap_or_default();
    let State {
        stacks,
        clock,
        rollout,
        ..
    } = state;
    let Some(stack) = live_stack(stacks, &name) else {
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
    let parameters = parameters_xml(&stack.parameters);
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

pub(super) fn event_xml(stack: &Stack, event: &Event) -> String {
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
pub(super) fn with_defaults(
    mut given: Vec<(String, String)>,
    template: &str,
) -> Vec<(String, String)> {
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

pub(super) fn parameters(params: &BTreeMap<String, String>) -> Vec<(String, String)> {
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
pub(super) fn meaning(template: &str) -> String {
    template
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Capabilities.member.N`, in order.
pub(super) fn capabilities(params: &BTreeMap<String, String>) -> Vec<String> {
    (1..)
        .map_while(|n| params.get(&format!("Capabilities.member.{n}")).cloned())
        .collect()
}

/// What the fake answers for `TemplateStage=Processed`: a template with the SAM transform
/// declared comes back without it and marked, as CloudFormation returns the expanded one; so
/// a caller comparing the wrong stage with its rendering sees a difference.
pub(super) fn processed(template: &str) -> String {
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
pub(super) fn update_stack(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
    let name = params.get("StackName").cloned().unwrap_or_default();
    let template = template_of(state, params);
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

/// The template a request gives: `TemplateBody`, or the object of this stand-in's S3 that
/// `TemplateURL` names (`http://host:port/bucket/key`, path-style), as CloudFormation reads a
/// template too large to send inline.
fn template_of(state: &State, params: &BTreeMap<String, String>) -> String {
    if let Some(body) = params.get("TemplateBody") {
        return body.clone();
    }
    params
        .get("TemplateURL")
        .and_then(|url| {
            let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
            let (_, path) = after_scheme.split_once('/')?;
            state.objects.get(path)
        })
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default()
}

pub(super) fn create_change_set(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
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
        _ => template_of(state, params),
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

pub(super) fn describe_change_set(state: &State, set: &ChangeSet) -> Answer {
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
    let parameters = parameters_xml(&set.parameters);
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

pub(super) fn execute_change_set(state: &mut State, params: &BTreeMap<String, String>) -> Answer {
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

/// The stack `name` names: by id, any; by name, one not deleted.
fn live_stack<'a>(stacks: &'a mut [Stack], name: &str) -> Option<&'a mut Stack> {
    stacks
        .iter_mut()
        .find(|s| s.id == name || (s.name == name && s.status != "DELETE_COMPLETE"))
}

/// Parameters as the `<Parameters>` members of a description.
fn parameters_xml(parameters: &[(String, String)]) -> String {
    parameters
        .iter()
        .map(|(k, v)| {
            format!(
                "<member><ParameterKey>{}</ParameterKey><ParameterValue>{}</ParameterValue></member>",
                esc(k),
                esc(v)
            )
        })
        .collect()
}
