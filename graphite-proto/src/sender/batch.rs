//! Building batches: the unit the sender writes, replays and drops.
//!
//! A batch is whole datapoints in wire form: plaintext lines, one complete
//! pickle frame, or one UDP datagram. Batches are encoded once, on `push`,
//! and then only moved around as shared `Bytes`.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::datapoint::Datapoint;
use crate::pickle::PickleEncoder;
use crate::pickle::encode::{FRAME_LEN_WITHOUT_ITEMS, write_header, write_item, write_trailer};
use crate::plaintext::{Line, LineScratch};
use crate::protocol::Protocol;

/// One datapoint in the form the batch takes it.
pub(crate) enum Item<'a> {
    /// A formatted plaintext line (plaintext and UDP).
    Line(Line<'a>),
    /// A datapoint for a pickle frame (its length is arithmetic).
    Pickle(&'a Datapoint),
    /// A datapoint already in wire form (a pickle item or a line), from a
    /// [`Chunk`](super::Chunk).
    Encoded(&'a [u8]),
}

impl Item<'_> {
    /// Bytes it adds to a batch.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Line(line) => line.len(),
            Self::Pickle(dp) => PickleEncoder::item_len(dp),
            Self::Encoded(bytes) => bytes.len(),
        }
    }
}

/// A sealed batch.
#[derive(Clone, Debug)]
pub(crate) struct Batch {
    pub(crate) bytes: Bytes,
    pub(crate) datapoints: u64,
    /// A copy re-sent from the replay window (already counted as written).
    pub(crate) replay: bool,
    /// The spool record this batch was read from: removed from disk once
    /// the batch is written whole.
    pub(crate) spooled: Option<u64>,
    /// When it was first written, on the connected clock: a replay copy
    /// keeps it, so replaying does not extend its stay in the window.
    pub(crate) first_written: Option<Duration>,
}

/// One datapoint cannot fit in a batch of the configured size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TooLarge {
    pub(crate) len: usize,
}

/// The batch being filled.
#[derive(Debug)]
pub(crate) struct BatchBuilder {
    protocol: Protocol,
    /// Largest sealed batch, in bytes (pickle framing included).
    max_len: usize,
    buf: BytesMut,
    datapoints: u64,
    first_at: Option<Instant>,
    /// Emptied buffers of written batches, reused to avoid allocating.
    free: Vec<BytesMut>,
}

/// Buffers kept for reuse (1 MiB at the default batch size): enough that
/// a steady stream with replay on takes its buffers back from the expiring
/// replay window instead of allocating; more would only hold memory.
const FREE_BUFFERS: usize = 16;

impl BatchBuilder {
    pub(crate) fn new(protocol: Protocol, max_len: usize) -> Self {
        Self {
            protocol,
            max_len,
            buf: BytesMut::new(),
            datapoints: 0,
            first_at: None,
            free: Vec::new(),
        }
    }

    /// `dp` ready to be added: formatted once, its length known.
    pub(crate) fn item<'a>(&self, dp: &'a Datapoint, scratch: &'a mut LineScratch) -> Item<'a> {
        match self.protocol {
            Protocol::Pickle => Item::Pickle(dp),
            _ => Item::Line(scratch.line(dp)),
        }
    }

    /// Framing bytes a batch has besides its items.
    pub(crate) fn overhead(&self) -> usize {
        match self.protocol {
            Protocol::Pickle => FRAME_LEN_WITHOUT_ITEMS,
            _ => 0,
        }
    }

    /// Whether one datapoint of `item_len` bytes can ever fit.
    pub(crate) fn check_fits(&self, item_len: usize) -> Result<(), TooLarge> {
        let len = item_len + self.overhead();
        if len > self.max_len {
            Err(TooLarge { len })
        } else {
            Ok(())
        }
    }

    /// Adds `item` (already checked with [`check_fits`](Self::check_fits)).
    /// Returns the previous batch, sealed, when `item` did not fit in it.
    pub(crate) fn push(&mut self, item: &Item<'_>, now: Instant) -> Option<Batch> {
        let sealed = if self.datapoints > 0
            && self.buf.len() + item.len() + self.trailer_len() > self.max_len
        {
            self.seal()
        } else {
            None
        };
        if self.datapoints == 0 {
            if self.buf.capacity() < self.max_len {
                self.buf = self
                    .free
                    .pop()
                    .unwrap_or_else(|| BytesMut::with_capacity(self.max_len));
            }
            if self.protocol == Protocol::Pickle {
                write_header(0, &mut self.buf);
            }
            self.first_at = Some(now);
        }
        match item {
            Item::Pickle(dp) => write_item(dp, &mut self.buf),
            Item::Line(line) => line.write(&mut self.buf),
            Item::Encoded(bytes) => self.buf.extend_from_slice(bytes),
        }
        self.datapoints += 1;
        sealed
    }

