//! Datapoints encoded before they reach the sender: a caller that shares
//! one [`Sender`](super::Sender) behind a lock formats a slice (or one
//! datapoint) outside the lock ([`ChunkEncoder`]) and holds the lock only
//! to hand the result over
//! ([`Sender::push_chunk_or_drop`](super::Sender::push_chunk_or_drop),
//! [`Sender::push_encoded_or_drop_reading`](super::Sender::push_encoded_or_drop_reading),
//! [`Sender::push_reserved`](super::Sender::push_reserved)), so the I/O
//! side and the other callers are not kept waiting while numbers are
//! formatted.

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

/// One datapoint in wire form, or the reason it could not be encoded:
/// what [`ChunkEncoder::encode_one`] makes outside the sender's lock, to be
/// handed over with
/// [`Sender::push_encoded_or_drop_reading`](super::Sender::push_encoded_or_drop_reading)
/// or gathered into a [`Chunk`] with [`Chunk::push_encoded`]. Reuse one
/// for every datapoint: its memory is kept.
///
/// ```
/// use std::time::Instant;
/// use graphite_proto::sender::{Encoded, Sender, SenderConfig};
/// use graphite_proto::{Datapoint, MetricPath, Protocol};
///
/// let mut sender = Sender::new(Instant::now(), SenderConfig::new(Protocol::Plaintext))?;
/// let encoder = sender.chunk_encoder();
/// let mut encoded = Encoded::default();
/// let dp = Datapoint::new(MetricPath::new("app.requests")?, 1, 1_700_000_000);
/// encoder.encode_one(&dp, &mut encoded); // no lock needed for this part
/// assert_eq!(encoded.wire_len(), Some(b"app.requests 1 1700000000\n".len()));
/// sender.push_encoded_or_drop_reading(&Instant::now, &encoded)?;
/// assert_eq!(sender.stats().accepted, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Encoded {
    bytes: BytesMut,
    /// Why the datapoint has no bytes, if it has none.
    invalid: Option<PushError>,
}

impl Encoded {
    /// Its length in wire form; `None` if it could not be encoded.
    pub fn wire_len(&self) -> Option<usize> {
        self.invalid.is_none().then_some(self.bytes.len())
    }

    /// The datapoint's bytes, or why it has none.
    pub(crate) fn item(&self) -> Result<&[u8], &PushError> {
        match &self.invalid {
            Some(reason) => Err(reason),
            None => Ok(&self.bytes),
        }
    }
}

impl ChunkEncoder {
    pub(crate) fn new(protocol: Protocol, naming: Naming) -> Self {
        Self { protocol, naming }
    }

    /// Replaces `chunk`'s contents with `batch`, encoded.
    pub fn encode(&self, batch: &[Datapoint], chunk: &mut Chunk) {
        chunk.clear();
        let mut scratch = LineScratch::default();
        for dp in batch {
            if let Err(e) = self.encode_named(dp, &mut scratch, &mut chunk.bytes) {
                chunk.invalid.push((chunk.ends.len(), e));
            }
            chunk.ends.push(chunk.bytes.len());
        }
    }

    /// Replaces `encoded`'s contents with `dp`, encoded: one datapoint,
    /// where [`encode`](Self::encode) takes a slice.
    pub fn encode_one(&self, dp: &Datapoint, encoded: &mut Encoded) {
        encoded.bytes.clear();
        let mut scratch = LineScratch::default();
        encoded.invalid = self
            .encode_named(dp, &mut scratch, &mut encoded.bytes)
            .err();
    }

    /// Writes `dp` to `out` under the configured naming; a name that the
    /// naming makes invalid writes nothing.
    fn encode_named(
        &self,
        dp: &Datapoint,
        scratch: &mut LineScratch,
        out: &mut BytesMut,
    ) -> Result<(), PushError> {
        if self.naming.is_empty() {
            self.encode_wire(dp, scratch, out);
        } else {
            let path = self.naming.apply(&dp.path)?;
            let named = Datapoint { path, ..dp.clone() };
            self.encode_wire(&named, scratch, out);
        }
        Ok(())
    }

