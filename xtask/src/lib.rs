//! The project's tasks, one module each; `main.rs` parses flags and dispatches to them.
//! A library as well as a binary, so integration tests reach the stack model directly. Only
//! what `main.rs` and the tests use is public; the rest is `pub(crate)`, so the compiler
//! reports what nothing uses.
//!
//! No task module imports another: what two tasks share lives in a module of its own
//! (`tests/it/architecture.rs` checks it).

// The tasks: each a `run(Args)`.
pub mod bench;
pub mod build;
pub mod cost;
pub mod deploy;
pub mod destroy;
pub mod dev;
pub mod diagram;
pub mod diff;
pub mod logs;
pub mod outputs;
pub mod rotate;
pub mod smoke;
pub mod synth;
pub mod test;

// The model: environments, the template model, the chatbot's stack, SAM's expansion, the
// walk of a template's resources and references.
pub mod cfn;
pub use chatbot_envfile as env;
pub mod sam;
pub mod stack;
pub(crate) mod walk;

// The architecture diagram drawn from the stack model.
pub mod drawing;

// What people see, from plain data: reviews of changes, preflight's findings.
pub mod preflight;
pub mod review;

// What the tasks share: flags, the terminal, the bundle, changes to a stack and following them.
pub(crate) mod args;
pub mod bundle;
pub mod deployments;
pub(crate) mod digest;
pub(crate) mod follow;
pub mod hotswap;
pub(crate) mod plan;
pub(crate) mod probe;
pub(crate) mod terminal;

// I/O: AWS, and the tools the tasks install.
pub mod aws;
pub mod tools;
