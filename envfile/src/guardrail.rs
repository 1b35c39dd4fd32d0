//! `[guardrail]`: an Amazon Bedrock guardrail on every model call of an environment, checked
//! against what CloudFormation's `AWS::Bedrock::Guardrail` accepts, so a mistake is an error
//! naming its key rather than a failed deploy.

use crate::check::Checker;
use crate::{EnvError, file};

/// The guardrail of an environment, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailSettings {
    /// Shown when a prompt is blocked (the guardrail's `BlockedInputMessaging`).
    pub blocked_input_message: String,
    /// Shown when an answer is blocked (`BlockedOutputsMessaging`).
    pub blocked_output_message: String,
    pub stream_processing: StreamProcessing,
    /// The content filters that are on, in a fixed order.
    pub content_filters: Vec<ContentFilter>,
    pub denied_topics: Vec<DeniedTopic>,
    pub pii: Vec<PiiEntity>,
    /// AWS's managed list of profanity.
    pub profanity_filter: bool,
    /// Words and phrases to block in prompts and answers.
    pub blocked_words: Vec<String>,
}

/// How ConverseStream applies the guardrail to a streamed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamProcessing {
    /// Each chunk is checked before it is sent.
    Sync,
    /// Chunks are sent at once and checked alongside (no masking).
    Async,
}

impl StreamProcessing {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamProcessing::Sync => "sync",
            StreamProcessing::Async => "async",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentFilter {
    pub category: FilterCategory,
    pub strength: Strength,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterCategory {
    Hate,
    Insults,
    Sexual,
    Violence,
    Misconduct,
    /// Jailbreaks and prompt injection: prompts only.
    PromptAttack,
}

impl FilterCategory {
    /// The filter's `Type` in the guardrail.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterCategory::Hate => "HATE",
            FilterCategory::Insults => "INSULTS",
            FilterCategory::Sexual => "SEXUAL",
            FilterCategory::Violence => "VIOLENCE",
            FilterCategory::Misconduct => "MISCONDUCT",
            FilterCategory::PromptAttack => "PROMPT_ATTACK",
        }
    }
}

/// How readily a filter blocks: `High` blocks the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    Low,
    Medium,
    High,
}

impl Strength {
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Low => "LOW",
            Strength::Medium => "MEDIUM",
            Strength::High => "HIGH",
        }
    }
}

