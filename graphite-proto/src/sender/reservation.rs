//! Room set aside for datapoints that a caller gathers on its own before
//! handing them over (see [`Reservation`]): how threads that share one
//! sender behind a lock push without taking that lock for each datapoint.

use std::time::Instant;

use super::{Chunk, PushCursor, Sender};

/// Room in a sender's buffer set aside by [`Sender::reserve`] for encoded
/// datapoints that the caller gathers in a [`Chunk`] of its own, without
/// the sender, and hands over with [`Sender::push_reserved`].
///
/// A sender shared by several threads behind a lock pays for that lock,
/// and for moving the sender's memory between cores, on every datapoint.
/// With a reservation each thread gathers datapoints in its own chunk and
/// takes the lock once per chunk; the sender promises to take the chunk
/// then as it would have taken each datapoint at once (no drop, no wait),
/// because it grants room only while it is not closing, a batch is open
/// (whose timer brings the driver round before the batch is due), the
/// buffer stays at most half full and all reserved room within an eighth
/// of it. Handed over at the driver's next turn, the datapoints join the
/// batch they would have joined, or the next one when other callers
/// filled that one first.
///
/// The contract: the driver hands every reservation it can reach back with
/// [`push_reserved`](Sender::push_reserved) before each
/// [`handle_timeout`](Sender::handle_timeout), and before a
/// [`flush`](Sender::flush) or [`close`](Sender::close) is asked for.
/// [`poll_timeout`](Sender::poll_timeout) brings the driver round by the
/// time the open batch is due (the batch the reserved datapoints would
/// have joined); room reserved after a turn's hand-over is due a batch
/// delay later at most. A sender does not close while room is reserved,
/// until its close deadline: then the room is forgotten, and datapoints
/// handed over later are refused as closed (counted).
///
/// ```
/// use std::time::Instant;
/// use graphite_proto::sender::{Chunk, Encoded, Sender, SenderConfig};
/// use graphite_proto::{Datapoint, MetricPath, Protocol};
///
/// let now = Instant::now();
/// let mut sender = Sender::new(now, SenderConfig::new(Protocol::Plaintext))?;
/// let path = MetricPath::new("app.requests")?;
/// // Room is reserved only while a batch is open.
/// sender.push(now, &Datapoint::new(path.clone(), 1, 1_700_000_000))?;
/// let reservation = sender.reserve(4096).expect("room");
///
/// // Without the sender (and without its lock):
/// let encoder = sender.chunk_encoder();
/// let (mut one, mut chunk) = (Encoded::default(), Chunk::default());
/// for t in 1..=10 {
///     encoder.encode_one(&Datapoint::new(path.clone(), 1, 1_700_000_000 + t), &mut one);
///     assert!(chunk.bytes_len() + one.wire_len().expect("valid") <= reservation.bytes());
///     chunk.push_encoded(&one);
/// }
///
/// sender.push_reserved(now, &mut chunk, reservation);
/// assert_eq!(sender.stats().accepted, 11);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "reserved room is held until handed back with `Sender::push_reserved`"]
pub struct Reservation {
    /// Bytes of encoded datapoints it has room for.
    bytes: usize,
    /// Bytes the sender set aside: those, and a new batch's framing.
    held: usize,
}

impl Reservation {
    /// Bytes of encoded datapoints it has room for: the chunk handed over
    /// with it must be no larger.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Reserved room, even unused, is room other pushes cannot take until it
/// is handed back (at the driver's next turn at the latest): all of it
/// together stays within this fraction of the buffer.
const MAX_RESERVED: usize = 8;

impl Sender {
    /// Sets aside room for `bytes` of encoded datapoints, at most a batch's
    /// worth (see [`Reservation`]), or `None` when the sender cannot promise to take
    /// them later exactly as it would now: it is closing, no batch is open,
    /// the buffer would be more than half full, or the room reserved
    /// altogether would pass an eighth of the buffer. Under pressure every
    /// datapoint goes straight to the buffer and meets the overflow policy
    /// at once.
    pub fn reserve(&mut self, bytes: usize) -> Option<Reservation> {
        if self.closing || self.is_closed() || self.builder.datapoints() == 0 {
            return None;
        }
        // A chunk that fits a batch with its framing starts at most one
        // batch, and a datapoint that fits the chunk fits a batch.
        let overhead = self.builder.overhead();
        let bytes = bytes.min(self.config.effective_batch_size() - overhead);
        let held = bytes + overhead;
        let capacity = self.config.buffer_capacity;
        if self.held_bytes() + held > capacity / 2 || self.reserved + held > capacity / MAX_RESERVED
        {
            return None;
        }
        self.reserved += held;
        if let Some(started) = self.builder.first_at() {
            let due = started + self.config.batch_delay;
            self.reserved_due = Some(self.reserved_due.map_or(due, |d| d.min(due)));
        }
        Some(Reservation { bytes, held })
    }

