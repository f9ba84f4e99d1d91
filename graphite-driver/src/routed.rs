//! Sending to several carbons routed by a consistent-hash ring, written
//! once: [`RoutedSender`] for any async [`Runtime`] and
//! [`BlockingRoutedSender`] for threads. One ordinary sender per
//! destination (its own buffer, backoff, replay and driver); the
//! [`Router`] of the core decides where each datapoint goes, from each
//! destination sender's own health.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use graphite_proto::Datapoint;
use graphite_proto::client::{IntoMetricPath, IntoValue};
use graphite_proto::ring::Ring;
use graphite_proto::router::{Failover, RoutedStats, Router, Routes, Split};
use graphite_proto::sender::{Dropped, PushError, PushManyError, SenderConfig};

use crate::handle::{DROP_FLUSH_TIMEOUT, Handle};
use crate::{BlockingRuntime, BlockingSender, Runtime, Sender, SenderTask, Spawn, SpawnError};

/// A destination's sender, as the routing layer sees it.
trait Sub {
    fn handle(&self) -> &Handle;
}

impl<R> Sub for Sender<R> {
    fn handle(&self) -> &Handle {
        Self::handle(self)
    }
}

impl<R> Sub for BlockingSender<R> {
    fn handle(&self) -> &Handle {
        Self::handle(self)
    }
}

/// What the async and blocking routed senders share: the router, one
/// sender per destination, and the refusals that never reached one.
struct Routed<S: Sub> {
    router: Router,
    subs: Vec<S>,
    unrouted: Mutex<Dropped>,
}

/// The router and one sender per destination, made by `start`: the naming
/// moves to the router (the ring must hash the name carbon receives); each
/// destination's sender gets the rest of the configuration.
fn start_all<S: Sub>(
    ring: Ring,
    failover: Failover,
    mut config: SenderConfig,
    mut start: impl FnMut(&str, u16, SenderConfig) -> Result<S, SpawnError>,
) -> Result<Arc<Routed<S>>, SpawnError> {
    config.validate()?;
    let naming = std::mem::take(&mut config.naming);
    let router = Router::new(ring, failover)?.with_naming(naming);
    let subs = router
        .ring()
        .destinations()
        .iter()
        .map(|d| start(d.host(), d.port(), config.clone()))
        .collect::<Result<_, _>>()?;
    Ok(Arc::new(Routed {
        router,
        subs,
        unrouted: Mutex::new(Dropped::default()),
    }))
}

impl<S: Sub> Routed<S> {
    /// Each destination's health, read from its own sender (only when the
    /// policy needs it).
    fn down(&self) -> Vec<bool> {
        if !self.router.needs_health() {
            return Vec::new();
        }
        self.subs
            .iter()
            .map(|s| s.handle().outage_since().is_some())
            .collect()
    }

    fn count_unrouted(&self, count: u64) {
        if count > 0 {
            let mut unrouted = self
                .unrouted
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            unrouted.invalid += count;
        }
    }

    /// The named datapoint and its destinations; a refusal is counted.
    fn route(&self, dp: &Datapoint) -> Result<(Datapoint, Routes), PushError> {
        let named = self
            .router
            .named(dp)
            .inspect_err(|_| self.count_unrouted(1))?;
        let down = self.down();
        let mut routes = Routes::default();
        self.router.route_into(
            named.path.as_str(),
            |d| down.get(d).copied().unwrap_or(false),
            &mut routes,
        );
        Ok((named, routes))
    }

    fn split(&self, batch: &[Datapoint]) -> Split {
        let down = self.down();
        let mut split = Split::default();
        self.router
            .split(batch, |d| down.get(d).copied().unwrap_or(false), &mut split);
        self.count_unrouted(split.refused().len() as u64);
        split
    }

