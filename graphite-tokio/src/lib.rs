//! graphite-rs adapter for tokio (in progress: see the workspace README).

pub use graphite_proto as proto;
