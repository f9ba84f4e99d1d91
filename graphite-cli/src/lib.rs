//! The library behind the `graphite` command: the runtimes behind one face
//! ([`runtime`]), the debug listener ([`listen`]), stdin parsing
//! ([`input`]), and the ring options ([`routing`]). The workspace tests use [`runtime`] to run one behaviour
//! suite against every adapter.
#![warn(missing_docs)]

pub mod input;
pub mod listen;
pub mod routing;
pub mod runtime;
