//! The library behind the `graphite` command: the sender on any runtime
//! ([`backend`]), the debug listener ([`listen`]), input parsing
//! ([`input`]), and the ring options ([`routing`]).
#![warn(missing_docs)]

pub mod backend;
pub mod input;
pub mod listen;
pub mod routing;
