//! The fake Bedrock Runtime, driven through the real `aws-sdk-bedrockruntime` client.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{Credentials, Region};
use aws_sdk_bedrockruntime::error::SdkError;
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseStreamOutput, InferenceConfiguration, Message,
    StopReason, SystemContentBlock, TokenUsage,
};
use testkit::bedrock::{FakeBedrock, Operation, Options};

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// A safety net so a broken stream fails the test instead of hanging it; never a measurement.
const GIVE_UP: Duration = Duration::from_secs(60);

/// Whether an SDK error is the expected variant.
type Is<E> = fn(&E) -> bool;

async fn client(fake: &FakeBedrock, retry: RetryConfig) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(fake.endpoint())
        .retry_config(retry)
        .load()
        .await;
    Client::new(&config)
}

async fn no_retry_client(fake: &FakeBedrock) -> Client {
    client(fake, RetryConfig::disabled()).await
}

fn user(text: &str) -> Message {
    message(ConversationRole::User, text)
}

fn message(role: ConversationRole, text: &str) -> Message {
    Message::builder()
        .role(role)
        .content(ContentBlock::Text(text.to_owned()))
        .build()
        .expect("role and content are set")
}

async fn converse(client: &Client, text: &str) -> Result<ConverseOutput, SdkError<ConverseError>> {
    client
        .converse()
        .model_id(MODEL)
        .messages(user(text))
        .send()
        .await
}

fn reply_text(output: &ConverseOutput) -> String {
    let message = output
        .output()
        .and_then(|output| output.as_message().ok())
        .expect("the output is a message");
    assert_eq!(message.role(), &ConversationRole::Assistant);
    message
        .content()
        .iter()
        .map(|block| block.as_text().expect("a text block").as_str())
        .collect()
}

/// Everything a stream delivered: the events received, then how it ended.
#[derive(Debug)]
struct Streamed {
    events: Vec<ConverseStreamOutput>,
    end:
        Result<(), SdkError<ConverseStreamOutputError, aws_smithy_types::event_stream::RawMessage>>,
}

impl Streamed {
    fn deltas(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match event {
                ConverseStreamOutput::ContentBlockDelta(delta) => Some(
                    delta
                        .delta()
                        .and_then(|delta| delta.as_text().ok())
                        .expect("a text delta")
                        .clone(),
                ),
                _ => None,
            })
            .collect()
    }

    fn kinds(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .map(|event| match event {
                ConverseStreamOutput::MessageStart(_) => "messageStart",
                ConverseStreamOutput::ContentBlockDelta(_) => "contentBlockDelta",
                ConverseStreamOutput::ContentBlockStop(_) => "contentBlockStop",
                ConverseStreamOutput::MessageStop(_) => "messageStop",
                ConverseStreamOutput::Metadata(_) => "metadata",
                _ => "other",
            })
            .collect()
    }

    fn usage(&self) -> &TokenUsage {
        self.events
            .iter()
            .find_map(|event| match event {
                ConverseStreamOutput::Metadata(metadata) => metadata.usage(),
                _ => None,
            })
            .expect("a metadata event with usage")
    }

    fn stream_error(self) -> ConverseStreamOutputError {
        match self.end {
            Err(error) => error.into_service_error(),
            Ok(()) => panic!("the stream ended without an error: {:?}", self.kinds()),
        }
    }
}

