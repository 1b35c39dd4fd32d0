//! The project's tasks, one module each; `main.rs` parses flags and dispatches to them.
//! A library as well as a binary, so integration tests reach the stack model directly.

pub mod aws;
pub mod bench;
pub mod browser;
pub mod build;
pub mod capacity;
pub mod cfn;
pub mod cost;
pub mod deploy;
pub mod destroy;
pub mod dev;
pub mod diagram;
pub mod diff;
pub mod env;
pub mod fuzz;
pub mod outputs;
pub mod preflight;
pub mod reliability;
pub mod review;
pub mod rotate;
pub mod sam;
pub mod stack;
pub mod synth;
pub mod test;
pub mod tools;
pub mod walk;
