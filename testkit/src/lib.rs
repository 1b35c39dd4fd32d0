//! Local stand-ins for AWS services, for tests and benchmarks.

pub mod runtime_api;
