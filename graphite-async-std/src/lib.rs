//! graphite-rs adapter for async-std (in progress: see the workspace README).

pub use graphite_proto as proto;
