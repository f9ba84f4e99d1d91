//! A simulated runtime for tests without sockets or real time (feature
//! `testing`): [`SimRuntime`] owns a manual clock, runs the senders' tasks
//! on a deterministic single-threaded executor, and connects to
//! [`SimCarbon`]s, in-memory peers that record every byte and stall, close
//! or refuse on command.
//!
//! [`SimRuntime::block_on`] runs a future together with every spawned
//! task; when nothing can move, it advances the clock to the next timer,
//! as a paused tokio clock does. A ten-second deadline takes microseconds
//! of wall time; a wait that nothing could ever end panics instead of
//! hanging.
//!
//! ```
//! use std::time::Duration;
//! use graphite_driver::Sender;
//! use graphite_driver::testing::SimRuntime;
//! use graphite_proto::{Protocol, sender::SenderConfig};
//!
//! let sim = SimRuntime::new();
//! let carbon = sim.carbon();
//! let sender = Sender::spawn(sim.runtime(), "carbon", carbon.port(), SenderConfig::new(Protocol::Plaintext))?;
//! sender.send("app.requests", 1, Some(1_700_000_000))?;
//! carbon.stall();
//! let start = sim.now();
//! let stats = sim.block_on(sender.close(Duration::from_secs(1)));
//! assert_eq!(sim.now() - start, Duration::from_secs(1), "the deadline held");
//! assert_eq!(stats.dropped.deadline, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::{BoxFuture, Connecting, Link, Runtime, SpawnError, Spawned};

/// A simulated runtime: a manual clock, a deterministic executor and an
/// in-memory network of [`SimCarbon`]s. Cheap to clone; clones share
/// everything.
#[derive(Clone, Default)]
pub struct SimRuntime {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

struct State {
    now: Instant,
    timers: Vec<(Instant, Waker)>,
    tasks: Vec<Task>,
    carbons: HashMap<u16, Arc<Mutex<Peer>>>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            now: Instant::now(),
            timers: Vec::new(),
            tasks: Vec::new(),
            carbons: HashMap::new(),
        }
    }
}

struct Task {
    future: BoxFuture<'static, ()>,
    woken: Arc<Flag>,
}

/// A wake-up flag: the waker of a simulated task.
struct Flag(AtomicBool);

impl Flag {
    fn raised() -> Arc<Self> {
        Arc::new(Self(AtomicBool::new(true)))
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

impl fmt::Debug for SimRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SimRuntime")
            .field("tasks", &state.tasks.len())
            .field("timers", &state.timers.len())
            .field("carbons", &state.carbons.len())
            .finish()
    }
}

impl SimRuntime {
    /// A simulation whose clock starts now and moves only when told or
    /// when nothing else can happen.
    pub fn new() -> Self {
        Self::default()
    }

    /// This simulation as the runtime value senders and clients take.
    pub fn runtime(&self) -> Arc<dyn Runtime> {
        Arc::new(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.lock().now
    }

    /// Moves the clock forward by `by`, waking the timers that fall due
    /// (tasks run at the next [`block_on`](Self::block_on) or
    /// [`run_until_idle`](Self::run_until_idle)).
    pub fn advance(&self, by: Duration) {
        let to = self.now() + by;
        self.advance_to(to);
    }

    fn advance_to(&self, to: Instant) {
        let due = {
            let mut state = self.lock();
            state.now = state.now.max(to);
            let now = state.now;
            let (due, later) = state.timers.drain(..).partition(|(at, _)| *at <= now);
            state.timers = later;
            due
        };
        for (_, waker) in due {
            waker.wake();
        }
    }

    /// A new simulated carbon, listening on a port of its own.
    pub fn carbon(&self) -> SimCarbon {
        let mut state = self.lock();
        let port = u16::try_from(state.carbons.len() + 2003).unwrap_or(u16::MAX);
        let peer = Arc::new(Mutex::new(Peer {
            listening: true,
            ..Peer::default()
        }));
        state.carbons.insert(port, Arc::clone(&peer));
        SimCarbon { port, peer }
    }

    /// How many spawned tasks have not finished.
    pub fn tasks(&self) -> usize {
        self.lock().tasks.len()
    }

    /// Polls every woken task until none is woken; the clock does not move.
    /// Returns whether any task ran.
    pub fn run_until_idle(&self) -> bool {
        let mut ran = false;
        while self.poll_tasks() {
            ran = true;
        }
        ran
    }

    /// Runs the tasks, advancing the clock whenever they are idle, until
    /// every task has finished.
    ///
    /// # Panics
    /// If tasks remain that nothing could ever wake (no timer is set).
    pub fn run_until_done(&self) {
        while self.tasks() > 0 {
            if !self.poll_tasks() {
                self.advance_to_next_timer();
            }
        }
    }

    /// Runs `future` to completion together with every spawned task,
    /// advancing the clock to the next timer whenever nothing can move.
    ///
    /// # Panics
    /// If neither `future` nor any task can ever move again (no task was
    /// woken and no timer is set): the test would otherwise hang.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let woken = Flag::raised();
        let waker = Waker::from(Arc::clone(&woken));
        let mut future = pin!(future);
        loop {
            let mut moved = false;
            if woken.take() {
                moved = true;
                if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker))
                {
                    return output;
                }
            }
            moved |= self.poll_tasks();
            if !moved {
                self.advance_to_next_timer();
            }
        }
    }

    /// Sleeps `by` of simulated time while the tasks run.
    pub fn sleep(&self, by: Duration) {
        let until = self.now() + by;
        self.block_on(self.sleep_until(until));
    }

    fn advance_to_next_timer(&self) {
        let next = self.lock().timers.iter().map(|(at, _)| *at).min();
        match next {
            Some(at) => self.advance_to(at),
            None => panic!("simulation stuck: nothing is woken and no timer is set ({self:?})"),
        }
    }

    /// Polls each woken task once; returns whether any was polled.
    fn poll_tasks(&self) -> bool {
        let mut tasks = std::mem::take(&mut self.lock().tasks);
        let mut polled = false;
        tasks.retain_mut(|task| {
            if !task.woken.take() {
                return true;
            }
            polled = true;
            let waker = Waker::from(Arc::clone(&task.woken));
            task.future
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        });
        let mut state = self.lock();
        // Tasks spawned meanwhile were pushed into the emptied list.
        tasks.append(&mut state.tasks);
        state.tasks = tasks;
        polled
    }
}