    fn datapoint(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<Datapoint, PushError> {
        let converted = metric
            .into_metric_path()
            .map_err(PushError::from)
            .and_then(|path| Ok((path, value.into_value()?)));
        let (path, value) = converted.inspect_err(|_| self.count_unrouted(1))?;
        Ok(Datapoint::new(
            path,
            value,
            timestamp.unwrap_or_else(crate::unix_now),
        ))
    }

    /// Pushes every copy with `push`; the first refusal is returned, every
    /// one is counted by its destination.
    fn push_with(
        &self,
        dp: &Datapoint,
        mut push: impl FnMut(&Handle, &Datapoint) -> Result<(), PushError>,
    ) -> Result<(), PushError> {
        let (named, routes) = self.route(dp)?;
        let mut result = Ok(());
        for &d in routes.iter() {
            let pushed = push(self.subs[d].handle(), &named);
            if result.is_ok() {
                result = pushed;
            }
        }
        result
    }

    fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let split = self.split(batch);
        let results: Vec<_> = self
            .subs
            .iter()
            .enumerate()
            .map(|(d, s)| match split.group(d) {
                [] => Ok(()),
                group => s.handle().push_many(group),
            })
            .collect();
        split.merge(batch.len(), &results)
    }

    fn stats(&self) -> RoutedStats {
        let unrouted = *self
            .unrouted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        RoutedStats::new(
            self.subs.iter().map(|s| s.handle().stats()).collect(),
            unrouted,
        )
    }

    fn outages(&self) -> Vec<Option<Instant>> {
        self.handles().map(Handle::outage_since).collect()
    }

    fn handles(&self) -> impl Iterator<Item = &Handle> {
        self.subs.iter().map(Sub::handle)
    }

    fn wait_deadline(&self) -> Instant {
        let limit = self
            .subs
            .first()
            .map_or(Duration::ZERO, |s| s.handle().wait_limit());
        Instant::now() + limit
    }
}

impl<S: Sub> Drop for Routed<S> {
    fn drop(&mut self) {
        // Every destination flushes at once, not one after the other as
        // the senders are dropped (a thread sender joins its thread).
        for handle in self.handles() {
            handle.begin_close(DROP_FLUSH_TIMEOUT);
        }
    }
}

impl<S: Sub> fmt::Debug for Routed<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutedSender")
            .field("destinations", &self.router.ring().destinations())
            .field("failover", &self.router.failover())
            .field("stats", &self.stats().total())
            .finish()
    }
}

/// What both routed senders offer in the same words: `Clone`, `Debug`,
/// and the calls that never wait.
macro_rules! routed_surface {
    ($name:ident, $bound:ident, $never:literal) => {
        impl<R> Clone for $name<R> {
            fn clone(&self) -> Self {
                Self {
                    routed: Arc::clone(&self.routed),
                }
            }
        }

        impl<R> fmt::Debug for $name<R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.routed.fmt(f)
            }
        }

        impl<R: $bound> $name<R> {
            /// The router: the ring and the failover policy.
            pub fn router(&self) -> &Router {
                &self.routed.router
            }

            #[doc = concat!("Buffers one datapoint (`timestamp: None` means now) at its destination(s) and returns at once, never ", $never, "; the first refusal of a copy is returned, and every copy is counted by its destination.")]
            pub fn send(
                &self,
                metric: impl IntoMetricPath,
                value: impl IntoValue,
                timestamp: Option<i64>,
            ) -> Result<(), PushError> {
                let dp = self.routed.datapoint(metric, value, timestamp)?;
                self.push(&dp)
            }

            #[doc = concat!("Buffers a datapoint already built at its destination(s); never ", $never, ".")]
            pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
                self.routed.push_with(dp, Handle::push)
            }

            #[doc = concat!("Buffers every datapoint of `batch` at its destination(s), one lock per destination; never ", $never, ". The error's `dropped` counts copies.")]
            pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
                self.routed.push_many(batch)
            }

            /// The counters, per destination and in total.
            pub fn stats(&self) -> RoutedStats {
                self.routed.stats()
            }

            /// Each destination's health, in the ring's order: when its
            /// current outage began, or `None` while it is up.
            pub fn outages(&self) -> Vec<Option<Instant>> {
                self.routed.outages()
            }
        }
    };
}

/// Runs the destinations' tasks together.
struct JoinAll(Vec<Option<SenderTask>>);

