//! The fake Bedrock's guardrail interventions, read back by the real `aws-sdk-bedrockruntime`
//! client: what Converse and ConverseStream answer when a guardrail blocks a prompt, blocks an
//! answer or masks part of one, and how an unknown guardrail is refused.

use std::time::Duration;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{Credentials, Region};
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseStreamOutput, ConverseStreamTrace, GuardrailAssessment,
    GuardrailConfiguration, GuardrailContentFilterType, GuardrailContentPolicyAction,
    GuardrailConverseContentBlock, GuardrailConverseTextBlock, GuardrailManagedWordType,
    GuardrailPiiEntityType, GuardrailSensitiveInformationPolicyAction,
    GuardrailStreamConfiguration, GuardrailStreamProcessingMode, GuardrailTopicPolicyAction,
    GuardrailTrace, GuardrailTraceAssessment, GuardrailWordPolicyAction, Message, StopReason,
};
use testkit::bedrock::{DENIED_TOPIC, FakeBedrock, Guardrail};

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const ID: &str = "abcd1234efgh";
const VERSION: &str = "3";
const BLOCKED_INPUT: &str = "I can't help with that request.";
const BLOCKED_OUTPUT: &str = "I can't share that answer.";

/// A safety net so a broken stream fails the test instead of hanging it; never a measurement.
const GIVE_UP: Duration = Duration::from_secs(60);

async fn start() -> (FakeBedrock, Client) {
    let fake = FakeBedrock::start().await.unwrap();
    fake.add_guardrail(Guardrail {
        blocked_input_message: BLOCKED_INPUT.to_owned(),
        blocked_output_message: BLOCKED_OUTPUT.to_owned(),
        ..Guardrail::new(ID, VERSION)
    });
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(fake.endpoint())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    (fake, Client::new(&config))
}

fn guardrail(identifier: &str, version: &str, trace: GuardrailTrace) -> GuardrailConfiguration {
    GuardrailConfiguration::builder()
        .guardrail_identifier(identifier)
        .guardrail_version(version)
        .trace(trace)
        .build()
}

fn user(text: &str) -> Message {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.to_owned()))
        .build()
        .unwrap()
}

async fn converse(client: &Client, text: &str, trace: GuardrailTrace) -> ConverseOutput {
    client
        .converse()
        .model_id(MODEL)
        .messages(user(text))
        .guardrail_config(guardrail(ID, VERSION, trace))
        .send()
        .await
        .expect("the guardrail answers, it does not fail the call")
}

fn text(output: &ConverseOutput) -> String {
    output
        .output()
        .and_then(|o| o.as_message().ok())
        .expect("a message")
        .content()
        .iter()
        .map(|block| block.as_text().expect("text").as_str())
        .collect()
}

fn trace(output: &ConverseOutput) -> &GuardrailTraceAssessment {
    output
        .trace()
        .and_then(|t| t.guardrail())
        .expect("a guardrail trace")
}

fn input_assessment(trace: &GuardrailTraceAssessment) -> &GuardrailAssessment {
    &trace.input_assessment().expect("an input assessment")[ID]
}

fn output_assessment(trace: &GuardrailTraceAssessment) -> &GuardrailAssessment {
    &trace.output_assessments().expect("output assessments")[ID][0]
}

