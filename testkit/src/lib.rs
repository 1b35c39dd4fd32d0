//! Local stand-ins for AWS services, for tests and benchmarks.

pub mod bedrock;
pub mod evidence;
pub mod faulty_dynamo;
pub mod issuer;
pub mod moto;
pub mod partition_meter;
pub mod runtime_api;
pub mod tls;
