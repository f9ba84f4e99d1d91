//! One module per subcommand; each `run` returns whether everything it was
//! given went through (the exit status), or why it could not run at all.

pub(crate) mod listen;
pub(crate) mod names;
mod parser;
mod progress;
pub(crate) mod route;
pub(crate) mod send;

/// Why a command could not run at all (printed as `graphite: ...`).
pub(crate) type Failure = Box<dyn std::error::Error>;
