//! The state a sender's handles and its drive loop share: the core behind
//! a lock, the handle count, and the waits for room, a flush and the close,
//! on `event-listener` (which works under any executor and in a blocking
//! wait). Every time read here comes from the runtime's clock.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use event_listener::{Event as Signal, EventListener, Listener};
use futures_lite::FutureExt;
use graphite_proto::Datapoint;
use graphite_proto::client::{IntoMetricPath, IntoValue};
use graphite_proto::sender::{
    self as core, Chunk, ChunkEncoder, ConfigError, Encoded, Output, OverflowPolicy, PushCursor,
    PushError, PushManyError, SenderConfig, Stats,
};

use crate::lanes::Lanes;
use crate::{Runtime, unix_now};

/// How long dropping the last handle lets the driver flush.
pub const DROP_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// How long past a flush or close deadline a blocking wait still waits for
/// the driver to report it. A driver that cannot run at all (its
/// single-threaded runtime is blocked by this very wait) is given up on
/// then, with the counters of the moment.
const DRIVER_GRACE: Duration = Duration::from_secs(1);

struct Shared {
    core: Mutex<core::Sender>,
    /// Formats a `push_many` slice as the core would, outside the lock.
    encoder: ChunkEncoder,
    /// Where each thread's pushes gather under reserved room.
    lanes: Lanes,
    runtime: Arc<dyn Runtime>,
    /// Wakes an idle driver: a batch is ready, a timer changed, closing.
    wake: Signal,
    /// Interrupts a driver blocked in a write: a deadline came closer.
    urgent: Signal,
    /// Wakes callers waiting for room, a flush or the close.
    progress: Signal,
    handles: AtomicUsize,
    /// The driver has stopped (closed, or its task was dropped).
    stopped: AtomicBool,
    /// Lock acquisitions and wake-ups, for the comparison bench.
    #[cfg(feature = "counters")]
    counters: crate::counters::Counting,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, core::Sender> {
        #[cfg(feature = "counters")]
        self.counters.lock();
        // A panic while holding the lock cannot leave the state machine
        // half-updated in a way that matters more than stopping metrics.
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands every thread's lane over to the core; returns whether to wake
    /// the driver.
    fn hand_over_lanes(&self) -> bool {
        let mut wake = false;
        self.lanes.each_reserved(|lane| {
            wake |= lane.hand_over(&mut self.lock(), || self.runtime.now());
        });
        wake
    }
}

thread_local! {
    /// Each thread's chunk for `push_many`, reused so that handing a slice
    /// over allocates nothing once it has grown.
    static CHUNK: Cell<Chunk> = Cell::new(Chunk::default());
    /// Each thread's datapoint for `push`, encoded before any lock.
    static ENCODED: RefCell<Encoded> = RefCell::new(Encoded::default());
}

/// Datapoints a waiting `push_many` encodes and hands over at a time. A
/// piece of a larger slice is about 40 KB of typical plaintext lines
/// (under 65 bytes each), which fits the default 64 KiB batch, so it
/// becomes a batch without a copy; longer lines or a smaller batch size
/// are copied, as before.
const PIECE: usize = 1_000;

/// What a slice handed over in pieces reports: one error for the slice.
struct PieceFailure {
    total: usize,
    failure: Option<PushManyError>,
}

impl PieceFailure {
    fn new(total: usize) -> Self {
        Self {
            total,
            failure: None,
        }
    }

    /// Adds the outcome of the piece that starts at index `start`.
    fn add(&mut self, start: usize, result: Result<(), PushManyError>) {
        let Err(e) = result else { return };
        match self.failure.as_mut() {
            Some(f) => f.dropped += e.dropped,
            None => {
                self.failure = Some(PushManyError {
                    total: self.total,
                    first_index: start + e.first_index,
                    ..e
                });
            }
        }
    }

