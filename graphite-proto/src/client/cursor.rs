//! One batch in wire form ([`Outgoing`]) and its writes ([`WriteCursor`]):
//! what to write next, how far it got, and how much a failure delivered.

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::protocol::Protocol;

use super::SendError;

/// One batch in wire form, with what is needed to account for a failure.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub(super) protocol: Protocol,
    pub(super) bytes: Bytes,
    /// End offset and cumulative datapoints of each frame or datagram
    /// (plaintext lines are counted from the bytes instead).
    pub(super) units: Vec<(usize, usize)>,
    pub(super) datapoints: usize,
}

impl Outgoing {
    /// Everything to write on a stream.
    pub fn stream(&self) -> &Bytes {
        &self.bytes
    }

    /// The datagrams to send, in order (UDP).
    pub fn datagrams(&self) -> impl Iterator<Item = Bytes> + '_ {
        let mut start = 0;
        self.units.iter().map(move |&(end, _)| {
            let datagram = self.bytes.slice(start..end);
            start = end;
            datagram
        })
    }

    /// Datapoints in the batch.
    pub fn len(&self) -> usize {
        self.datapoints
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.datapoints == 0
    }

    /// Datapoints whose bytes lie wholly within the first `written` bytes:
    /// whole lines for plaintext, whole frames for pickle, whole datagrams
    /// for UDP. (Carbon discards a partial frame or line.)
    pub fn delivered(&self, written: usize) -> usize {
        let written = written.min(self.bytes.len());
        match self.protocol {
            Protocol::Plaintext => self.bytes[..written]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            _ => self
                .units
                .iter()
                .take_while(|&&(end, _)| end <= written)
                .last()
                .map_or(0, |&(_, n)| n),
        }
    }
}

/// The writes of one batch: what to write next, how far it got, and the
/// error that says how much was delivered when it fails or times out.
#[derive(Clone, Debug)]
pub struct WriteCursor {
    pub(super) outgoing: Outgoing,
    /// Bytes written so far.
    pub(super) written: usize,
    /// Datagrams sent so far (UDP).
    pub(super) datagram: usize,
    pub(super) deadline: Instant,
    pub(super) timeout: Duration,
}

impl WriteCursor {
    /// The bytes to write next: the unwritten rest of the stream, or the
    /// next whole datagram. `None` once everything is written.
    #[must_use]
    pub fn chunk(&self) -> Option<Bytes> {
        match self.outgoing.protocol {
            Protocol::Udp => self.outgoing.datagrams().nth(self.datagram),
            _ => (self.written < self.outgoing.bytes.len())
                .then(|| self.outgoing.bytes.slice(self.written..)),
        }
    }

    /// `n` bytes of [`chunk`](Self::chunk) were written (a datagram is
    /// sent whole). Writing nothing on a stream is a failure.
    pub fn advance(&mut self, n: usize) -> Result<(), SendError> {
        if n == 0 {
            return Err(self.fail(io::ErrorKind::WriteZero.into()));
        }
        self.written += n;
        if self.outgoing.protocol == Protocol::Udp {
            self.datagram += 1;
        }
        Ok(())
    }

    /// When every write of the batch must be done.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long the next write may wait, or the time-out error once the
    /// deadline has passed.
    pub fn time_left(&self, now: Instant) -> Result<Duration, SendError> {
        match self.deadline.checked_duration_since(now) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(self.timed_out()),
        }
    }

    /// The error for a write that failed with `source`: a socket time-out
    /// (`WouldBlock`, `TimedOut`) is [`SendError::WriteTimeout`], anything
    /// else [`SendError::Write`]. Either says how many datapoints went whole.
    pub fn fail(&self, source: io::Error) -> SendError {
        if matches!(
            source.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return self.timed_out();
        }
        SendError::Write {
            written: self.outgoing.delivered(self.written),
            total: self.outgoing.len(),
            source,
        }
    }

    /// The error for a batch whose writes did not end by the deadline.
    pub fn timed_out(&self) -> SendError {
        SendError::WriteTimeout {
            written: self.outgoing.delivered(self.written),
            total: self.outgoing.len(),
            timeout: self.timeout,
        }
    }
}
