//! What every request handler shares.

use crate::config::{Config, Tuning};
use crate::{metrics, model, store};
use chatbot_contract as contract;

/// What every request handler shares: settings, the store, the model and the metrics sink.
pub struct AppState {
    pub config: Config,
    pub tuning: Tuning,
    pub store: store::Store,
    pub model: model::Model,
    pub metrics: metrics::Metrics,
}

impl AppState {
    /// Counts and logs a failed store call, whether it ends the request or is only noted
    /// (an answer that already reached the client but could not be saved).
    pub fn store_failed(&self, err: &store::StoreError) {
        self.metrics.count(contract::metrics::STORE_ERRORS);
        tracing::error!(error = %err, "store operation failed");
    }
}