    fn finish(self) -> Result<(), PushManyError> {
        self.failure.map_or(Ok(()), Err)
    }
}

/// The memory a thread's chunk keeps between calls, outside the sender's
/// buffer: a slice larger than this (about 5,000 datapoints) is encoded in
/// memory given back after.
const CHUNK_KEPT: usize = 256 << 10;

/// A counted handle to a sender's shared state; the last one dropped
/// closes the sender (flushing for at most [`DROP_FLUSH_TIMEOUT`]).
pub(crate) struct Handle {
    shared: Arc<Shared>,
}

/// The driver's view of the shared state: not counted as a handle.
pub(crate) struct Driver {
    shared: Arc<Shared>,
}

/// One turn of the drive loop, decided by the core under the lock.
#[derive(Debug)]
pub(crate) struct Turn {
    /// What to do now; `None`: wait for a wake, the deadline, or the peer.
    pub(crate) output: Option<Output>,
    /// The core's next timer.
    pub(crate) deadline: Option<Instant>,
}

/// A sender ready to be driven: the first handle and the driver's view.
pub(crate) fn channel(
    config: SenderConfig,
    runtime: Arc<dyn Runtime>,
) -> Result<(Handle, Driver), ConfigError> {
    let core = core::Sender::new(runtime.now(), config)?;
    let shared = Arc::new(Shared {
        encoder: core.chunk_encoder(),
        lanes: Lanes::new(),
        core: Mutex::new(core),
        runtime,
        wake: Signal::new(),
        urgent: Signal::new(),
        progress: Signal::new(),
        handles: AtomicUsize::new(1),
        stopped: AtomicBool::new(false),
        #[cfg(feature = "counters")]
        counters: crate::counters::Counting::default(),
    });
    let driver = Driver {
        shared: Arc::clone(&shared),
    };
    Ok((Handle { shared }, driver))
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Clone for Handle {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.begin(|core, now| core.close(now + DROP_FLUSH_TIMEOUT));
        }
    }
}

impl Handle {
    fn wake(&self, wake: bool) {
        if wake {
            #[cfg(feature = "counters")]
            self.shared.counters.wake();
            self.shared.wake.notify(1);
        }
    }

