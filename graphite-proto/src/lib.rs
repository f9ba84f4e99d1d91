//! The sans-IO core of graphite-rs: everything about talking to Graphite's
//! carbon except the sockets.
//!
//! ```
//! use graphite_proto::{plaintext, Datapoint, MetricPath};
//!
//! let dp = Datapoint::new(MetricPath::new("servers.web1.requests")?, 1234, 1_700_000_000);
//! let mut wire = Vec::new();
//! plaintext::encode(&dp, &mut wire)?;
//! assert_eq!(wire, b"servers.web1.requests 1234 1700000000\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This crate opens no socket, starts no task and reads no clock: time is
//! passed in, bytes come out into buffers you own. The runtime crates
//! (`graphite-tokio`, `graphite-async-std`, `graphite-blocking`) move those
//! bytes; anyone can do the same over another transport.
//!
//! # What is here
//!
//! - **Names.** [`MetricPath`] is a name carbon will store as exactly one
//!   series: plain (`a.b.c`) or a Graphite 1.1 tagged series
//!   (`cpu;host=a`), kept in carbon's canonical tag order. Invalid names get
//!   a [`NameError`] saying which byte at which offset, so one metric can
//!   never inject another.
//! - **Values.** [`Value`] holds exact integers or finite floats; NaN and
//!   infinities are refused with a [`ValueError`] instead of being dropped by
//!   carbon without a word.
//! - **aiographite's name encoder**, byte for byte:
//!   [`encode_metric_part`], [`decode_metric_part`],
//!   [`clean_and_join_metric_parts`]; and a readable, lossy alternative,
//!   [`sanitize_metric_part`].
//! - **Wire formats**, each with an encoder into [`bytes::BufMut`] and a
//!   decoder: [`plaintext`] lines, [`pickle`] frames (split under carbon's
//!   1 MiB limit), [`udp`] datagrams (whole lines only).
//! - **Hash rings** ([`ring`]): which of several carbons a metric belongs
//!   on, exactly as carbon's `carbon-relay` or carbon-c-relay 3.7.3 decide.
//!
//! # Encoding a batch
//!
//! ```
//! use graphite_proto::{pickle::PickleEncoder, udp::DatagramPacker, Datapoint, MetricPath, Value};
//!
//! let cpu = MetricPath::new("servers.web1.cpu")?; // validate once, reuse
//! let batch: Vec<Datapoint> = (0..1000)
//!     .map(|i| Datapoint::new(cpu.clone(), Value::try_from(i as f64 / 10.0).unwrap(), 1_700_000_000 + i))
//!     .collect();
//!
//! let mut frames = Vec::new();
//! PickleEncoder::new().encode_batch(&batch, &mut frames)?;
//!
//! let mut packer = DatagramPacker::new();
//! let mut datagrams = Vec::new();
//! for dp in &batch {
//!     datagrams.extend(packer.push(dp)?);
//! }
//! datagrams.extend(packer.finish());
//! assert!(datagrams.iter().all(|d| d.len() <= 1432));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;
mod buffer;
pub mod client;
mod convert;
mod datapoint;
mod name_codec;
mod naming;
mod path;
pub mod pickle;
pub mod plaintext;
mod protocol;
mod punycode;
pub mod ring;
pub mod router;
mod sanitize;
pub mod sender;
mod tags;
pub mod udp;
mod value;

pub use address::{Address, AddressError};
pub use buffer::InsufficientSize;
pub use convert::{IntoItem, IntoMetricPath, IntoValue};
pub use datapoint::Datapoint;
pub use name_codec::{
    DecodeError, clean_and_join_metric_parts, decode_metric_part, encode_metric_part,
};
pub use naming::Naming;
pub use path::{MAX_LINE_LEN, MAX_NODE_LEN, MAX_PATH_LEN, MetricPath, NameError};
pub use protocol::{ParseProtocolError, Protocol};
pub use punycode::PunycodeError;
pub use sanitize::{sanitize_and_join_metric_parts, sanitize_metric_part};
pub use tags::TagError;
pub use value::{MAX_VALUE_TEXT_LEN, Value, ValueError, ValueFormatter};
