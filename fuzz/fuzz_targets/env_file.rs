//! Environment files: any text given as `envs/<name>.toml` is either a checked environment
//! whose values hold together, or an error that names the file and never panics.

#![no_main]

use chatbot_envfile::{EnvError, LOG_RETENTION_DAYS, parse};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "envs/fuzz.toml";

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match parse("fuzz", FILE, text) {
        Ok(env) => {
            assert_eq!(env.name, "fuzz");
            assert!(!env.models.is_empty());
            assert!(env.models.iter().any(|m| m.id == env.default_model));
            assert!(LOG_RETENTION_DAYS.contains(&env.log_retention_days));
            assert!(!env.system_prompt.trim().is_empty());
            assert!(
                env.stack_name
                    .starts_with(|c: char| c.is_ascii_alphabetic())
            );
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.starts_with(FILE), "{message}");
            assert!(!message.ends_with('.'), "{message}");
            let lines = text.lines().count() + 1;
            if let EnvError::Syntax {
                line: Some(line), ..
            }
            | EnvError::Key {
                line: Some(line), ..
            } = err
            {
                assert!(
                    (1..=lines).contains(&line),
                    "line {line} of {lines}: {message}"
                );
            }
        }
    }
});
