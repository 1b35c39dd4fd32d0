//! The chatbot service: one axum router that runs in Lambda and locally.

pub mod contract;
pub mod store;
