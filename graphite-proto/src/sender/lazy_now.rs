//! The time of a push, read only if the push needs it. The common push (a
//! datapoint joining the open batch, with room) does not, and a clock read
//! costs about as much as encoding a datapoint (31 ns for
//! `Instant::now()` on the development VM, against about 35 ns to encode
//! and write one).

use std::time::Instant;

pub(crate) struct LazyNow<'a> {
    read: &'a dyn Fn() -> Instant,
    now: Option<Instant>,
}

impl<'a> LazyNow<'a> {
    /// Reads `read` at the first [`get`](Self::get), then keeps that time.
    pub(crate) fn new(read: &'a dyn Fn() -> Instant) -> Self {
        Self { read, now: None }
    }

    pub(crate) fn get(&mut self) -> Instant {
        *self.now.get_or_insert_with(|| (self.read)())
    }
}
