//! The library behind the `graphite` command: the sender on any runtime
//! ([`backend`]), the debug listener ([`listen`]), input read a block of
//! lines at a time ([`blocks`]) and parsed ([`input`]), and the ring options
//! ([`routing`]).
#![warn(missing_docs)]

pub mod backend;
pub mod blocks;
pub mod input;
pub mod listen;
pub mod routing;
