//! Per-thread lanes for `push`: each thread gathers its datapoints in a
//! lane of its own, under room the core has [reserved](Reservation), and
//! takes the sender's lock once per lane's worth instead of once per
//! datapoint.
//!
//! Why: threads that push through one lock on two cores spend most of each
//! push moving the lock and the buffer's memory between the cores (a plain
//! `Mutex<Vec<u8>>` measured 90-180 ns a push with four threads on the
//! development VM, against 30 ns with a lock per thread). A lane is a
//! thread's own memory, so the common push touches nothing another core
//! holds.
//!
//! The decision stays the core's: a datapoint goes into a lane only under a
//! [`Reservation`], which the core grants only when it can promise to
//! take the lane's datapoints later without a drop or a wait; everything
//! else goes straight to the core. A thread's own datapoints keep their
//! order: before anything of a thread goes straight to the core, its lane
//! is handed over. The drive loop hands every lane over at each turn,
//! before the core's timers run. With one thread pushing, a datapoint
//! leaves with the batch it would have joined; when other threads fill
//! that batch first, it joins the next one, which leaves within a batch
//! delay of the hand-over.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use graphite_proto::sender::{self as core, Chunk, Encoded, Reservation};

/// Bytes of encoded datapoints a lane gathers before it is handed over
/// (about a hundred plaintext lines): large enough that the sender's lock
/// is rare, small enough that a few lanes hold little of the buffer.
pub(crate) const LANE_BYTES: usize = 4 << 10;

/// Lanes of one sender.
pub(crate) struct Lanes {
    lanes: Box<[Lane]>,
}

/// One lane, alone on its cache lines so that threads on different cores
/// do not share them.
#[repr(align(128))]
struct Lane {
    /// Whether the lane holds a reservation: the drive loop skips lanes
    /// that do not without locking them.
    reserved: AtomicBool,
    staged: Mutex<Staged>,
}

/// What a lane holds: datapoints in wire form, under a reservation.
#[derive(Default)]
pub(crate) struct Staged {
    chunk: Chunk,
    reservation: Option<Reservation>,
}

/// A locked lane.
pub(crate) struct LaneGuard<'a> {
    lane: &'a Lane,
    staged: MutexGuard<'a, Staged>,
}

/// Numbers threads as they first push, to spread them over the lanes.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's number, given at its first push.
    static THREAD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// This thread's number (0 while the thread is being torn down).
fn thread_number() -> usize {
    THREAD
        .try_with(|n| match n.get() {
            Some(n) => n,
            None => {
                let next = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
                n.set(Some(next));
                next
            }
        })
        .unwrap_or(0)
}

impl Lanes {
    /// Two lanes per core (at least four, at most 64): threads that share
    /// a lane share its lock, which is rarely held long.
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let count = (2 * cores).clamp(4, 64);
        Self {
            lanes: (0..count)
                .map(|_| Lane {
                    reserved: AtomicBool::new(false),
                    staged: Mutex::new(Staged::default()),
                })
                .collect(),
        }
    }

    /// The calling thread's lane, locked.
    pub(crate) fn mine(&self) -> LaneGuard<'_> {
        self.lanes[thread_number() % self.lanes.len()].lock()
    }

    /// Every lane, locked (in order: no two callers deadlock), for a
    /// change that no push may slip past.
    pub(crate) fn lock_all(&self) -> Vec<LaneGuard<'_>> {
        self.lanes.iter().map(Lane::lock).collect()
    }

    /// Calls `f` with every lane that holds a reservation, locked one at a
    /// time.
    pub(crate) fn each_reserved(&self, mut f: impl FnMut(&mut LaneGuard<'_>)) {
        for lane in &self.lanes {
            if lane.reserved.load(Ordering::Acquire) {
                f(&mut lane.lock());
            }
        }
    }
}

impl Lane {
    fn lock(&self) -> LaneGuard<'_> {
        LaneGuard {
            lane: self,
            // Nothing under a lane's lock calls out of this crate, so a
            // panic there is a bug of ours; the lane stays usable (a new
            // reservation starts from an empty chunk).
            staged: self.staged.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

impl LaneGuard<'_> {
    /// Adds `encoded` to the lane if its reservation has room for it: the
    /// push is done, without the sender's lock.
    pub(crate) fn stage(&mut self, encoded: &Encoded) -> bool {
        let Staged { chunk, reservation } = &mut *self.staged;
        let fits = match (reservation.as_ref(), encoded.wire_len()) {
            (Some(r), Some(len)) => chunk.bytes_len() + len <= r.bytes(),
            _ => false,
        };
        if fits {
            chunk.push_encoded(encoded);
        }
        fits
    }

    /// Hands what the lane gathered over to `core` and gives its room back;
    /// returns whether to wake the I/O side.
    pub(crate) fn hand_over(
        &mut self,
        core: &mut core::Sender,
        now: impl FnOnce() -> Instant,
    ) -> bool {
        let Some(reservation) = self.staged.reservation.take() else {
            return false;
        };
        self.lane.reserved.store(false, Ordering::Release);
        core.push_reserved(now(), &mut self.staged.chunk, reservation)
    }

    /// Reserves room for the lane's next datapoints, if the core grants it
    /// (call with the lane handed over).
    pub(crate) fn reserve(&mut self, core: &mut core::Sender) {
        debug_assert!(self.staged.reservation.is_none());
        // Empty after a hand-over; cleared anyway, so that what a hand-over
        // cut short by a panic left is never handed over twice.
        self.staged.chunk.clear();
        self.staged.reservation = core.reserve(LANE_BYTES);
        if self.staged.reservation.is_some() {
            // Set while the core is locked: a drive loop that misses it
            // meets the reservation's deadline in its next turn.
            self.lane.reserved.store(true, Ordering::Release);
        }
    }
}