    /// Hands over the datapoints gathered in `chunk` under `reservation`
    /// (emptying the chunk): each is accepted and counted as
    /// [`push`](Self::push) would have done when the room was reserved,
    /// even if the sender has begun to close since. An empty chunk just
    /// gives the room back. Returns whether to wake the I/O side.
    ///
    /// A datapoint in the chunk that could not be encoded is refused
    /// (counted); a chunk larger than the reservation takes its excess as
    /// `push_or_drop` would.
    pub fn push_reserved(
        &mut self,
        now: Instant,
        chunk: &mut Chunk,
        reservation: Reservation,
    ) -> bool {
        debug_assert!(chunk.bytes_len() <= reservation.bytes);
        // A close that gave up at its deadline has forgotten the room.
        self.reserved = self.reserved.saturating_sub(reservation.held);
        if self.reserved == 0 {
            self.reserved_due = None;
        }
        let policy = self.never_waiting_policy();
        // Refusals are counted in the stats; the caller has nobody to
        // report them to (it promised acceptance when it reserved).
        // Reserved before the close began: taken while closing, refused
        // once the close has passed its deadline (or closed).
        let closed = self.is_closed() || self.reservations_forgotten;
        let mut cursor = PushCursor::detached(chunk.len());
        let mut wake = self.push_chunk_from(now, chunk, &mut cursor, policy, closed);
        wake |= cursor.finish().is_err();
        if self.closing && !chunk.is_empty() {
            // Pushed before the close: the close's flush covers them.
            self.seal_open();
            wake = true;
        }
        chunk.clear();
        wake
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::sender::{Chunk, Encoded, Output, Sender, SenderConfig};
    use crate::{Datapoint, MetricPath, Protocol};

    fn connected(config: SenderConfig, now: Instant) -> Sender {
        let mut sender = Sender::new(now, config).expect("valid config");
        assert_eq!(sender.poll_output(now), Some(Output::Connect));
        sender.on_connected(now);
        sender
    }

    fn dp(t: i64) -> Datapoint {
        let path = MetricPath::new("app.lane").expect("valid");
        Datapoint::new(path, t, 1_700_000_000 + t)
    }

    /// A chunk of `dp(t)`, encoded by `sender`'s encoder.
    fn chunk_of(sender: &Sender, t: i64) -> Chunk {
        let (mut one, mut chunk) = (Encoded::default(), Chunk::default());
        sender.chunk_encoder().encode_one(&dp(t), &mut one);
        chunk.push_encoded(&one);
        chunk
    }

    /// Writes everything ready at `now`.
    fn write_ready(sender: &mut Sender, now: Instant, wire: &mut Vec<u8>) {
        while let Some(output) = sender.poll_output(now) {
            if let Output::Transmit(bytes) = output {
                wire.extend_from_slice(&bytes);
                sender.on_written(now, bytes.len());
            }
        }
    }

    #[test]
    fn room_is_reserved_only_when_it_can_be_taken_as_at_once() {
        let now = Instant::now();
        let config = SenderConfig::new(Protocol::Plaintext)
            .with_batch_size(8 << 10)
            .with_buffer_capacity(64 << 10);
        let mut sender = connected(config, now);
        assert!(sender.reserve(1024).is_none(), "no batch open: no timer");
        sender.push(now, &dp(0)).expect("room");
        let batch = sender.reserve(16 << 10).expect("room");
        assert_eq!(batch.bytes(), 8 << 10, "at most a batch");
        let mut chunk = Chunk::default();
        sender.push_reserved(now, &mut chunk, batch);
        let mut held = Vec::new();
        while let Some(r) = sender.reserve(4 << 10) {
            held.push(r);
        }
        // An eighth of 64 KiB at most, reserved altogether.
        assert_eq!(held.len(), 2);
        assert_eq!(
            sender.stats().buffered_bytes,
            b"app.lane 0 1700000000\n".len()
        );
        for r in held {
            sender.push_reserved(now, &mut chunk, r);
        }
        assert!(sender.reserve(4 << 10).is_some());
        sender.close(now + Duration::from_secs(1));
        assert!(sender.reserve(4 << 10).is_none(), "closing");
    }

    #[test]
    fn a_lane_handed_over_before_each_timeout_writes_what_pushes_would() {
        let start = Instant::now();
        for (protocol, lane_bytes) in [
            (Protocol::Plaintext, 64),
            (Protocol::Plaintext, 300),
            (Protocol::Plaintext, 1000),
            (Protocol::Pickle, 300),
            (Protocol::Udp, 300),
        ] {
            let config = SenderConfig::new(protocol).with_batch_size(1 << 10);
            let mut direct = connected(config.clone(), start);
            let mut laned = connected(config.clone(), start);
            let encoder = laned.chunk_encoder();
            let (mut one, mut chunk) = (Encoded::default(), Chunk::default());
            let mut reservation = None;
            let (mut wire_direct, mut wire_laned) = (Vec::new(), Vec::new());
            for t in 0..3_000 {
                // Pushes at 1 ms apart; a 100 ms batch delay seals batches
                // by time as well as by size.
                let now = start + Duration::from_millis(t as u64);
                if now >= laned.poll_timeout().unwrap_or(now + Duration::from_secs(1)) {
                    if let Some(r) = reservation.take() {
                        laned.push_reserved(now, &mut chunk, r);
                    }
                    laned.handle_timeout(now);
                }
                if now
                    >= direct
                        .poll_timeout()
                        .unwrap_or(now + Duration::from_secs(1))
                {
                    direct.handle_timeout(now);
                }
                direct.push(now, &dp(t)).expect("room");
                encoder.encode_one(&dp(t), &mut one);
                let len = one.wire_len().expect("valid");
                match reservation.as_ref() {
                    Some(r) if chunk.bytes_len() + len <= super::Reservation::bytes(r) => {
                        chunk.push_encoded(&one);
                    }
                    _ => {
                        if let Some(r) = reservation.take() {
                            laned.push_reserved(now, &mut chunk, r);
                        }
                        laned
                            .push_encoded_or_drop_reading(&|| now, &one)
                            .expect("room");
                        reservation = laned.reserve(lane_bytes);
                    }
                }
                write_ready(&mut direct, now, &mut wire_direct);
                write_ready(&mut laned, now, &mut wire_laned);
            }
            let end = start + Duration::from_secs(5);
            if let Some(r) = reservation.take() {
                laned.push_reserved(end, &mut chunk, r);
            }
            for sender in [&mut direct, &mut laned] {
                sender.close(end);
            }
            write_ready(&mut direct, end, &mut wire_direct);
            write_ready(&mut laned, end, &mut wire_laned);
            assert_eq!(
                wire_direct, wire_laned,
                "{protocol}, lanes of {lane_bytes} bytes"
            );
            let (a, b) = (direct.stats(), laned.stats());
            assert_eq!((a.accepted, a.written), (3_000, 3_000));
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }

    #[test]
    fn reserved_room_is_never_due_in_the_past_after_a_timeout() {
        // Two threads' lanes, one handed over at each turn while the other
        // reserves anew: the room is never all given back at once.
        let start = Instant::now();
        let config = SenderConfig::new(Protocol::Plaintext);
        let delay = config.batch_delay;
        let mut sender = connected(config, start);
        sender.push(start, &dp(0)).expect("room");
        let mut lanes = [sender.reserve(1024), sender.reserve(1024)];
        let mut chunk = Chunk::default();
        let mut now = start;
        for turn in 0..50_u32 {
            now = sender.poll_timeout().expect("room is reserved");
            assert!(
                now <= start + delay * (turn + 1),
                "due within a batch delay"
            );
            // The turn hands one lane over; the other thread reserves again
            // just before the timers run.
            let (handed, other) = if turn % 2 == 0 { (0, 1) } else { (1, 0) };
            let reservation = lanes[handed].take().expect("held");
            sender.push_reserved(now, &mut chunk, reservation);
            sender.push(now, &dp(i64::from(turn))).expect("room");
            lanes[handed] = sender.reserve(1024);
            assert!(lanes[other].is_some());
            sender.handle_timeout(now);
            let next = sender.poll_timeout().expect("room is reserved");
            assert!(next > now, "turn {turn}: due {next:?} is not in the past");
        }
        assert!(now >= start + delay * 10, "time moved on");
    }

    #[test]
    fn a_close_forgets_reserved_room_at_its_deadline() {
        let now = Instant::now();
        let mut sender = connected(SenderConfig::new(Protocol::Plaintext), now);
        sender.push(now, &dp(0)).expect("room");
        let lost = sender.reserve(1024).expect("room");
        let deadline = now + Duration::from_secs(1);
        sender.close(deadline);
        let mut wire = Vec::new();
        write_ready(&mut sender, now, &mut wire);
        assert!(!sender.is_closed(), "waits for the reserved room");
        sender.handle_timeout(deadline);
        write_ready(&mut sender, deadline, &mut wire);
        assert!(sender.is_closed(), "not past its deadline");
        // Handed over after the close: refused and counted.
        let mut chunk = chunk_of(&sender, 1);
        sender.push_reserved(deadline, &mut chunk, lost);
        let stats = sender.stats();
        assert_eq!((stats.written, stats.dropped.closed), (1, 1), "{stats:?}");
        assert!(stats.is_consistent(), "{stats:?}");
    }

    #[test]
    fn room_handed_over_after_the_close_deadline_is_refused_even_before_close() {
        // Carbon is down: the sender is still trying to connect when the
        // close's deadline passes, so it has not given `Close` yet.
        let now = Instant::now();
        let mut sender =
            Sender::new(now, SenderConfig::new(Protocol::Plaintext)).expect("valid config");
        assert_eq!(sender.poll_output(now), Some(Output::Connect));
        sender.push(now, &dp(0)).expect("room");
        let late = sender.reserve(1024).expect("room");
        let deadline = now + Duration::from_secs(1);
        sender.close(deadline);
        sender.handle_timeout(deadline);
        let mut chunk = chunk_of(&sender, 1);
        sender.push_reserved(deadline, &mut chunk, late);
        let stats = sender.stats();
        assert_eq!(
            (stats.buffered, stats.dropped.deadline, stats.dropped.closed),
            (0, 1, 1),
            "{stats:?}"
        );
        assert!(sender.is_flushed(), "nothing left to hold the close");
    }

    #[test]
    fn reserved_room_is_due_with_the_open_batch_and_holds_the_close() {
        let now = Instant::now();
        let config = SenderConfig::new(Protocol::Plaintext);
        let delay = config.batch_delay;
        let mut sender = connected(config, now);
        sender.push(now, &dp(0)).expect("room");
        let later = now + delay / 2;
        sender.handle_timeout(later);
        let reservation = sender.reserve(1024).expect("room");
        assert_eq!(
            sender.poll_timeout(),
            Some(now + delay),
            "due with the open batch"
        );
        let mut chunk = chunk_of(&sender, 1);
        // A close asked for meanwhile waits for the reserved datapoints.
        sender.close(later + Duration::from_secs(1));
        let mut wire = Vec::new();
        write_ready(&mut sender, later, &mut wire);
        assert!(!sender.is_closed(), "room is still reserved");
        sender.push_reserved(later, &mut chunk, reservation);
        write_ready(&mut sender, later, &mut wire);
        assert!(sender.is_closed());
        assert_eq!(
            wire,
            b"app.lane 0 1700000000\napp.lane 1 1700000001\n".to_vec(),
            "taken although the close had begun: reserved before it"
        );
        let stats = sender.stats();
        assert_eq!(
            (stats.accepted, stats.written, stats.dropped.total()),
            (2, 2, 0)
        );
    }
}
