//! Bedrock's guardrail trace (`trace.guardrail` of Converse, of ConverseStream's `metadata`
//! event) read into an [`Assessment`]: which side was blocked or masked, and by which
//! policies. The text a policy matched (`match`, a regex's pattern, `modelOutput`) is left
//! behind: it is the visitor's message or the blocked answer, and it goes to the logs.

use aws_sdk_bedrockruntime::types::{
    GuardrailAssessment, GuardrailContentPolicyAction, GuardrailContextualGroundingPolicyAction,
    GuardrailSensitiveInformationPolicyAction, GuardrailTopicPolicyAction,
    GuardrailTraceAssessment, GuardrailWordPolicyAction,
};

use crate::guardrail::Assessment;

pub(super) fn read(trace: &GuardrailTraceAssessment) -> Assessment {
    let mut assessment = Assessment::default();
    for item in trace
        .input_assessment()
        .into_iter()
        .flat_map(|map| map.values())
    {
        add(item, Side::Input, &mut assessment);
    }
    for item in trace
        .output_assessments()
        .into_iter()
        .flat_map(|map| map.values())
        .flatten()
    {
        add(item, Side::Output, &mut assessment);
    }
    assessment
}

#[derive(Clone, Copy)]
enum Side {
    Input,
    Output,
}

enum Action {
    Blocked,
    Masked,
}

fn add(item: &GuardrailAssessment, side: Side, to: &mut Assessment) {
    let mut found: Vec<(String, Action)> = Vec::new();
    if let Some(content) = item.content_policy() {
        for filter in content.filters() {
            if filter.action() == &GuardrailContentPolicyAction::Blocked {
                found.push((
                    format!("content:{}", filter.r#type().as_str()),
                    Action::Blocked,
                ));
            }
        }
    }
    if let Some(topics) = item.topic_policy() {
        for topic in topics.topics() {
            if topic.action() == &GuardrailTopicPolicyAction::Blocked {
                found.push((format!("topic:{}", topic.name()), Action::Blocked));
            }
        }
    }
    if let Some(words) = item.word_policy() {
        if words
            .custom_words()
            .iter()
            .any(|word| word.action() == &GuardrailWordPolicyAction::Blocked)
        {
            found.push(("word:custom".to_owned(), Action::Blocked));
        }
        for list in words.managed_word_lists() {
            if list.action() == &GuardrailWordPolicyAction::Blocked {
                found.push((format!("word:{}", list.r#type().as_str()), Action::Blocked));
            }
        }
    }
    if let Some(sensitive) = item.sensitive_information_policy() {
        let action = |action: &GuardrailSensitiveInformationPolicyAction| match action {
            GuardrailSensitiveInformationPolicyAction::Blocked => Some(Action::Blocked),
            GuardrailSensitiveInformationPolicyAction::Anonymized => Some(Action::Masked),
            _ => None,
        };
        for entity in sensitive.pii_entities() {
            if let Some(action) = action(entity.action()) {
                found.push((format!("pii:{}", entity.r#type().as_str()), action));
            }
        }
        for regex in sensitive.regexes() {
            if let Some(action) = action(regex.action()) {
                found.push((
                    format!("regex:{}", regex.name().unwrap_or("unnamed")),
                    action,
                ));
            }
        }
    }
    if let Some(grounding) = item.contextual_grounding_policy() {
        for filter in grounding.filters() {
            if filter.action() == &GuardrailContextualGroundingPolicyAction::Blocked {
                found.push((
                    format!("grounding:{}", filter.r#type().as_str()),
                    Action::Blocked,
                ));
            }
        }
    }
    for (policy, action) in found {
        match (action, side) {
            (Action::Blocked, Side::Input) => to.blocked_input = true,
            (Action::Blocked, Side::Output) => to.blocked_output = true,
            (Action::Masked, _) => to.masked = true,
        }
        if !to.policies.contains(&policy) {
            to.policies.push(policy);
        }
    }
}
