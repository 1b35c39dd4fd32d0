//! xtask's integration tests, one binary: each file below was a test binary of its own, and
//! linking one instead of ten saves most of `cargo test`'s build time for xtask. The shared
//! stand-ins (the local CloudFormation, the deploy role's policy) and the runner of the real
//! binary (`support.rs`) are modules here, not copies.

mod architecture;
mod cost;
mod deploy_faults;
mod deploy_rehearsal;
mod dev;
mod diagram;
mod drift;
mod envs;
mod fake_cloudformation;
mod preflight;
mod review;
mod role_policy;
mod sam;
mod spend_review;
mod stack;
mod support;
mod synth;
mod workflows;