    /// Buffers a datapoint already built and returns at once: a full
    /// buffer drops it (counted) under every policy.
    pub(crate) fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        // Borrowed in place: moving it out and back (`Cell::take`) cost a
        // tenth of the one-by-one rate in the comparison bench.
        let pushed = ENCODED.try_with(|encoded| {
            let mut encoded = encoded.try_borrow_mut().ok()?;
            self.shared.encoder.encode_one(dp, &mut encoded);
            Some(self.push_encoded(&encoded))
        });
        match pushed {
            Ok(Some(result)) => result,
            // A thread being torn down (or a re-entered call, which
            // nothing under this call makes) gets new memory.
            _ => {
                let mut encoded = Encoded::default();
                self.shared.encoder.encode_one(dp, &mut encoded);
                self.push_encoded(&encoded)
            }
        }
    }

    /// [`push`](Self::push) of a datapoint this thread encoded: into the
    /// thread's lane while its reservation has room (no lock but the
    /// lane's); otherwise straight to the core, after what the lane holds
    /// (so the thread's datapoints keep their order), and then room is
    /// reserved for the next ones.
    fn push_encoded(&self, encoded: &Encoded) -> Result<(), PushError> {
        let mut lane = self.shared.lanes.mine();
        if lane.stage(encoded) {
            return Ok(());
        }
        // The clock is read only if the push needs it: joining the open
        // batch does not, and a read costs as much as the rest of the push.
        let runtime = &self.shared.runtime;
        let clock = || runtime.now();
        let mut core = self.shared.lock();
        let handed = lane.hand_over(&mut core, clock);
        let result = core.push_encoded_or_drop_reading(&clock, encoded);
        if result.is_ok() {
            lane.reserve(&mut core);
        }
        drop(core);
        drop(lane);
        self.wake(handed || matches!(result, Ok(true)));
        result.map(drop)
    }

    /// Hands this thread's lane over to the core: before a push that goes
    /// straight to the core, so that the thread's datapoints keep their
    /// order.
    fn hand_over_mine(&self) {
        let mut lane = self.shared.lanes.mine();
        let runtime = &self.shared.runtime;
        let handed = lane.hand_over(&mut self.shared.lock(), || runtime.now());
        drop(lane);
        self.wake(handed);
    }

    /// Buffers every datapoint of `batch` under one lock and one clock
    /// read, never waiting; each is accepted or dropped and counted as
    /// [`push`](Self::push) would. The slice is encoded before the lock is
    /// taken (into this thread's chunk), so the lock is held only to copy
    /// bytes and the driver is not kept waiting by the formatting.
    pub(crate) fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let (handed, result) = self.with_chunk(batch, |chunk| {
            let now = self.shared.runtime.now();
            let mut lane = self.shared.lanes.mine();
            let mut core = self.shared.lock();
            // What this thread pushed before goes first.
            let handed = lane.hand_over(&mut core, || now);
            (handed, core.push_chunk_or_drop(now, chunk))
        });
        self.wake(handed || !matches!(result, Ok(false)));
        result.map(drop)
    }

    /// Runs `f` with `batch` encoded, outside any lock, into this thread's
    /// chunk, which keeps its memory for the next call (a thread being torn
    /// down gets new memory).
    fn with_chunk<T>(&self, batch: &[Datapoint], f: impl FnOnce(&mut Chunk) -> T) -> T {
        let mut chunk = CHUNK.try_with(Cell::take).unwrap_or_default();
        self.shared.encoder.encode(batch, &mut chunk);
        let done = f(&mut chunk);
        chunk.shrink_to(CHUNK_KEPT);
        let _ = CHUNK.try_with(|kept| kept.set(chunk));
        done
    }

    /// Converts a datapoint, counting a refusal.
    pub(crate) fn datapoint(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<Datapoint, PushError> {
        let converted = metric
            .into_metric_path()
            .map_err(PushError::from)
            .and_then(|path| Ok((path, value.into_value()?)));
        match converted {
            Ok((path, value)) => Ok(Datapoint::new(
                path,
                value,
                timestamp.unwrap_or_else(unix_now),
            )),
            Err(e) => Err(self.shared.lock().refuse_invalid(e)),
        }
    }

    /// The counters, with every thread's lane handed over first, so that
    /// every push that returned counts.
    pub(crate) fn stats(&self) -> Stats {
        let handed = self.shared.hand_over_lanes();
        self.wake(handed);
        self.shared.lock().stats()
    }

    /// When the sender's current outage began, or `None` while it is up:
    /// its health, as a router reads it
    /// ([`graphite_proto::sender::Sender::outage_since`]).
    pub(crate) fn outage_since(&self) -> Option<Instant> {
        self.shared.lock().outage_since()
    }

    /// Lock acquisitions and driver wake-ups so far.
    #[cfg(feature = "counters")]
    pub(crate) fn counters(&self) -> crate::counters::DriverCounters {
        self.shared.counters.read()
    }

    /// How long [`OverflowPolicy::Wait`] lets a push wait.
    pub(crate) fn wait_limit(&self) -> Duration {
        match self.shared.lock().config().overflow {
            OverflowPolicy::Wait(limit) => limit,
            _ => Duration::ZERO,
        }
    }

    /// Applies `change` to the core and wakes the driver, even out of a
    /// blocked write: a flush or close deadline may have come closer.
    fn begin(&self, change: impl FnOnce(&mut core::Sender, Instant)) {
        // Every push that returned is part of the flush or close: the lanes
        // are held until the change is made, so that none takes new room
        // in between (a push after it goes straight to the core).
        let mut lanes = self.shared.lanes.lock_all();
        let now = self.shared.runtime.now();
        let mut core = self.shared.lock();
        for lane in &mut lanes {
            lane.hand_over(&mut core, || now);
        }
        change(&mut core, now);
        drop(core);
        drop(lanes);
        self.shared.wake.notify(1);
        self.shared.urgent.notify(1);
    }

    /// Starts a flush: what is not written within `timeout` is dropped.
    pub(crate) fn begin_flush(&self, timeout: Duration) {
        self.begin(|core, now| core.flush(now + timeout));
    }

    /// Starts the close: a flush within `timeout`, then the connection ends.
    pub(crate) fn begin_close(&self, timeout: Duration) {
        self.begin(|core, now| core.close(now + timeout));
    }

    /// Tries `attempt` until it is done, waiting for progress in between
    /// with `wait` (which returns false once the caller gives up); then
    /// `attempt` runs one last time with `gave_up` set.
    fn retry<T>(
        &self,
        mut attempt: impl FnMut(&mut core::Sender, Instant, bool) -> Option<T>,
        mut wait: impl FnMut(EventListener) -> bool,
    ) -> T {
        let mut gave_up = false;
        loop {
            let progress = self.shared.progress.listen();
            if let Some(done) = attempt(&mut self.shared.lock(), self.shared.runtime.now(), gave_up)
            {
                return done;
            }
            gave_up = !wait(progress);
        }
    }

    /// The same as [`retry`](Self::retry), waiting asynchronously until
    /// `give_up` completes.
    async fn retry_async<T>(
        &self,
        mut attempt: impl FnMut(&mut core::Sender, Instant, bool) -> Option<T>,
        give_up: impl Future<Output = ()>,
    ) -> T {
        let mut give_up = pin!(give_up);
        let mut gave_up = false;
        loop {
            let progress = self.shared.progress.listen();
            if let Some(done) = attempt(&mut self.shared.lock(), self.shared.runtime.now(), gave_up)
            {
                return done;
            }
            gave_up = async {
                progress.await;
                false
            }
            .or(async {
                (&mut give_up).await;
                true
            })
            .await;
        }
    }

    fn push_step(
        &self,
        dp: &Datapoint,
    ) -> impl FnMut(&mut core::Sender, Instant, bool) -> Option<Result<(), PushError>> {
        move |core, now, gave_up| {
            let result = if gave_up {
                core.push_or_drop(now, dp)
            } else {
                core.push(now, dp)
            };
            match result {
                Ok(wake) => {
                    self.wake(wake);
                    Some(Ok(()))
                }
                Err(PushError::WouldBlock) => None,
                Err(e) => Some(Err(e)),
            }
        }
    }

    /// One attempt at handing `batch`, encoded in `chunk`, over as room
    /// frees up: only bytes are copied under the lock.
    fn push_many_step<'a>(
        &'a self,
        batch: &'a [Datapoint],
        chunk: &'a mut Chunk,
    ) -> impl FnMut(&mut core::Sender, Instant, bool) -> Option<Result<(), PushManyError>> + 'a
    {
        let mut cursor = Some(PushCursor::new(batch));
        move |core, now, gave_up| {
            let taking = cursor.as_mut()?;
            let before = taking.position();
            let wake = if gave_up {
                core.push_chunk_rest_or_drop(now, chunk, taking)
            } else {
                core.push_chunk_until_full(now, chunk, taking)
            };
            // What this attempt took may have sealed batches: let the driver
            // write them. An attempt that took nothing waits for the driver.
            self.wake(wake || taking.position() > before);
            if !taking.is_done() {
                return None;
            }
            cursor.take().map(PushCursor::finish)
        }
    }

    /// [`push`](Self::push), but under [`OverflowPolicy::Wait`] waits for
    /// room until `give_up` completes; then the datapoint is dropped and
    /// counted.
    pub(crate) async fn push_wait(
        &self,
        dp: &Datapoint,
        give_up: impl Future<Output = ()>,
    ) -> Result<(), PushError> {
        self.hand_over_mine();
        self.retry_async(self.push_step(dp), give_up).await
    }

    /// [`push_wait`](Self::push_wait) blocking the thread, up to `deadline`.
    pub(crate) fn push_wait_blocking(
        &self,
        dp: &Datapoint,
        deadline: Instant,
    ) -> Result<(), PushError> {
        self.hand_over_mine();
        self.retry(self.push_step(dp), |l| l.wait_deadline(deadline).is_some())
    }

    /// [`push_many`](Self::push_many), but under [`OverflowPolicy::Wait`]
    /// waits for room as the slice goes in, until `give_up` completes; then
    /// the rest is dropped and counted.
    pub(crate) async fn push_many_wait(
        &self,
        batch: &[Datapoint],
        give_up: impl Future<Output = ()>,
    ) -> Result<(), PushManyError> {
        self.hand_over_mine();
        // A chunk of this call's own (the wait may resume on another
        // thread), a piece at a time, as the blocking form does.
        let mut give_up = pin!(give_up);
        let mut gave_up = false;
        let mut chunk = Chunk::default();
        let mut failure = PieceFailure::new(batch.len());
        for (at, piece) in batch.chunks(PIECE).enumerate() {
            self.shared.encoder.encode(piece, &mut chunk);
            let step = self.push_many_step(piece, &mut chunk);
            let result = if gave_up {
                // What is left is dropped at once, and counted.
                self.retry_async(step, std::future::ready(())).await
            } else {
                let fired = &mut gave_up;
                let give_up = give_up.as_mut();
                self.retry_async(step, async move {
                    give_up.await;
                    *fired = true;
                })
                .await
            };
            failure.add(at * PIECE, result);
        }
        failure.finish()
    }

    /// [`push_many_wait`](Self::push_many_wait) blocking the thread, up to
    /// `deadline`.
    pub(crate) fn push_many_wait_blocking(
        &self,
        batch: &[Datapoint],
        deadline: Instant,
    ) -> Result<(), PushManyError> {
        self.hand_over_mine();
        // A large slice goes in pieces, each small enough to become a batch
        // without a copy; the wait's deadline is the whole slice's.
        let mut failure = PieceFailure::new(batch.len());
        for (at, piece) in batch.chunks(PIECE).enumerate() {
            let result = self.with_chunk(piece, |chunk| {
                self.retry(self.push_many_step(piece, chunk), |l| {
                    l.wait_deadline(deadline).is_some()
                })
            });
            failure.add(at * PIECE, result);
        }
        failure.finish()
    }

    /// Done once `done` holds, the driver has stopped, or (for a blocking
    /// wait) the caller gave up.
    fn settled(
        &self,
        done: fn(&core::Sender) -> bool,
    ) -> impl FnMut(&mut core::Sender, Instant, bool) -> Option<Stats> + '_ {
        move |core, _, gave_up| {
            let finished = done(core) || self.shared.stopped.load(Ordering::Acquire);
            if gave_up && !finished {
                // Not silent: the caller's stats show it as `buffered`.
                tracing::warn!(
                    target: "graphite",
                    "graphite sender's task did not run within {DRIVER_GRACE:?} past the deadline \
                     (is this wait blocking the runtime's only thread?): {} datapoints still \
                     buffered, to be sent if the task runs again",
                    core.stats().buffered
                );
            }
            (gave_up || finished).then(|| core.stats())
        }
    }

    /// Waits until every accepted datapoint is written or dropped.
    pub(crate) async fn flushed(&self) -> Stats {
        self.retry_async(
            self.settled(core::Sender::is_flushed),
            std::future::pending(),
        )
        .await
    }

    /// Waits until the driver has closed the connection and stopped.
    pub(crate) async fn closed(&self) -> Stats {
        self.retry_async(
            self.settled(core::Sender::is_closed),
            std::future::pending(),
        )
        .await
    }

    /// [`flushed`](Self::flushed), blocking the thread for at most
    /// `timeout` (the flush's own) plus [`DRIVER_GRACE`].
    pub(crate) fn flushed_blocking(&self, timeout: Duration) -> Stats {
        // A blocking wait runs on the real clock, as event-listener does.
        let give_up = Instant::now() + timeout + DRIVER_GRACE;
        self.retry(self.settled(core::Sender::is_flushed), |l| {
            l.wait_deadline(give_up).is_some()
        })
    }

    /// [`closed`](Self::closed), blocking the thread for at most `timeout`
    /// (the close's own) plus [`DRIVER_GRACE`].
    pub(crate) fn closed_blocking(&self, timeout: Duration) -> Stats {
        // A blocking wait runs on the real clock, as event-listener does.
        let give_up = Instant::now() + timeout + DRIVER_GRACE;
        self.retry(self.settled(core::Sender::is_closed), |l| {
            l.wait_deadline(give_up).is_some()
        })
    }
}

