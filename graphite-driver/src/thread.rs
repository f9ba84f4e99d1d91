//! A minimal executor for plain threads, so that the one drive loop and
//! the one client also run without an async runtime: [`block_on`] polls a
//! future on the current thread and parks in between, and [`ThreadTimer`]
//! is the timer it understands. `graphite_blocking` runs the sender's
//! task on a thread of its own with it, and its blocking client's calls.
//!
//! A link on such a thread does its I/O in `poll_*` with bounded blocking
//! calls; when it needs another try it wakes itself. Links that cannot
//! register for readiness are polled again at least every [`IDLE_POLL`].

use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// The longest a [`block_on`] thread parks without being woken: how often
/// links that cannot register for readiness (a peer closing a blocking
/// socket) are looked at while idle.
pub const IDLE_POLL: Duration = Duration::from_secs(1);

thread_local! {
    /// Whether this thread is inside [`block_on`].
    static ON_EXECUTOR: Cell<bool> = const { Cell::new(false) };
    /// The earliest [`ThreadTimer`] deadline seen during the current poll.
    static NEXT_TIMER: Cell<Option<Instant>> = const { Cell::new(None) };
}

struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Restores the thread's executor flag when `block_on` returns or unwinds.
struct Entered(bool);

impl Drop for Entered {
    fn drop(&mut self) {
        ON_EXECUTOR.with(|on| on.set(self.0));
    }
}

/// Runs `future` to completion on the current thread: polls it, then parks
/// until a waker fires, the earliest [`ThreadTimer`] it polls is due, or
/// [`IDLE_POLL`] passes.
///
/// ```
/// use std::time::{Duration, Instant};
/// use graphite_driver::thread::{ThreadTimer, block_on};
///
/// let start = Instant::now();
/// block_on(ThreadTimer::at(start + Duration::from_millis(20)));
/// assert!(start.elapsed() >= Duration::from_millis(20));
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let mut cx_waker = Waker::from(Arc::clone(&waker));
    let mut future = pin!(future);
    let _entered = Entered(ON_EXECUTOR.with(|on| on.replace(true)));
    loop {
        waker.woken.store(false, Ordering::Release);
        NEXT_TIMER.with(|next| next.set(None));
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&cx_waker)) {
            return output;
        }
        if waker.woken.load(Ordering::Acquire) {
            continue;
        }
        let limit = NEXT_TIMER.with(Cell::get).map_or(IDLE_POLL, |at| {
            at.saturating_duration_since(Instant::now()).min(IDLE_POLL)
        });
        thread::park_timeout(limit);
        // A waker cloned away keeps the same thread: nothing to refresh.
        cx_waker = Waker::from(Arc::clone(&waker));
    }
}

/// A timer for [`block_on`] threads: polled there, it only tells the
/// executor when to wake. Polled on any other executor (an async caller
/// waiting on a thread sender), it falls back to a sleeping helper thread,
/// started once per timer.
#[derive(Debug)]
pub struct ThreadTimer {
    deadline: Instant,
    sleeper_started: bool,
}

impl ThreadTimer {
    /// A timer that completes at `deadline`.
    pub fn at(deadline: Instant) -> Self {
        Self {
            deadline,
            sleeper_started: false,
        }
    }
}

impl Future for ThreadTimer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        if now >= self.deadline {
            return Poll::Ready(());
        }
        if ON_EXECUTOR.with(Cell::get) {
            let deadline = self.deadline;
            NEXT_TIMER
                .with(|next| next.set(Some(next.get().map_or(deadline, |t| t.min(deadline)))));
        } else if !self.sleeper_started {
            self.sleeper_started = true;
            let (waker, wait) = (cx.waker().clone(), self.deadline - now);
            let started = thread::Builder::new()
                .name("graphite-timer".into())
                .spawn(move || {
                    thread::sleep(wait);
                    waker.wake();
                });
            if started.is_err() {
                // No thread to sleep on: poll again rather than never.
                cx.waker().wake_by_ref();
                self.sleeper_started = false;
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_woken_future_is_polled_again_without_waiting_for_the_idle_poll() {
        let start = Instant::now();
        let mut polls = 0;
        block_on(std::future::poll_fn(|cx| {
            polls += 1;
            if polls == 3 {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }));
        assert!(start.elapsed() < IDLE_POLL / 2);
    }

    #[test]
    fn a_timer_polled_off_the_executor_still_fires() {
        let deadline = Instant::now() + Duration::from_millis(30);
        futures_lite::future::block_on(ThreadTimer::at(deadline));
        assert!(Instant::now() >= deadline);
    }
}
