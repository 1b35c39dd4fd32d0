//! What is wrong with the service's environment variables: the variable, and why.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the environment variable {0} is not set")]
    Missing(&'static str),
    #[error("the environment variable {name} is malformed: {reason}")]
    Malformed { name: &'static str, reason: String },
}