impl Driver {
    /// Advances the core's timers and takes its next output, logging events
    /// on the way (target `graphite`), and wakes waiting callers.
    pub(crate) fn turn(&self) -> Turn {
        #[cfg(feature = "counters")]
        self.shared.counters.turn();
        // What the threads gathered goes in before the timers run: a lane
        // holds nothing past the turn that seals the batch it would join.
        self.shared.hand_over_lanes();
        let now = self.shared.runtime.now();
        let turn = {
            let mut core = self.shared.lock();
            core.handle_timeout(now);
            let output = loop {
                match core.poll_output(now) {
                    Some(Output::Event(event)) if event.is_warning() => {
                        tracing::warn!(target: "graphite", "{event}");
                    }
                    Some(Output::Event(event)) => tracing::info!(target: "graphite", "{event}"),
                    other => break other,
                }
            };
            Turn {
                output,
                deadline: core.poll_timeout(),
            }
        };
        self.shared.progress.notify(usize::MAX);
        turn
    }

    /// A listener for wakes of an idle driver; take it before [`turn`](Self::turn).
    pub(crate) fn listen_wake(&self) -> EventListener {
        self.shared.wake.listen()
    }

    /// A listener for calls that must interrupt a blocked write; take it
    /// before [`turn`](Self::turn).
    pub(crate) fn listen_urgent(&self) -> EventListener {
        self.shared.urgent.listen()
    }

