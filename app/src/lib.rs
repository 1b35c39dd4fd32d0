//! The chatbot service: one axum router that runs in Lambda and locally.

pub use chatbot_contract as contract;
pub mod store;