async fn stream(client: &Client, text: &str) -> Streamed {
    let mut output = client
        .converse_stream()
        .model_id(MODEL)
        .messages(user(text))
        .send()
        .await
        .expect("the stream starts");
    let mut events = Vec::new();
    let end = tokio::time::timeout(GIVE_UP, async {
        loop {
            match output.stream.recv().await {
                Ok(Some(event)) => events.push(event),
                Ok(None) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
    })
    .await
    .expect("the stream ends instead of hanging");
    Streamed { events, end }
}

fn words(text: &str) -> Vec<String> {
    let mut chunks: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    chunks.retain(|chunk| !chunk.is_empty());
    chunks
}

#[tokio::test]
async fn converse_returns_the_reply_and_usage() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let output = client
        .converse()
        .model_id(MODEL)
        .system(SystemContentBlock::Text("Be brief.".to_owned()))
        .messages(user("hello there"))
        .messages(message(ConversationRole::Assistant, "hi, how can I help"))
        .messages(user("tell me a joke"))
        .send()
        .await
        .unwrap();

    assert_eq!(reply_text(&output), "Fake model reply to: tell me a joke");
    assert_eq!(output.stop_reason(), &StopReason::EndTurn);
    let usage = output.usage().unwrap();
    // 2 system words + 2 + 5 + 4 message words; one output token per word of the reply.
    assert_eq!(usage.input_tokens(), 13);
    assert_eq!(usage.output_tokens(), 8);
    assert_eq!(usage.total_tokens(), 21);
    assert!(output.metrics().is_some());
}

#[tokio::test]
async fn calls_record_the_decoded_model_and_the_request_body() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    converse(&client, "first").await.unwrap();
    let mut output = client
        .converse_stream()
        .model_id("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.model-v1:0")
        .system(SystemContentBlock::Text("You are terse.".to_owned()))
        .messages(user("second"))
        .send()
        .await
        .unwrap();
    while output.stream.recv().await.unwrap().is_some() {}

    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].operation, Operation::Converse);
    assert_eq!(calls[0].model_id, MODEL);
    assert_eq!(calls[0].body["messages"][0]["content"][0]["text"], "first");
    assert_eq!(calls[1].operation, Operation::ConverseStream);
    assert_eq!(
        calls[1].model_id,
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.model-v1:0"
    );
    assert_eq!(calls[1].body["system"][0]["text"], "You are terse.");
    assert_eq!(calls[1].body["messages"][0]["role"], "user");
}

#[tokio::test]
async fn converse_stream_yields_the_deltas_in_order_then_the_metadata() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let streamed = stream(&client, "what is  the weather?").await;

    streamed.end.as_ref().unwrap();
    let reply = "Fake model reply to: what is the weather?";
    assert_eq!(streamed.deltas(), words(reply));
    let mut expected = vec!["messageStart"];
    expected.extend(std::iter::repeat_n("contentBlockDelta", 8));
    expected.extend(["contentBlockStop", "messageStop", "metadata"]);
    assert_eq!(streamed.kinds(), expected);
    match &streamed.events[10] {
        ConverseStreamOutput::MessageStop(stop) => {
            assert_eq!(stop.stop_reason(), &StopReason::EndTurn)
        }
        other => panic!("expected messageStop, got {other:?}"),
    }
    assert_eq!(streamed.usage().input_tokens(), 4);
    assert_eq!(streamed.usage().output_tokens(), 8);
    assert_eq!(streamed.usage().total_tokens(), 12);
}

#[tokio::test]
async fn reply_directive_sends_the_text_verbatim() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;
    let text = r"please [[reply:# Title\n\n<script>alert(1)</script> **bold**]]";
    let expected = "# Title\n\n<script>alert(1)</script> **bold**";

    let output = converse(&client, text).await.unwrap();
    assert_eq!(reply_text(&output), expected);

    let streamed = stream(&client, text).await;
    streamed.end.as_ref().unwrap();
    assert_eq!(
        streamed.deltas(),
        ["# ", "Title\n\n", "<script>alert(1)</script> ", "**bold**"]
    );
}

#[tokio::test]
async fn chunks_and_tokens_directives_shape_the_reply() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let streamed = stream(&client, "load [[chunks:50]]").await;
    streamed.end.as_ref().unwrap();
    assert_eq!(streamed.deltas().len(), 50);
    assert_eq!(streamed.deltas()[0], "t1 ");
    assert_eq!(streamed.deltas()[49], "t50");
    assert_eq!(streamed.usage().output_tokens(), 50);

    let output = converse(&client, "[[chunks:3]] [[tokens:1000]]")
        .await
        .unwrap();
    assert_eq!(reply_text(&output), "t1 t2 t3");
    assert_eq!(output.usage().unwrap().output_tokens(), 1000);
}

#[tokio::test]
async fn max_tokens_cuts_the_reply() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let output = client
        .converse()
        .model_id(MODEL)
        .messages(user("[[chunks:10]]"))
        .inference_config(InferenceConfiguration::builder().max_tokens(4).build())
        .send()
        .await
        .unwrap();

    assert_eq!(reply_text(&output), "t1 t2 t3 t4 ");
    assert_eq!(output.stop_reason(), &StopReason::MaxTokens);
    assert_eq!(output.usage().unwrap().output_tokens(), 4);
}

