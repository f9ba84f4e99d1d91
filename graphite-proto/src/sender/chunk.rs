//! Datapoints encoded before they reach the sender: a caller that shares
//! one [`Sender`](super::Sender) behind a lock formats a slice outside the
//! lock ([`ChunkEncoder`]) and holds the lock only to hand the result over
//! ([`Sender::push_chunk_or_drop`](super::Sender::push_chunk_or_drop)),
//! so the I/O side is not kept waiting while numbers are formatted.

use bytes::BytesMut;

use crate::datapoint::Datapoint;
use crate::naming::Naming;
use crate::pickle::encode::write_item;
use crate::plaintext::LineScratch;
use crate::protocol::Protocol;

use super::PushError;

/// Encodes slices of datapoints into [`Chunk`]s exactly as the sender it
/// came from would encode them on `push`: its protocol, its
/// [`naming`](super::SenderConfig::naming). It holds no state of the
/// sender's, so it can be used on any thread without the sender.
///
/// ```
/// use std::time::Instant;
/// use graphite_proto::sender::{Chunk, Sender, SenderConfig};
/// use graphite_proto::{Datapoint, MetricPath, Protocol};
///
/// let mut sender = Sender::new(Instant::now(), SenderConfig::new(Protocol::Plaintext))?;
/// let encoder = sender.chunk_encoder();
/// let path = MetricPath::new("app.requests")?;
/// let batch: Vec<Datapoint> = (0..100).map(|t| Datapoint::new(path.clone(), 1, t)).collect();
/// let mut chunk = Chunk::default();
/// encoder.encode(&batch, &mut chunk); // no lock needed for this part
/// sender.push_chunk_or_drop(Instant::now(), &mut chunk)?;
/// assert_eq!(sender.stats().accepted, 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ChunkEncoder {
    protocol: Protocol,
    naming: Naming,
}

/// Datapoints in wire form, one item per datapoint of the slice they came
/// from, or the reason one could not be encoded. Reuse one chunk for every
/// slice: its memory is kept.
#[derive(Debug, Default)]
pub struct Chunk {
    bytes: BytesMut,
    /// Where each datapoint's bytes end (they start where the previous
    /// one's end); a datapoint that could not be encoded has none.
    ends: Vec<usize>,
    /// The datapoints that could not be encoded, by index, in order.
    invalid: Vec<(usize, PushError)>,
}

impl ChunkEncoder {
    pub(crate) fn new(protocol: Protocol, naming: Naming) -> Self {
        Self { protocol, naming }
    }

    /// Replaces `chunk`'s contents with `batch`, encoded.
    pub fn encode(&self, batch: &[Datapoint], chunk: &mut Chunk) {
        chunk.bytes.clear();
        chunk.ends.clear();
        chunk.invalid.clear();
        let mut scratch = LineScratch::default();
        for dp in batch {
            if self.naming.is_empty() {
                self.encode_one(dp, &mut scratch, &mut chunk.bytes);
            } else {
                match self.naming.apply(&dp.path) {
                    Ok(path) => {
                        let named = Datapoint { path, ..dp.clone() };
                        self.encode_one(&named, &mut scratch, &mut chunk.bytes);
                    }
                    Err(e) => chunk.invalid.push((chunk.ends.len(), e.into())),
                }
            }
            chunk.ends.push(chunk.bytes.len());
        }
    }

    fn encode_one(&self, dp: &Datapoint, scratch: &mut LineScratch, out: &mut BytesMut) {
        match self.protocol {
            Protocol::Pickle => write_item(dp, out),
            _ => scratch.line(dp).write(out),
        }
    }
}

impl Chunk {
    /// Datapoints in the chunk (encoded or not).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the chunk holds no datapoint.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Gives back memory beyond about `bytes` (a large slice's).
    pub fn shrink_to(&mut self, bytes: usize) {
        if self.bytes.capacity() > bytes {
            self.bytes = BytesMut::new();
            self.ends.clear();
            self.ends.shrink_to(bytes / 32);
        }
    }

    /// Bytes of every encoded datapoint.
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Takes the encoded bytes (the chunk then holds no datapoint; give it
    /// memory back with [`give_bytes`](Self::give_bytes)).
    pub(crate) fn take_bytes(&mut self) -> BytesMut {
        self.ends.clear();
        std::mem::take(&mut self.bytes)
    }

    /// Memory for the next slice, emptied.
    pub(crate) fn give_bytes(&mut self, mut bytes: BytesMut) {
        bytes.clear();
        self.bytes = bytes;
    }

    /// Whether every datapoint was encoded.
    pub(crate) fn all_encoded(&self) -> bool {
        self.invalid.is_empty()
    }

    /// Where datapoint `index`'s bytes start.
    pub(crate) fn start(&self, index: usize) -> usize {
        index.checked_sub(1).map_or(0, |i| self.ends[i])
    }

    /// Datapoint `index`: its bytes, or why it has none.
    pub(crate) fn item(&self, index: usize) -> Result<&[u8], &PushError> {
        match self.invalid.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => Err(&self.invalid[at].1),
            Err(_) => Ok(&self.bytes[self.start(index)..self.ends[index]]),
        }
    }

