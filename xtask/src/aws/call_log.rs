//! `CHATBOT_AWS_CALL_LOG=FILE`: every AWS operation a task calls, one `Service:Operation` line
//! each (`CloudFormation:CreateChangeSet`), appended to FILE. What a deploy role needs is read
//! off it; the deploy rehearsal checks it against `docs/deploy-role-policy.json`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The environment variable naming the log file.
pub const VARIABLE: &str = "CHATBOT_AWS_CALL_LOG";

#[derive(Debug, Clone)]
pub struct CallLog {
    file: Arc<Mutex<File>>,
}

impl CallLog {
    /// The log named by [`VARIABLE`], when it is set and the file opens.
    pub fn from_env() -> Option<CallLog> {
        let path = std::env::var_os(VARIABLE).filter(|p| !p.is_empty())?;
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => Some(CallLog {
                file: Arc::new(Mutex::new(file)),
            }),
            Err(err) => {
                eprintln!(
                    "warning: {VARIABLE}: cannot open {}: {err}; AWS calls are not logged",
                    std::path::Path::new(&path).display()
                );
                None
            }
        }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    // Not `read_before_execution`: a client's interceptors see that before the operation's
    // own settings (its name among them) are in the config bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            // One write per line, so concurrent calls and processes never interleave.
            let line = format!("{}:{}\n", metadata.service(), metadata.name());
            file.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}