    /// Whether an item of `item_len` bytes joins the open batch (which
    /// holds at least one datapoint) without sealing it.
    #[inline]
    pub(crate) fn joins_open(&self, item_len: usize) -> bool {
        self.datapoints > 0 && self.buf.len() + item_len + self.trailer_len() <= self.max_len
    }

    /// Adds `item` to the open batch; [`joins_open`](Self::joins_open)
    /// said it does.
    #[inline]
    pub(crate) fn append(&mut self, item: &Item<'_>) {
        debug_assert!(self.joins_open(item.len()));
        match item {
            Item::Pickle(dp) => write_item(dp, &mut self.buf),
            Item::Line(line) => line.write(&mut self.buf),
            Item::Encoded(bytes) => self.buf.extend_from_slice(bytes),
        }
        self.datapoints += 1;
    }

    /// Makes `items`, `count` encoded plaintext lines that fit in one
    /// batch, the open batch (none is open), without copying them; returns
    /// memory for the caller's next lines: an emptied buffer of the pool's,
    /// or a new one.
    pub(crate) fn adopt(&mut self, items: BytesMut, count: u64, now: Instant) -> BytesMut {
        debug_assert_eq!(self.datapoints, 0);
        debug_assert_eq!(self.protocol, Protocol::Plaintext);
        debug_assert!(items.len() <= self.max_len);
        self.buf = items;
        self.datapoints = count;
        self.first_at = Some(now);
        self.free
            .pop()
            .unwrap_or_else(|| BytesMut::with_capacity(self.max_len))
    }

    /// Bytes of items the open batch can still take without sealing;
    /// none while no batch is open (the next item starts one).
    pub(crate) fn room_in_open(&self) -> usize {
        if self.datapoints == 0 {
            return 0;
        }
        self.max_len
            .saturating_sub(self.buf.len() + self.trailer_len())
    }

    /// Adds `count` encoded items at once to the open batch, which has
    /// [`room_in_open`](Self::room_in_open) for them.
    pub(crate) fn append_run(&mut self, items: &[u8], count: u64) {
        debug_assert!(items.len() <= self.room_in_open());
        self.buf.extend_from_slice(items);
        self.datapoints += count;
    }

    fn trailer_len(&self) -> usize {
        match self.protocol {
            Protocol::Pickle => 2,
            _ => 0,
        }
    }

    /// Seals the batch being filled, if it holds anything.
    pub(crate) fn seal(&mut self) -> Option<Batch> {
        if self.datapoints == 0 {
            return None;
        }
        if self.protocol == Protocol::Pickle {
            write_trailer(&mut self.buf);
            let payload = (self.buf.len() - 4) as u32;
            self.buf[..4].copy_from_slice(&payload.to_be_bytes());
        }
        let batch = Batch {
            bytes: self.buf.split().freeze(),
            datapoints: self.datapoints,
            replay: false,
            spooled: None,
            first_written: None,
        };
        self.datapoints = 0;
        self.first_at = None;
        Some(batch)
    }

    /// When the open batch was started.
    pub(crate) fn first_at(&self) -> Option<Instant> {
        self.first_at
    }

    /// Bytes the open batch will have once sealed (its trailer included).
    pub(crate) fn len(&self) -> usize {
        if self.datapoints == 0 {
            0
        } else {
            self.buf.len() + self.trailer_len()
        }
    }

    /// Bytes adding an item of `item_len` bytes will take: the item, plus a
    /// new batch's framing when it cannot join the open batch.
    pub(crate) fn room_needed(&self, item_len: usize) -> usize {
        let starts_batch =
            self.datapoints == 0 || self.buf.len() + item_len + self.trailer_len() > self.max_len;
        if starts_batch {
            item_len + self.overhead()
        } else {
            item_len
        }
    }

    /// Datapoints in the open batch.
    pub(crate) fn datapoints(&self) -> u64 {
        self.datapoints
    }

    /// Drops the open batch's contents (deadline passed), returning how many
    /// datapoints it held.
    pub(crate) fn clear(&mut self) -> u64 {
        self.buf.clear();
        self.first_at = None;
        std::mem::take(&mut self.datapoints)
    }

    /// Takes back the memory of a batch nobody else holds any more.
    pub(crate) fn recycle(&mut self, bytes: Bytes) {
        if self.free.len() < FREE_BUFFERS
            && let Ok(mut buf) = bytes.try_into_mut()
        {
            buf.clear();
            if buf.capacity() >= self.max_len {
                self.free.push(buf);
            }
        }
    }
}