    /// How many datapoints from `index` on take at most `room` bytes in
    /// all, and those bytes (every one encoded: see
    /// [`all_encoded`](Self::all_encoded)).
    pub(crate) fn run(&self, index: usize, room: usize) -> (usize, &[u8]) {
        let start = self.start(index);
        let count = self.ends[index..].partition_point(|&end| end - start <= room);
        let end = if count == 0 {
            start
        } else {
            self.ends[index + count - 1]
        };
        (count, &self.bytes[start..end])
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::path::{MAX_PATH_LEN, MetricPath};
    use crate::sender::{Output, OverflowPolicy, Sender, SenderConfig};

    /// What a sender wrote, in order, with the counters at the end.
    fn run(config: &SenderConfig, slices: &[Vec<Datapoint>], chunked: bool) -> (Vec<u8>, String) {
        let now = Instant::now();
        let mut sender = Sender::new(now, config.clone()).expect("valid config");
        assert_eq!(sender.poll_output(now), Some(Output::Connect));
        sender.on_connected(now);
        let encoder = sender.chunk_encoder();
        let mut chunk = Chunk::default();
        let mut wire = Vec::new();
        let mut results = Vec::new();
        for (i, slice) in slices.iter().enumerate() {
            if i == slices.len() - 2 {
                sender.close(now + Duration::from_secs(1));
            }
            let result = if chunked {
                encoder.encode(slice, &mut chunk);
                sender.push_chunk_or_drop(now, &mut chunk)
            } else {
                sender.push_many_or_drop(now, slice)
            };
            results.push(result);
            // Write out some of what is ready, now and then.
            let mut writes = i % 3;
            while writes > 0
                && let Some(output) = sender.poll_output(now)
            {
                if let Output::Transmit(bytes) = output {
                    wire.extend_from_slice(&bytes);
                    sender.on_written(now, bytes.len());
                    writes -= 1;
                }
            }
        }
        let stats = sender.stats();
        assert!(stats.is_consistent(), "{stats:?}");
        (wire, format!("{results:?} {stats:?}"))
    }

    /// What a sender with room for everything writes of `slices`, closed
    /// where [`run`] closes.
    fn everything_sent(config: &SenderConfig, slices: &[Vec<Datapoint>]) -> Vec<u8> {
        let now = Instant::now();
        let config = config.clone().with_buffer_capacity(16 << 20);
        let mut sender = Sender::new(now, config).expect("valid config");
        assert_eq!(sender.poll_output(now), Some(Output::Connect));
        sender.on_connected(now);
        for slice in &slices[..slices.len() - 2] {
            let _ = sender.push_many_or_drop(now, slice);
        }
        sender.close(now + Duration::from_secs(1));
        let mut wire = Vec::new();
        while let Some(output) = sender.poll_output(now) {
            if let Output::Transmit(bytes) = output {
                wire.extend_from_slice(&bytes);
                sender.on_written(now, bytes.len());
            }
        }
        wire
    }

    /// Whether the lines of `part` appear in `whole` in the same order.
    fn is_subsequence(part: &[u8], whole: &[u8]) -> bool {
        let mut whole = whole.split(|&b| b == b'\n');
        part.split(|&b| b == b'\n')
            .all(|line| whole.any(|candidate| candidate == line))
    }

    #[test]
    fn a_chunk_is_taken_exactly_as_push_many_takes_its_slice() {
        let short = MetricPath::new("servers.host1.cpu").expect("valid");
        // Too long for a 4 KiB batch; with a prefix, too long for a name.
        let node = "a".repeat(199);
        let mut name = vec![node.as_str(); (MAX_PATH_LEN - 2) / 200].join(".");
        name.push_str(&".b".repeat((MAX_PATH_LEN - 2 - name.len()) / 2));
        let long = MetricPath::new(&name).expect("valid");
        let slices: Vec<Vec<Datapoint>> = (0..40_usize)
            .map(|i| {
                (0..(i * 37) % 300)
                    .map(|j| {
                        let path = if (i + j) % 97 == 0 { &long } else { &short };
                        Datapoint::new(path.clone(), (i * j) as i64, j as i64)
                    })
                    .collect()
            })
            .collect();
        for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
            for overflow in [
                OverflowPolicy::DropNewest,
                OverflowPolicy::DropOldest,
                OverflowPolicy::Wait(Duration::from_secs(1)),
            ] {
                for (prefix, replay) in [(None, true), (Some("pp"), true), (None, false)] {
                    let mut config = SenderConfig::new(protocol)
                        .with_buffer_capacity(16 << 10)
                        .with_batch_size(4 << 10)
                        .with_overflow(overflow);
                    if !replay {
                        config = config.with_replay(None);
                    }
                    if let Some(prefix) = prefix {
                        config = config.with_prefix(prefix).expect("valid prefix");
                    }
                    let one_by_one = run(&config, &slices, false);
                    let chunked = run(&config, &slices, true);
                    if overflow == OverflowPolicy::DropOldest && protocol == Protocol::Plaintext {
                        // A chunk that the open batch cannot take whole seals
                        // it early, and eviction takes whole batches: which
                        // datapoints are evicted may differ. What must hold:
                        // what goes out is what was pushed, in order, whole
                        // lines, nothing twice.
                        let everything = everything_sent(&config, &slices);
                        for (wire, _) in [&one_by_one, &chunked] {
                            assert!(
                                is_subsequence(wire, &everything),
                                "{protocol} {overflow:?} {prefix:?}"
                            );
                        }
                        continue;
                    }
                    assert_eq!(one_by_one, chunked, "{protocol} {overflow:?} {prefix:?}");
                }
            }
        }
    }
}