#[tokio::test]
async fn errors_surface_as_the_sdk_error_variants_of_converse() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;
    let cases: [(&str, Is<ConverseError>); 10] = [
        ("[[throttle]]", ConverseError::is_throttling_exception),
        ("[[error:429]]", ConverseError::is_throttling_exception),
        ("[[error:500]]", ConverseError::is_internal_server_exception),
        (
            "[[error:503]]",
            ConverseError::is_service_unavailable_exception,
        ),
        ("[[error:408]]", ConverseError::is_model_timeout_exception),
        ("[[error:400]]", ConverseError::is_validation_exception),
        ("[[error:403]]", ConverseError::is_access_denied_exception),
        (
            "[[error:404]]",
            ConverseError::is_resource_not_found_exception,
        ),
        ("[[error:424]]", ConverseError::is_model_error_exception),
        (
            "[[error:ModelNotReadyException]]",
            ConverseError::is_model_not_ready_exception,
        ),
    ];
    for (directive, is_expected) in cases {
        let error = converse(&client, &format!("hi {directive}"))
            .await
            .expect_err(directive)
            .into_service_error();
        assert!(is_expected(&error), "{directive} gave {error:?}");
        assert!(
            error.meta().message().is_some(),
            "{directive} has a message"
        );
    }
}

#[tokio::test]
async fn errors_surface_as_the_sdk_error_variants_of_converse_stream() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;
    let cases: [(&str, Is<ConverseStreamError>); 6] = [
        ("[[throttle]]", ConverseStreamError::is_throttling_exception),
        (
            "[[error:500]]",
            ConverseStreamError::is_internal_server_exception,
        ),
        (
            "[[error:503]]",
            ConverseStreamError::is_service_unavailable_exception,
        ),
        (
            "[[error:408]]",
            ConverseStreamError::is_model_timeout_exception,
        ),
        (
            "[[too-long:always]]",
            ConverseStreamError::is_validation_exception,
        ),
        (
            "[[error:403]]",
            ConverseStreamError::is_access_denied_exception,
        ),
    ];
    for (directive, is_expected) in cases {
        let error = client
            .converse_stream()
            .model_id(MODEL)
            .messages(user(directive))
            .send()
            .await
            .expect_err(directive)
            .into_service_error();
        assert!(is_expected(&error), "{directive} gave {error:?}");
    }
}

#[tokio::test]
async fn throttle_n_throttles_the_first_n_calls_with_that_text() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;
    let text = "retry me [[throttle:2]]";

    for _ in 0..2 {
        let error = converse(&client, text)
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_throttling_exception(), "{error:?}");
    }
    // Another text has its own count.
    let error = converse(&client, "other [[throttle:1]]")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_throttling_exception(), "{error:?}");
    assert_eq!(
        reply_text(&converse(&client, text).await.unwrap()),
        "Fake model reply to: retry me"
    );
    assert_eq!(fake.calls().len(), 4);
}

#[tokio::test]
async fn sdk_retries_get_through_a_throttle_n() {
    let fake = FakeBedrock::start().await.unwrap();
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1));
    let client = client(&fake, retry).await;

    let output = converse(&client, "[[throttle:2]] go").await.unwrap();

    assert_eq!(reply_text(&output), "Fake model reply to: go");
    assert_eq!(fake.calls().len(), 3);
}

#[tokio::test]
async fn too_long_rejects_only_histories_of_more_than_two_messages() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;
    let send = |messages: Vec<Message>| {
        client
            .converse()
            .model_id(MODEL)
            .set_messages(Some(messages))
            .send()
    };

    let long = send(vec![
        user("one"),
        message(ConversationRole::Assistant, "two"),
        user("three [[too-long]]"),
    ])
    .await
    .unwrap_err()
    .into_service_error();
    assert!(long.is_validation_exception(), "{long:?}");
    assert_eq!(
        long.meta().message(),
        Some("Input is too long for requested model.")
    );

    let trimmed = send(vec![user("three [[too-long]]")]).await.unwrap();
    assert_eq!(reply_text(&trimmed), "Fake model reply to: three");
}

#[tokio::test]
async fn malformed_directive_is_a_validation_error_naming_it() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let error = converse(&client, "[[slow:fast]]")
        .await
        .unwrap_err()
        .into_service_error();

    assert!(error.is_validation_exception(), "{error:?}");
    assert!(error.meta().message().unwrap().contains("[[slow:fast]]"));
}