    /// The connect timeout.
    pub(crate) fn connect_timeout(&self) -> Duration {
        self.shared.lock().config().connect_timeout
    }

    /// Reports a connection attempt.
    pub(crate) fn connected<E: fmt::Display>(&self, result: Result<(), E>) {
        let now = self.shared.runtime.now();
        let mut core = self.shared.lock();
        match result {
            Ok(()) => core.on_connected(now),
            Err(e) => core.on_connect_failed(now, &e),
        }
    }

    /// Reports a write of `n` bytes, with the kernel's send queue after it
    /// (see [`send_queue`](crate::send_queue)) when the link can tell.
    pub(crate) fn wrote(&self, n: usize, send_queue: Option<usize>) {
        let now = self.shared.runtime.now();
        let copy = {
            let mut core = self.shared.lock();
            if let Some(bytes) = send_queue {
                core.on_send_queue(now, bytes);
            }
            core.on_written(now, n);
            core.window_copy()
        };
        // The replay window's copy of a written batch is made outside the
        // lock, so that callers pushing meanwhile are not kept waiting.
        if let Some(mut copy) = copy {
            copy.run();
            self.shared.lock().finish_window_copy(copy);
        }
    }

    /// Reports what the spool held at start.
    pub(crate) fn spool_recovered(&self, records: &[core::SpoolRecord], torn: u64) {
        self.shared.lock().on_spool_recovered(records, torn);
    }

    /// Reports a spool operation; wakes callers waiting for room or a close.
    pub(crate) fn spool_done(&self, result: std::io::Result<core::SpoolDone>) {
        let now = self.shared.runtime.now();
        let mut core = self.shared.lock();
        match result {
            Ok(done) => core.on_spool_done(now, Ok(done)),
            Err(e) => core.on_spool_done(now, Err(&e)),
        }
    }

    /// Reports a sample of the kernel's send queue taken when the core's
    /// timer fired during a blocked write or an idle wait (the core judges
    /// a waiting write by whether the queue shrinks); `None` for links that
    /// cannot tell.
    pub(crate) fn sampled(&self, send_queue: Option<usize>) {
        if let Some(bytes) = send_queue {
            let now = self.shared.runtime.now();
            self.shared.lock().on_send_queue(now, bytes);
        }
    }

    /// Reports the error that ended the connection (the adapter has
    /// dropped it): a failed write, or the peer closing.
    pub(crate) fn failed(&self, error: &dyn fmt::Display) {
        self.shared
            .lock()
            .on_error(self.shared.runtime.now(), error);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Closed, or the task was dropped with its runtime: waiters return.
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.progress.notify(usize::MAX);
    }
}