/// A subject the chatbot refuses, described to the guardrail in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedTopic {
    pub name: String,
    pub definition: String,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiEntity {
    /// One of [`PII_ENTITY_TYPES`].
    pub entity: String,
    pub action: PiiAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiAction {
    /// Prompts and answers holding it are blocked.
    Block,
    /// Masked (`{EMAIL}`) in answers; prompts may hold it.
    Mask,
}

/// The kinds of personal information a guardrail detects, as `AWS::Bedrock::Guardrail` names
/// them.
pub const PII_ENTITY_TYPES: [&str; 31] = [
    "ADDRESS",
    "AGE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER",
    "DRIVER_ID",
    "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "MAC_ADDRESS",
    "NAME",
    "PASSWORD",
    "PHONE",
    "PIN",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "URL",
    "USERNAME",
    "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
];

const MAX_MESSAGE_CHARS: u64 = 500;
const MAX_TOPICS: u64 = 30;
const MAX_EXAMPLES: u64 = 5;
const MAX_WORDS: u64 = 10_000;

pub(crate) fn check(c: &Checker<'_>, raw: file::Guardrail) -> Result<GuardrailSettings, EnvError> {
    for (key, message) in [
        (
            "guardrail.blocked_input_message",
            &raw.blocked_input_message,
        ),
        (
            "guardrail.blocked_output_message",
            &raw.blocked_output_message,
        ),
    ] {
        c.check(
            key,
            !message.trim().is_empty(),
            message,
            "a message to show",
        )?;
        c.range(
            key,
            message.chars().count() as u64,
            1,
            MAX_MESSAGE_CHARS,
            " characters",
        )?;
    }

    let filters = &raw.content_filters;
    let content_filters: Vec<ContentFilter> = [
        (FilterCategory::Hate, filters.hate),
        (FilterCategory::Insults, filters.insults),
        (FilterCategory::Sexual, filters.sexual),
        (FilterCategory::Violence, filters.violence),
        (FilterCategory::Misconduct, filters.misconduct),
        (FilterCategory::PromptAttack, filters.prompt_attack),
    ]
    .into_iter()
    .filter_map(|(category, strength)| {
        let strength = match strength? {
            file::Strength::None => return None,
            file::Strength::Low => Strength::Low,
            file::Strength::Medium => Strength::Medium,
            file::Strength::High => Strength::High,
        };
        Some(ContentFilter { category, strength })
    })
    .collect();

    c.range(
        "guardrail.denied_topics",
        raw.denied_topics.len() as u64,
        0,
        MAX_TOPICS,
        " topics",
    )?;
    for (i, topic) in raw.denied_topics.iter().enumerate() {
        let key = format!("guardrail.denied_topics[{i}]");
        c.check(
            &format!("{key}.name"),
            is_topic_name(&topic.name),
            &topic.name,
            "1 to 100 letters, digits, spaces and - _ ! ? .",
        )?;
        if raw.denied_topics[..i].iter().any(|t| t.name == topic.name) {
            return Err(c.fail(
                &format!("{key}.name"),
                format!("{:?} is listed twice", topic.name),
            ));
        }
        c.check(
            &format!("{key}.definition"),
            !topic.definition.trim().is_empty() && topic.definition.chars().count() <= 1000,
            &topic.definition,
            "a definition of 1 to 1000 characters",
        )?;
        c.range(
            &format!("{key}.examples"),
            topic.examples.len() as u64,
            0,
            MAX_EXAMPLES,
            " examples",
        )?;
        for (j, example) in topic.examples.iter().enumerate() {
            c.check(
                &format!("{key}.examples[{j}]"),
                !example.trim().is_empty() && example.chars().count() <= 100,
                example,
                "an example of 1 to 100 characters",
            )?;
        }
    }

    let mut pii = Vec::new();
    for (list, action) in [("block", PiiAction::Block), ("mask", PiiAction::Mask)] {
        let entities = if action == PiiAction::Block {
            &raw.pii.block
        } else {
            &raw.pii.mask
        };
        for (i, entity) in entities.iter().enumerate() {
            let key = format!("guardrail.pii.{list}[{i}]");
            c.check(
                &key,
                PII_ENTITY_TYPES.contains(&entity.as_str()),
                entity,
                &format!("one of {}", PII_ENTITY_TYPES.join(", ")),
            )?;
            if pii.iter().any(|p: &PiiEntity| &p.entity == entity) {
                return Err(c.fail(
                    &key,
                    format!("{entity:?} is listed twice in [guardrail.pii]"),
                ));
            }
            pii.push(PiiEntity {
                entity: entity.clone(),
                action,
            });
        }
    }
    let stream_processing = match raw.stream_processing {
        file::StreamProcessing::Sync => StreamProcessing::Sync,
        file::StreamProcessing::Async => StreamProcessing::Async,
    };
    if stream_processing == StreamProcessing::Async && !raw.pii.mask.is_empty() {
        return Err(c.fail(
            "guardrail.pii.mask",
            "guardrails cannot mask streamed answers with stream_processing = \"async\"; use \"sync\" or block these instead".to_owned(),
        ));
    }

    c.range(
        "guardrail.blocked_words",
        raw.blocked_words.len() as u64,
        0,
        MAX_WORDS,
        " words",
    )?;
    for (i, word) in raw.blocked_words.iter().enumerate() {
        c.check(
            &format!("guardrail.blocked_words[{i}]"),
            !word.trim().is_empty() && word.chars().count() <= 100,
            word,
            "a word or phrase of 1 to 100 characters",
        )?;
    }

    if content_filters.is_empty()
        && raw.denied_topics.is_empty()
        && pii.is_empty()
        && !raw.profanity_filter
        && raw.blocked_words.is_empty()
    {
        return Err(c.fail(
            "guardrail",
            "configures no policy: set content_filters, denied_topics, pii, profanity_filter or blocked_words, or remove [guardrail]".to_owned(),
        ));
    }

    Ok(GuardrailSettings {
        blocked_input_message: raw.blocked_input_message,
        blocked_output_message: raw.blocked_output_message,
        stream_processing,
        content_filters,
        denied_topics: raw
            .denied_topics
            .into_iter()
            .map(|t| DeniedTopic {
                name: t.name,
                definition: t.definition,
                examples: t.examples,
            })
            .collect(),
        pii,
        profanity_filter: raw.profanity_filter,
        blocked_words: raw.blocked_words,
    })
}

fn is_topic_name(name: &str) -> bool {
    (1..=100).contains(&name.chars().count())
        && !name.trim().is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' ' | '!' | '?' | '.'))
}