impl Future for JoinAll {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut pending = false;
        for slot in &mut self.0 {
            if let Some(task) = slot {
                if task.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// A cheap, cloneable handle to a background sender per carbon destination
/// on runtime `R`, each datapoint routed by its series over a [`Ring`]
/// exactly as carbon-relay or carbon-c-relay would route it.
///
/// Each destination has its own sender (buffer of
/// [`buffer_capacity`](SenderConfig::buffer_capacity), backoff, replay,
/// task). With replication R, each datapoint is pushed R times, one copy
/// per destination, and each copy is counted once in its destination's
/// stats ([`RoutedStats`]; the total counts copies). The [`Failover`]
/// policy says what happens to a series whose destination is down; the
/// destination's health is its sender's own (in an outage or not).
///
/// The adapters name it for their runtime: `graphite_tokio::RoutedSender`,
/// `graphite_async_std::RoutedSender`.
///
/// ```
/// use graphite_driver::{RoutedSender, Runtime};
/// use graphite_proto::ring::{Compat, HashType, RingConfig};
/// use graphite_proto::router::Failover;
/// use graphite_proto::{Protocol, sender::SenderConfig};
///
/// fn start<R: Runtime>() -> Result<(), Box<dyn std::error::Error>> {
///     let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
///         .build_from_strs(["10.0.0.1:2004:a", "10.0.0.2:2004:b"])?;
///     let (sender, task) = RoutedSender::<R>::start(ring, Failover::Hold, SenderConfig::new(Protocol::Pickle))?;
///     // spawn `task` on your executor, then:
///     sender.send("servers.web1.cpu", 0.25, None)?;
///     drop(task);
///     Ok(())
/// }
/// ```
pub struct RoutedSender<R> {
    routed: Arc<Routed<Sender<R>>>,
}

routed_surface!(RoutedSender, Runtime, "waiting for the network");

impl<R: Spawn> RoutedSender<R> {
    /// Starts one I/O task per destination on the runtime (for tokio, the
    /// current one).
    pub fn spawn(ring: Ring, failover: Failover, config: SenderConfig) -> Result<Self, SpawnError> {
        let routed = start_all(ring, failover, config, Sender::spawn)?;
        Ok(Self { routed })
    }
}

impl<R: Runtime> RoutedSender<R> {
    /// A routed sender and one task that drives every destination, for you
    /// to spawn on the executor of your choice.
    pub fn start(
        ring: Ring,
        failover: Failover,
        config: SenderConfig,
    ) -> Result<(Self, SenderTask), SpawnError> {
        let mut tasks = Vec::new();
        let routed = start_all(ring, failover, config, |host, port, config| {
            let (sub, task) = Sender::start(host, port, config)?;
            tasks.push(Some(task));
            Ok(sub)
        })?;
        Ok((Self { routed }, Box::pin(JoinAll(tasks))))
    }

    /// [`push`](Self::push), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// waits for room at each destination, all within the policy's time.
    pub async fn push_wait(&self, dp: &Datapoint) -> Result<(), PushError> {
        let deadline = self.routed.wait_deadline();
        let (named, routes) = self.routed.route(dp)?;
        let mut result = Ok(());
        for &d in routes.iter() {
            let handle = self.routed.subs[d].handle();
            let pushed = handle.push_wait(&named, R::sleep_until(deadline)).await;
            if result.is_ok() {
                result = pushed;
            }
        }
        result
    }

    /// [`push_many`](Self::push_many), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// each destination's share goes in as room frees up, all within the
    /// policy's time; what still waits then is dropped and counted.
    pub async fn push_many_wait(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let deadline = self.routed.wait_deadline();
        let split = self.routed.split(batch);
        let mut results = Vec::with_capacity(self.routed.subs.len());
        for (d, sub) in self.routed.subs.iter().enumerate() {
            results.push(match split.group(d) {
                [] => Ok(()),
                group => {
                    let give_up = R::sleep_until(deadline);
                    sub.handle().push_many_wait(group, give_up).await
                }
            });
        }
        split.merge(batch.len(), &results)
    }

    /// Flushes every destination at once; what is not written within
    /// `timeout` is dropped and counted. Returns the stats after.
    pub async fn flush(&self, timeout: Duration) -> RoutedStats {
        for handle in self.routed.handles() {
            handle.begin_flush(timeout);
        }
        for handle in self.routed.handles() {
            handle.flushed().await;
        }
        self.stats()
    }

    /// Flushes and closes every destination (at once, within `timeout`)
    /// and stops their tasks.
    pub async fn close(&self, timeout: Duration) -> RoutedStats {
        for handle in self.routed.handles() {
            handle.begin_close(timeout);
        }
        for handle in self.routed.handles() {
            handle.closed().await;
        }
        self.stats()
    }
}

/// A cheap, cloneable handle to one background sender thread per carbon
/// destination, each datapoint routed by its series over a [`Ring`]: the
/// thread counterpart of [`RoutedSender`], with the same routing,
/// failover and accounting.
///
/// `graphite_blocking::RoutedSender` names it for std::net.
///
/// ```
/// use graphite_driver::{BlockingRoutedSender, BlockingRuntime};
/// use graphite_proto::ring::{Compat, HashType, RingConfig};
/// use graphite_proto::router::Failover;
/// use graphite_proto::{Protocol, sender::SenderConfig};
///
/// fn start<R: BlockingRuntime>() -> Result<(), Box<dyn std::error::Error>> {
///     let ring = RingConfig::new(Compat::CarbonCRelay, HashType::JumpFnv1aCh)
///         .build_from_strs(["10.0.0.1:2003:1", "10.0.0.2:2003:2"])?;
///     let sender = BlockingRoutedSender::<R>::spawn(ring, Failover::Reroute, SenderConfig::new(Protocol::Plaintext))?;
///     sender.send("servers.web1.cpu", 0.25, None)?;
///     let stats = sender.close(std::time::Duration::from_secs(5));
///     assert_eq!(stats.destinations.len(), 2);
///     Ok(())
/// }
/// ```
pub struct BlockingRoutedSender<R> {
    routed: Arc<Routed<BlockingSender<R>>>,
}

routed_surface!(
    BlockingRoutedSender,
    BlockingRuntime,
    "blocking on the network"
);

impl<R: BlockingRuntime> BlockingRoutedSender<R> {
    /// Starts one I/O thread per destination.
    pub fn spawn(ring: Ring, failover: Failover, config: SenderConfig) -> Result<Self, SpawnError> {
        let routed = start_all(ring, failover, config, BlockingSender::spawn)?;
        Ok(Self { routed })
    }

    /// [`push`](Self::push), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// blocks for room at each destination, all within the policy's time.
    pub fn push_wait(&self, dp: &Datapoint) -> Result<(), PushError> {
        let deadline = self.routed.wait_deadline();
        self.routed
            .push_with(dp, |h, dp| h.push_wait_blocking(dp, deadline))
    }

    /// [`push_many`](Self::push_many), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// each destination's share goes in as room frees up, all within the
    /// policy's time.
    pub fn push_many_wait(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let deadline = self.routed.wait_deadline();
        let split = self.routed.split(batch);
        let results: Vec<_> = self
            .routed
            .subs
            .iter()
            .enumerate()
            .map(|(d, s)| match split.group(d) {
                [] => Ok(()),
                group => s.handle().push_many_wait_blocking(group, deadline),
            })
            .collect();
        split.merge(batch.len(), &results)
    }

    /// Flushes every destination at once within `timeout`.
    pub fn flush(&self, timeout: Duration) -> RoutedStats {
        for handle in self.routed.handles() {
            handle.begin_flush(timeout);
        }
        for handle in self.routed.handles() {
            handle.flushed_blocking();
        }
        self.stats()
    }

    /// Flushes and closes every destination (at once, within `timeout`)
    /// and stops their threads.
    pub fn close(&self, timeout: Duration) -> RoutedStats {
        for handle in self.routed.handles() {
            handle.begin_close(timeout);
        }
        for handle in self.routed.handles() {
            handle.closed_blocking();
        }
        self.stats()
    }
}
