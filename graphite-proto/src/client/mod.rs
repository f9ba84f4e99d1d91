//! The sans-IO half of the direct client (aiographite's API): its
//! settings ([`ClientConfig`]), its decisions ([`ClientCore`]: names,
//! encoding, when to reconnect), the writes of one batch
//! ([`WriteCursor`]) and the errors that say how much of a batch a failure
//! delivered ([`SendError`]).
//!
//! graphite-driver's `Client` runs it: [`ClientCore::batch`] checks and
//! encodes every item before anything is written and returns a
//! [`WriteCursor`]; the client writes [`WriteCursor::chunk`]s, reports each
//! write with [`WriteCursor::advance`], races the whole batch against
//! [`WriteCursor::deadline`], and turns a failure into a [`SendError`] with
//! [`WriteCursor::fail`] or [`WriteCursor::timed_out`].

mod config;
mod core;
mod cursor;
mod error;

pub use self::config::ClientConfig;
pub use self::core::ClientCore;
pub use self::cursor::{Outgoing, WriteCursor};
pub use self::error::{EncodeError, SendError};
pub use crate::convert::{IntoItem, IntoMetricPath, IntoValue};
