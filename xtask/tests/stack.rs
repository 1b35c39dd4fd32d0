//! The chatbot stack built from each environment: fine-grained checks on what it contains.

use std::path::{Path, PathBuf};

use chatbot_contract::env_vars;
use xtask::env::{self, Environment};
use xtask::stack;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn load(name: &str) -> Environment {
    env::load(&root(), name).unwrap()
}

#[test]
fn function_environment_sets_every_variable_but_the_table() {
    for name in ["dev", "staging", "prod"] {
        let vars = stack::function_environment(&load(name));
        let expected: Vec<&str> = env_vars::ALL
            .iter()
            .copied()
            .filter(|v| *v != env_vars::TABLE_NAME)
            .collect();
        let mut names: Vec<&str> = vars.keys().copied().collect();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        names.sort();
        assert_eq!(names, expected_sorted, "{name}");
    }
}

#[test]
fn function_environment_values_come_from_the_env_file() {
    let vars = stack::function_environment(&load("dev"));
    assert_eq!(vars[env_vars::ENVIRONMENT], "dev");
    assert_eq!(
        vars[env_vars::MODELS],
        r#"[{"id":"us.anthropic.claude-haiku-4-5-20251001-v1:0","name":"Claude Haiku 4.5"},{"id":"amazon.nova-lite-v1:0","name":"Amazon Nova Lite"}]"#
    );
    assert_eq!(
        vars[env_vars::DEFAULT_MODEL],
        "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    assert_eq!(vars[env_vars::MAX_OUTPUT_TOKENS], "1024");
    assert_eq!(vars[env_vars::RATE_LIMIT], "20");
    assert_eq!(vars[env_vars::RATE_WINDOW_SECONDS], "60");
    assert_eq!(vars[env_vars::DAILY_TOKEN_BUDGET], "1000000");
    assert_eq!(vars[env_vars::HISTORY_DAYS], "7");
    assert_eq!(
        vars[env_vars::SYSTEM_PROMPT],
        "You are a helpful, concise assistant."
    );
}
