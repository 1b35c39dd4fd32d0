//! Local stand-ins for AWS services, for tests and benchmarks.
