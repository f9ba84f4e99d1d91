//! The library behind the `graphite` command: the sender on any runtime
//! ([`backend`]), the debug listener ([`listen`]), and input parsing
//! ([`input`]).
#![warn(missing_docs)]

pub mod backend;
pub mod input;
pub mod listen;
