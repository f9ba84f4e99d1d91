//! graphite-rs adapter for blocking (in progress: see the workspace README).

pub use graphite_proto as proto;