    fn encode_wire(&self, dp: &Datapoint, scratch: &mut LineScratch, out: &mut BytesMut) {
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

    /// Bytes of every encoded datapoint.
    pub fn bytes_len(&self) -> usize {
        self.bytes.len()
    }

    /// Adds a datapoint encoded on its own (by the same sender's encoder)
    /// at the end; one that could not be encoded is added as such, and
    /// refused when the chunk is handed over.
    pub fn push_encoded(&mut self, encoded: &Encoded) {
        match encoded.item() {
            Ok(bytes) => self.bytes.extend_from_slice(bytes),
            Err(reason) => self.invalid.push((self.ends.len(), reason.clone())),
        }
        self.ends.push(self.bytes.len());
    }

    /// Empties the chunk, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.invalid.clear();
    }

    /// Gives back memory beyond about `bytes` (a large slice's).
    pub fn shrink_to(&mut self, bytes: usize) {
        if self.bytes.capacity() > bytes {
            self.bytes = BytesMut::new();
            self.ends.clear();
            self.ends.shrink_to(bytes / 32);
        }
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
    use crate::sender::{Output, OverflowPolicy, PushCursor, Sender, SenderConfig};

    /// What a sender wrote, in order, and what it answered, with the
    /// counters at the end, when each of `slices` is handed over by
    /// `hand_over` (which returns its answers, printed). Time moves 300 ms a
    /// slice, some of what is ready is written after each, and the sender
    /// closes before the last two.
    fn run(
        config: &SenderConfig,
        slices: &[Vec<Datapoint>],
        mut hand_over: impl FnMut(&mut Sender, &ChunkEncoder, Instant, &[Datapoint]) -> String,
    ) -> (Vec<u8>, String) {
        let start = Instant::now();
        let mut sender = Sender::new(start, config.clone()).expect("valid config");
        assert_eq!(sender.poll_output(start), Some(Output::Connect));
        sender.on_connected(start);
        let encoder = sender.chunk_encoder();
        let mut wire = Vec::new();
        let mut results = Vec::new();
        for (i, slice) in slices.iter().enumerate() {
            let now = start + Duration::from_millis(300 * i as u64);
            sender.handle_timeout(now);
            if i == slices.len() - 2 {
                sender.close(now + Duration::from_secs(1));
            }
            results.push(hand_over(&mut sender, &encoder, now, slice));
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

    /// [`run`], each slice in one `push_many_or_drop`, or (`chunked`)
    /// encoded first and handed over with `push_chunk_or_drop`.
    fn run_slices(
        config: &SenderConfig,
        slices: &[Vec<Datapoint>],
        chunked: bool,
    ) -> (Vec<u8>, String) {
        let mut chunk = Chunk::default();
        run(config, slices, |sender, encoder, now, slice| {
            let result = if chunked {
                encoder.encode(slice, &mut chunk);
                sender.push_chunk_or_drop(now, &mut chunk)
            } else {
                sender.push_many_or_drop(now, slice)
            };
            format!("{result:?}")
        })
    }

    /// [`run`], one `push_or_drop_reading` a datapoint, or (`encoded`) each
    /// encoded first and handed over with `push_encoded_or_drop_reading`.
    fn run_one_by_one(
        config: &SenderConfig,
        slices: &[Vec<Datapoint>],
        encoded: bool,
    ) -> (Vec<u8>, String) {
        let mut one = Encoded::default();
        run(config, slices, |sender, encoder, now, slice| {
            let results: Vec<_> = slice
                .iter()
                .map(|dp| {
                    if encoded {
                        encoder.encode_one(dp, &mut one);
                        sender.push_encoded_or_drop_reading(&|| now, &one)
                    } else {
                        sender.push_or_drop_reading(&|| now, dp)
                    }
                })
                .collect();
            format!("{results:?}")
        })
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

    /// [`run`], each slice pushed until the buffer is full, then one batch
    /// written, and so on (what a caller that waits for room does), giving
    /// up on the rest when nothing can be written; or (`chunked`) the same
    /// with the slice encoded first. Returns what was written meanwhile
    /// too.
    fn run_waiting(
        config: &SenderConfig,
        slices: &[Vec<Datapoint>],
        chunked: bool,
    ) -> (Vec<u8>, String, Vec<u8>) {
        let mut chunk = Chunk::default();
        let mut written = Vec::new();
        let (wire, answers) = run(config, slices, |sender, encoder, now, slice| {
            encoder.encode(slice, &mut chunk);
            let mut cursor = PushCursor::new(slice);
            loop {
                if chunked {
                    sender.push_chunk_until_full(now, &mut chunk, &mut cursor);
                } else {
                    sender.push_until_full(now, &mut cursor);
                }
                if cursor.is_done() {
                    break;
                }
                match sender.poll_output(now) {
                    Some(Output::Transmit(bytes)) => {
                        written.extend_from_slice(&bytes);
                        sender.on_written(now, bytes.len());
                    }
                    Some(_) => {}
                    None if chunked => {
                        sender.push_chunk_rest_or_drop(now, &chunk, &mut cursor);
                    }
                    None => {
                        sender.push_rest_or_drop(now, &mut cursor);
                    }
                }
            }
            format!("{:?}", cursor.finish())
        });
        (wire, answers, written)
    }

    #[test]
    fn a_chunk_waiting_for_room_is_taken_exactly_as_its_slice() {
        let slices = mixed_slices();
        for (config, label) in small_configs() {
            let direct = run_waiting(&config, &slices, false);
            let chunked = run_waiting(&config, &slices, true);
            if matches!(config.overflow, OverflowPolicy::Wait(_)) {
                assert!(!direct.2.is_empty(), "room was waited for: {label}");
            }
            if config.protocol == Protocol::Plaintext {
                // Adopted chunks make other batches (see the test above).
                let everything = everything_sent(&config, &slices);
                for (wire, _, written) in [&direct, &chunked] {
                    assert!(is_subsequence(wire, &everything), "{label}");
                    assert!(is_subsequence(written, &everything), "{label}");
                }
                continue;
            }
            assert_eq!(direct, chunked, "{label}");
        }
    }

    #[test]
    fn an_encoded_datapoint_is_taken_exactly_as_push_takes_it() {
        let slices = mixed_slices();
        for (config, label) in small_configs() {
            let direct = run_one_by_one(&config, &slices, false);
            let encoded = run_one_by_one(&config, &slices, true);
            assert!(direct.1.contains("Err(Closed)"), "refusals met");
            assert_eq!(direct, encoded, "{label}");
        }
    }

    /// Small buffers and batches (so that pushes overflow) under every
    /// protocol, overflow policy, naming and replay setting, each with a
    /// label.
    fn small_configs() -> Vec<(SenderConfig, String)> {
        let mut configs = Vec::new();
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
                    let label = format!("{protocol} {overflow:?} {prefix:?} replay {replay}");
                    configs.push((config, label));
                }
            }
        }
        configs
    }

    /// Datapoints of every kind the encoders meet: short and long names,
    /// integers and floats, some too long for a 4 KiB batch or (with a
    /// prefix) for a name.
    fn mixed_slices() -> Vec<Vec<Datapoint>> {
        let short = MetricPath::new("servers.host1.cpu").expect("valid");
        let node = "a".repeat(199);
        let mut name = vec![node.as_str(); (MAX_PATH_LEN - 2) / 200].join(".");
        name.push_str(&".b".repeat((MAX_PATH_LEN - 2 - name.len()) / 2));
        let long = MetricPath::new(&name).expect("valid");
        (0..40_usize)
            .map(|i| {
                (0..(i * 37) % 300)
                    .map(|j| {
                        let path = if (i + j) % 97 == 0 { &long } else { &short };
                        if j % 5 == 0 {
                            let value = crate::Value::float((i * j) as f64 / 7.0).expect("finite");
                            Datapoint::new(path.clone(), value, j as i64)
                        } else {
                            Datapoint::new(path.clone(), (i * j) as i64, j as i64)
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_chunk_is_taken_exactly_as_push_many_takes_its_slice() {
        let slices = mixed_slices();
        for (config, label) in small_configs() {
            let one_by_one = run_slices(&config, &slices, false);
            let chunked = run_slices(&config, &slices, true);
            if config.protocol == Protocol::Plaintext {
                // A plaintext chunk that the open batch cannot take whole
                // seals it early (and becomes a batch of its own), so the
                // batches differ; with writes taken a batch at a time, as
                // here, so does the room at each push, and with it which
                // datapoints a full buffer drops or evicts. What must hold:
                // what goes out is what was pushed, in order, whole lines,
                // nothing twice.
                let everything = everything_sent(&config, &slices);
                for (wire, _) in [&one_by_one, &chunked] {
                    assert!(is_subsequence(wire, &everything), "{label}");
                }
                continue;
            }
            assert_eq!(one_by_one, chunked, "{label}");
        }
    }
}