/// A stream's text deltas, its stop reason and its metadata trace.
async fn stream(
    client: &Client,
    text: &str,
    mode: GuardrailStreamProcessingMode,
) -> (Vec<String>, StopReason, Option<ConverseStreamTrace>) {
    let mut output = client
        .converse_stream()
        .model_id(MODEL)
        .messages(user(text))
        .guardrail_config(
            GuardrailStreamConfiguration::builder()
                .guardrail_identifier(ID)
                .guardrail_version(VERSION)
                .trace(GuardrailTrace::Enabled)
                .stream_processing_mode(mode)
                .build(),
        )
        .send()
        .await
        .expect("the stream starts");
    let mut deltas = Vec::new();
    let mut stop = None;
    let mut trace = None;
    tokio::time::timeout(GIVE_UP, async {
        while let Some(event) = output.stream.recv().await.expect("the stream ends cleanly") {
            match event {
                ConverseStreamOutput::ContentBlockDelta(delta) => {
                    deltas.push(delta.delta().unwrap().as_text().unwrap().clone());
                }
                ConverseStreamOutput::MessageStop(end) => stop = Some(end.stop_reason().clone()),
                ConverseStreamOutput::Metadata(metadata) => {
                    assert!(metadata.usage().is_some());
                    trace = metadata.trace().cloned();
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the stream ends instead of hanging");
    (deltas, stop.expect("a messageStop event"), trace)
}

#[tokio::test]
async fn a_blocked_prompt_is_answered_with_the_blocked_input_message_and_its_trace() {
    let (fake, client) = start().await;
    let output = converse(
        &client,
        "my card is 4111 1111 1111 1111 [[guardrail:input:pii]]",
        GuardrailTrace::Enabled,
    )
    .await;
    assert_eq!(output.stop_reason(), &StopReason::GuardrailIntervened);
    assert_eq!(text(&output), BLOCKED_INPUT);
    let usage = output.usage().unwrap();
    assert_eq!((usage.input_tokens(), usage.output_tokens()), (0, 0));
    let trace = trace(&output);
    assert!(trace.output_assessments().is_none());
    let pii = &input_assessment(trace)
        .sensitive_information_policy()
        .expect("a sensitive information assessment")
        .pii_entities()[0];
    assert_eq!(pii.r#type(), &GuardrailPiiEntityType::CreditDebitCardNumber);
    assert_eq!(
        pii.action(),
        &GuardrailSensitiveInformationPolicyAction::Blocked
    );
    assert_eq!(pii.r#match(), "my card is 4111 1111 1111 1111");
    let metrics = input_assessment(trace).invocation_metrics().unwrap();
    assert!(
        metrics
            .usage()
            .unwrap()
            .sensitive_information_policy_units()
            >= 1
    );
    // The request as sent, guardrail included.
    let body = &fake.calls()[0].body;
    assert_eq!(body["guardrailConfig"]["guardrailIdentifier"], ID);
    assert_eq!(body["guardrailConfig"]["guardrailVersion"], VERSION);
    assert_eq!(body["guardrailConfig"]["trace"], "enabled");
}

#[tokio::test]
async fn each_policy_reports_itself_in_the_trace() {
    let (_fake, client) = start().await;
    let prompt = |policy: &str| format!("hello there [[guardrail:input:{policy}]]");

    let output = converse(&client, &prompt("content"), GuardrailTrace::Enabled).await;
    let filter = &input_assessment(trace(&output))
        .content_policy()
        .unwrap()
        .filters()[0];
    assert_eq!(filter.r#type(), &GuardrailContentFilterType::Violence);
    assert_eq!(filter.action(), &GuardrailContentPolicyAction::Blocked);

    let output = converse(&client, &prompt("prompt-attack"), GuardrailTrace::Enabled).await;
    let filter = &input_assessment(trace(&output))
        .content_policy()
        .unwrap()
        .filters()[0];
    assert_eq!(filter.r#type(), &GuardrailContentFilterType::PromptAttack);

    let output = converse(&client, &prompt("topic"), GuardrailTrace::Enabled).await;
    let topic = &input_assessment(trace(&output))
        .topic_policy()
        .unwrap()
        .topics()[0];
    assert_eq!(topic.name(), DENIED_TOPIC);
    assert_eq!(topic.action(), &GuardrailTopicPolicyAction::Blocked);

    let output = converse(&client, &prompt("word"), GuardrailTrace::Enabled).await;
    let word = &input_assessment(trace(&output))
        .word_policy()
        .unwrap()
        .managed_word_lists()[0];
    assert_eq!(word.r#type(), &GuardrailManagedWordType::Profanity);
    assert_eq!(word.action(), &GuardrailWordPolicyAction::Blocked);
    assert_eq!(word.r#match(), "hello");
}

#[tokio::test]
async fn a_blocked_answer_is_answered_with_the_blocked_output_message() {
    let (_fake, client) = start().await;
    let output = converse(
        &client,
        "[[reply:the forbidden answer]] [[guardrail:output]]",
        GuardrailTrace::Enabled,
    )
    .await;
    assert_eq!(output.stop_reason(), &StopReason::GuardrailIntervened);
    assert_eq!(text(&output), BLOCKED_OUTPUT);
    let usage = output.usage().unwrap();
    assert_eq!(usage.output_tokens(), 3, "the model wrote its answer");
    let trace = trace(&output);
    assert_eq!(trace.model_output(), ["the forbidden answer"]);
    let filter = &output_assessment(trace).content_policy().unwrap().filters()[0];
    assert_eq!(filter.action(), &GuardrailContentPolicyAction::Blocked);
    assert!(input_assessment(trace).content_policy().is_none());
}

#[tokio::test]
async fn a_masked_answer_keeps_the_rest_of_the_text() {
    let (_fake, client) = start().await;
    let output = converse(
        &client,
        "[[reply:write to ada@example.com today]] [[guardrail:mask]]",
        GuardrailTrace::Enabled,
    )
    .await;
    assert_eq!(output.stop_reason(), &StopReason::GuardrailIntervened);
    assert_eq!(text(&output), "write to {EMAIL} today");
    let pii = &output_assessment(trace(&output))
        .sensitive_information_policy()
        .unwrap()
        .pii_entities()[0];
    assert_eq!(pii.r#type(), &GuardrailPiiEntityType::Email);
    assert_eq!(
        pii.action(),
        &GuardrailSensitiveInformationPolicyAction::Anonymized
    );

    // Nothing to mask: the guardrail lets the answer through.
    let output = converse(
        &client,
        "[[reply:nothing personal]] [[guardrail:mask]]",
        GuardrailTrace::Enabled,
    )
    .await;
    assert_eq!(output.stop_reason(), &StopReason::EndTurn);
    assert!(output.trace().is_none());
}

#[tokio::test]
async fn without_the_trace_an_intervention_has_only_its_stop_reason_and_message() {
    let (_fake, client) = start().await;
    let output = converse(&client, "x [[guardrail:input]]", GuardrailTrace::Disabled).await;
    assert_eq!(output.stop_reason(), &StopReason::GuardrailIntervened);
    assert_eq!(text(&output), BLOCKED_INPUT);
    assert!(output.trace().is_none());
}

#[tokio::test]
async fn streams_carry_the_blocked_message_as_a_delta_and_the_trace_in_the_metadata() {
    let (_fake, client) = start().await;
    let (deltas, stop, trace) = stream(
        &client,
        "how do I [[guardrail:input:topic]]",
        GuardrailStreamProcessingMode::Sync,
    )
    .await;
    assert_eq!(deltas, [BLOCKED_INPUT]);
    assert_eq!(stop, StopReason::GuardrailIntervened);
    let trace = trace.and_then(|t| t.guardrail).expect("a guardrail trace");
    assert_eq!(
        input_assessment(&trace).topic_policy().unwrap().topics()[0].name(),
        DENIED_TOPIC
    );

    // An answer blocked after two chunks the guardrail had cleared.
    let (deltas, stop, trace) = stream(
        &client,
        "[[reply:one two three four]] [[guardrail:output:content:2]]",
        GuardrailStreamProcessingMode::Async,
    )
    .await;
    assert_eq!(deltas, ["one ", "two ", BLOCKED_OUTPUT]);
    assert_eq!(stop, StopReason::GuardrailIntervened);
    let trace = trace.and_then(|t| t.guardrail).expect("a guardrail trace");
    assert_eq!(trace.model_output(), ["one two three four"]);
    assert!(output_assessment(&trace).content_policy().is_some());
}

#[tokio::test]
async fn guard_content_blocks_are_read_as_the_message() {
    let (fake, client) = start().await;
    let guarded = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::GuardContent(
            GuardrailConverseContentBlock::Text(
                GuardrailConverseTextBlock::builder()
                    .text("latest question [[guardrail:input]]")
                    .build()
                    .unwrap(),
            ),
        ))
        .build()
        .unwrap();
    let output = client
        .converse()
        .model_id(MODEL)
        .messages(guarded)
        .guardrail_config(guardrail(ID, VERSION, GuardrailTrace::Enabled))
        .send()
        .await
        .unwrap();
    assert_eq!(text(&output), BLOCKED_INPUT);
    assert_eq!(
        fake.calls()[0].body["messages"][0]["content"][0]["guardContent"]["text"]["text"],
        "latest question [[guardrail:input]]"
    );
}

#[tokio::test]
async fn without_a_guardrail_config_nothing_intervenes() {
    let (_fake, client) = start().await;
    let output = client
        .converse()
        .model_id(MODEL)
        .messages(user("plain [[guardrail:input]]"))
        .send()
        .await
        .unwrap();
    assert_eq!(output.stop_reason(), &StopReason::EndTurn);
    assert_eq!(text(&output), "Fake model reply to: plain");
}

#[tokio::test]
async fn an_unknown_guardrail_or_version_is_a_validation_error() {
    let (_fake, client) = start().await;
    for (identifier, version) in [
        ("nosuchguardrail", VERSION),
        (ID, "4"),
        (
            "arn:aws:bedrock:us-west-2:123456789012:guardrail/other",
            VERSION,
        ),
    ] {
        let error = client
            .converse()
            .model_id(MODEL)
            .messages(user("hi"))
            .guardrail_config(guardrail(identifier, version, GuardrailTrace::Enabled))
            .send()
            .await
            .expect_err(identifier)
            .into_service_error();
        assert!(error.is_validation_exception(), "{error:?}");
        assert_eq!(
            error.meta().message(),
            Some("The guardrail identifier or version provided in the request does not exist.")
        );
    }
    // The ARN of the guardrail, and its working draft, are the same guardrail.
    for (identifier, version) in [
        (
            format!("arn:aws:bedrock:us-west-2:123456789012:guardrail/{ID}"),
            VERSION,
        ),
        (ID.to_owned(), "DRAFT"),
    ] {
        let output = client
            .converse()
            .model_id(MODEL)
            .messages(user("hi [[guardrail:input]]"))
            .guardrail_config(guardrail(&identifier, version, GuardrailTrace::Enabled))
            .send()
            .await
            .unwrap();
        assert_eq!(text(&output), BLOCKED_INPUT, "{identifier} {version}");
    }
}

#[tokio::test]
async fn a_malformed_guardrail_directive_is_a_validation_error_naming_it() {
    let (_fake, client) = start().await;
    for directive in [
        "[[guardrail]]",
        "[[guardrail:sideways]]",
        "[[guardrail:input:poetry]]",
        "[[guardrail:output:prompt-attack]]",
        "[[guardrail:input:content:2]]",
    ] {
        let error = client
            .converse()
            .model_id(MODEL)
            .messages(user(&format!("hi {directive}")))
            .guardrail_config(guardrail(ID, VERSION, GuardrailTrace::Enabled))
            .send()
            .await
            .expect_err(directive)
            .into_service_error();
        assert!(error.is_validation_exception(), "{directive}: {error:?}");
        let message = error.meta().message().unwrap_or_default().to_owned();
        assert!(message.contains("[[guardrail"), "{directive}: {message}");
    }
}