/// A simulated sleep: ready once the simulated clock reaches its deadline.
struct SimSleep {
    sim: SimRuntime,
    deadline: Instant,
    /// The waker last registered with the clock, so that polling again does
    /// not register again.
    registered: Option<Waker>,
}

impl Future for SimSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = &mut *self;
        let mut state = sleep.sim.lock();
        if state.now >= sleep.deadline {
            return Poll::Ready(());
        }
        if !sleep
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.timers.push((sleep.deadline, cx.waker().clone()));
            sleep.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Runtime for SimRuntime {
    fn now(&self) -> Instant {
        Self::now(self)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(SimSleep {
            sim: self.clone(),
            deadline,
            registered: None,
        })
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) -> Result<Spawned, SpawnError> {
        self.lock().tasks.push(Task {
            future: task,
            woken: Flag::raised(),
        });
        Ok(Spawned::Detached)
    }

    fn resolve(&self, _host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        Box::pin(std::future::ready(Ok(vec![SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            port,
        ))])))
    }

    fn connect_tcp(&self, addr: SocketAddr, _timeout: Duration) -> Connecting {
        let peer = self.lock().carbons.get(&addr.port()).cloned();
        let result = match peer {
            Some(peer) => SimLink::open(peer),
            None => Err(io::ErrorKind::ConnectionRefused.into()),
        };
        Box::pin(std::future::ready(result))
    }

    /// Datagrams go to the simulated carbon as a stream would.
    fn connect_udp(&self, _local: SocketAddr, peer: SocketAddr) -> Connecting {
        self.connect_tcp(peer, Duration::ZERO)
    }
}

/// One simulated carbon's state.
#[derive(Default)]
struct Peer {
    listening: bool,
    stalled: bool,
    /// The current connection's number; older ones are dead.
    connection: u64,
    alive: bool,
    received: Vec<u8>,
    waiting: Vec<Waker>,
}

impl Peer {
    fn wake_all(&mut self) {
        for waker in self.waiting.drain(..) {
            waker.wake();
        }
    }
}

/// A simulated carbon: every byte any connection wrote, in order, and
/// switches that make it stall (stop reading), die or come back.
#[derive(Clone)]
pub struct SimCarbon {
    port: u16,
    peer: Arc<Mutex<Peer>>,
}

impl fmt::Debug for SimCarbon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = self.lock();
        f.debug_struct("SimCarbon")
            .field("port", &self.port)
            .field("listening", &peer.listening)
            .field("stalled", &peer.stalled)
            .field("connections", &peer.connection)
            .field("received", &peer.received.len())
            .finish()
    }
}

impl SimCarbon {
    fn lock(&self) -> MutexGuard<'_, Peer> {
        self.peer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The port it listens on (any host name resolves to it).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`, as a ring destination names it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every byte received, over every connection.
    pub fn received(&self) -> Vec<u8> {
        self.lock().received.clone()
    }

    /// The plaintext lines received.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.lock().received)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.lock().connection
    }

    /// Stops reading: writes wait until [`resume`](Self::resume) or the
    /// connection dies.
    pub fn stall(&self) {
        self.lock().stalled = true;
    }

    /// Reads again.
    pub fn resume(&self) {
        let mut peer = self.lock();
        peer.stalled = false;
        peer.wake_all();
    }

    /// Dies: the current connection is reset and new ones are refused until
    /// [`restart`](Self::restart).
    pub fn kill(&self) {
        let mut peer = self.lock();
        peer.alive = false;
        peer.listening = false;
        peer.wake_all();
    }

    /// Accepts connections again.
    pub fn restart(&self) {
        self.lock().listening = true;
    }
}

/// A connection to a [`SimCarbon`].
struct SimLink {
    peer: Arc<Mutex<Peer>>,
    connection: u64,
}

impl SimLink {
    fn open(peer: Arc<Mutex<Peer>>) -> io::Result<Box<dyn Link>> {
        let connection = {
            let mut state = peer.lock().unwrap_or_else(|p| p.into_inner());
            if !state.listening {
                return Err(io::ErrorKind::ConnectionRefused.into());
            }
            state.connection += 1;
            state.alive = true;
            state.connection
        };
        Ok(Box::new(Self { peer, connection }))
    }

    fn lock(&self) -> MutexGuard<'_, Peer> {
        self.peer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_dead(&self, peer: &Peer) -> bool {
        !peer.alive || peer.connection != self.connection
    }
}

impl Link for SimLink {
    fn poll_write(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        let mut peer = self.lock();
        if self.is_dead(&peer) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if peer.stalled {
            peer.waiting.push(cx.waker().clone());
            return Poll::Pending;
        }
        peer.received.extend_from_slice(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let mut peer = self.lock();
        if self.is_dead(&peer) {
            return Poll::Ready(io::ErrorKind::ConnectionReset.into());
        }
        peer.waiting.push(cx.waker().clone());
        Poll::Pending
    }

    fn send_queue(&self) -> Option<usize> {
        None
    }
}