#[tokio::test]
async fn stream_error_arrives_as_an_exception_frame_after_n_chunks() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let streamed = stream(&client, "[[reply:a b c d]] [[stream-error:2]]").await;
    assert_eq!(streamed.deltas(), ["a ", "b "]);
    let error = streamed.stream_error();
    assert!(
        matches!(
            error,
            ConverseStreamOutputError::ModelStreamErrorException(_)
        ),
        "{error:?}"
    );

    let kinds: [(&str, Is<ConverseStreamOutputError>); 4] = [
        ("throttling", |e| e.is_throttling_exception()),
        ("internal", |e| e.is_internal_server_exception()),
        ("unavailable", |e| e.is_service_unavailable_exception()),
        ("validation", |e| e.is_validation_exception()),
    ];
    for (kind, is_expected) in kinds {
        let streamed = stream(&client, &format!("[[stream-error:0:{kind}]]")).await;
        assert!(streamed.deltas().is_empty());
        let error = streamed.stream_error();
        assert!(is_expected(&error), "{kind} gave {error:?}");
    }
}

#[tokio::test]
async fn a_broken_stream_is_an_error_not_a_hang() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let streamed = stream(&client, "[[reply:one two three four]] [[break:3]]").await;

    assert_eq!(streamed.deltas(), ["one ", "two ", "three "]);
    assert!(!streamed.kinds().contains(&"messageStop"));
    assert!(streamed.end.is_err(), "{:?}", streamed.end);
}

#[tokio::test]
async fn a_broken_converse_is_an_error_not_a_hang() {
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;

    let result = tokio::time::timeout(GIVE_UP, converse(&client, "[[break:0]]"))
        .await
        .expect("the call ends instead of hanging");

    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn frames_are_sent_one_by_one() {
    // The second chunk waits a minute: receiving the first one shows it was not held back.
    let fake = FakeBedrock::start().await.unwrap();
    let client = no_retry_client(&fake).await;
    let mut output = client
        .converse_stream()
        .model_id(MODEL)
        .messages(user("[[reply:first second]] [[slow:60000]]"))
        .send()
        .await
        .unwrap();

    let received = tokio::time::timeout(GIVE_UP, async {
        let mut events = Vec::new();
        while events.len() < 2 {
            events.push(output.stream.recv().await.unwrap().unwrap());
        }
        events
    })
    .await
    .expect("the first chunk arrives before the second is written");

    assert!(received[0].is_message_start());
    let delta = received[1].as_content_block_delta().unwrap();
    assert_eq!(delta.delta().unwrap().as_text().unwrap(), "first ");
}

#[tokio::test]
async fn directives_override_the_start_options() {
    let fake = FakeBedrock::start_with(Options {
        token_delay: Duration::from_secs(600),
        first_token_delay: Duration::from_secs(600),
    })
    .await
    .unwrap();
    let client = no_retry_client(&fake).await;

    let streamed = stream(&client, "quick [[slow:0]] [[first:0]]").await;

    streamed.end.as_ref().unwrap();
    assert_eq!(streamed.deltas().concat(), "Fake model reply to: quick");
}

#[tokio::test]
async fn hundreds_of_concurrent_streams_are_served() {
    let fake = FakeBedrock::start_with(Options {
        token_delay: Duration::from_millis(1),
        first_token_delay: Duration::ZERO,
    })
    .await
    .unwrap();
    let client = no_retry_client(&fake).await;

    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { (i, stream(&client, &format!("request {i}")).await) })
        })
        .collect();

    for task in tasks {
        let (i, streamed) = task.await.unwrap();
        streamed.end.as_ref().unwrap();
        assert_eq!(
            streamed.deltas().concat(),
            format!("Fake model reply to: request {i}")
        );
    }
    assert_eq!(fake.calls().len(), 300);
}

#[tokio::test]
async fn the_binary_serves_on_the_port_it_prints() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-bedrock"))
        .args(["--port", "0", "--token-delay-ms", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("fake-bedrock listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "test-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(&endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let result = converse(&Client::new(&config), "ping").await;
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert_eq!(reply_text(&result.unwrap()), "Fake model reply to: ping");
}

/// Set in the child process of `the_sdk_finds_the_fake_through_the_standard_environment`.
const CHILD_MARKER: &str = "TESTKIT_BEDROCK_ENV_CHILD";

#[tokio::test]
async fn the_sdk_finds_the_fake_through_the_standard_environment() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        // In the child: only the environment says where Bedrock is.
        let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let client = Client::new(&config);
        let output = converse(&client, "through the environment").await.unwrap();
        assert_eq!(
            reply_text(&output),
            "Fake model reply to: through the environment"
        );
        return;
    }
    let fake = FakeBedrock::start().await.unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "the_sdk_finds_the_fake_through_the_standard_environment",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    let output = tokio::task::spawn_blocking(move || child.output())
        .await
        .unwrap()
        .unwrap();

    assert!(
        output.status.success(),
        "the child test failed:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(fake.calls().len(), 1);
}
