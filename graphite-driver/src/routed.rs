//! [`RoutedSender`]: several carbons routed by a consistent-hash ring. One
//! ordinary [`Sender`] per destination (its own buffer, backoff, replay and
//! task); the core's [`Router`] decides where each datapoint goes, from
//! each destination sender's own health.

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

use crate::handle::DROP_FLUSH_TIMEOUT;
use crate::{Runtime, Sender, SenderTask, SpawnError};

/// A cheap, cloneable handle to one background sender per carbon
/// destination, each datapoint routed by its series over a [`Ring`]
/// exactly as carbon-relay or carbon-c-relay would route it.
///
/// Each destination has its own [`Sender`] (buffer of
/// [`buffer_capacity`](SenderConfig::buffer_capacity), backoff, replay,
/// task). With replication R, each datapoint is pushed R times, one copy
/// per destination, and each copy is counted once in its destination's
/// stats ([`RoutedStats`]; the total counts copies). The [`Failover`]
/// policy says what happens to a series whose destination is down; the
/// destination's health is its sender's own (in an outage or not).
///
/// Its calls are the [`Sender`]'s, in the same three kinds (never waiting,
/// async, blocking).
///
/// ```
/// use std::sync::Arc;
/// use graphite_driver::{Runtime, RoutedSender};
/// use graphite_proto::ring::{Compat, HashType, RingConfig};
/// use graphite_proto::router::Failover;
/// use graphite_proto::{Protocol, sender::SenderConfig};
///
/// fn start(runtime: Arc<dyn Runtime>) -> Result<(), Box<dyn std::error::Error>> {
///     let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
///         .build_from_strs(["10.0.0.1:2004:a", "10.0.0.2:2004:b"])?;
///     let sender = RoutedSender::spawn(runtime, ring, Failover::Hold, SenderConfig::new(Protocol::Pickle))?;
///     sender.send("servers.web1.cpu", 0.25, None)?;
///     assert_eq!(sender.stats().destinations.len(), 2);
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct RoutedSender {
    routed: Arc<Routed>,
}

/// The router, one sender per destination, and the refusals that never
/// reached one.
struct Routed {
    router: Router,
    subs: Vec<Sender>,
    unrouted: Mutex<Dropped>,
}

impl fmt::Debug for RoutedSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutedSender")
            .field("destinations", &self.routed.router.ring().destinations())
            .field("failover", &self.routed.router.failover())
            .field("stats", &self.stats().total())
            .finish()
    }
}

impl Drop for Routed {
    fn drop(&mut self) {
        // Every destination flushes at once, not one after the other as
        // the senders are dropped (a thread sender joins its thread).
        for sub in &self.subs {
            sub.handle().begin_close(DROP_FLUSH_TIMEOUT);
        }
    }
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

impl RoutedSender {
    /// Starts one sender per destination of `ring` on `runtime`, routed
    /// under `failover`.
    pub fn spawn(
        runtime: Arc<dyn Runtime>,
        ring: Ring,
        failover: Failover,
        config: SenderConfig,
    ) -> Result<Self, SpawnError> {
        Self::build(ring, failover, config, |host, port, config| {
            Sender::spawn(Arc::clone(&runtime), host, port, config)
        })
    }

    /// A routed sender and one task that drives every destination, for you
    /// to spawn on the executor of your choice.
    pub fn start(
        runtime: Arc<dyn Runtime>,
        ring: Ring,
        failover: Failover,
        config: SenderConfig,
    ) -> Result<(Self, SenderTask), SpawnError> {
        let mut tasks = Vec::new();
        let sender = Self::build(ring, failover, config, |host, port, config| {
            let (sub, task) = Sender::start(Arc::clone(&runtime), host, port, config)?;
            tasks.push(Some(task));
            Ok(sub)
        })?;
        Ok((sender, Box::pin(JoinAll(tasks))))
    }

    /// The router and one sender per destination, made by `start`: the
    /// naming moves to the router (the ring must hash the name carbon
    /// receives); each destination's sender gets the rest of the
    /// configuration.
    fn build(
        ring: Ring,
        failover: Failover,
        mut config: SenderConfig,
        mut start: impl FnMut(&str, u16, SenderConfig) -> Result<Sender, SpawnError>,
    ) -> Result<Self, SpawnError> {
        config.validate()?;
        let naming = std::mem::take(&mut config.naming);
        let router = Router::new(ring, failover)?.with_naming(naming);
        let subs = router
            .ring()
            .destinations()
            .iter()
            .map(|d| {
                let mut config = config.clone();
                if let Some(spool) = config.spool.as_mut() {
                    // A spool of its own for each destination, in a
                    // subdirectory named after it, each with the limit.
                    let name: String = format!("{}_{}", d.host(), d.port())
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '.' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    spool.dir = spool.dir.join(name);
                }
                start(d.host(), d.port(), config)
            })
            .collect::<Result<_, _>>()?;
        let routed = Routed {
            router,
            subs,
            unrouted: Mutex::new(Dropped::default()),
        };
        Ok(Self {
            routed: Arc::new(routed),
        })
    }

    /// The router: the ring and the failover policy.
    pub fn router(&self) -> &Router {
        &self.routed.router
    }

    /// Buffers one datapoint (`timestamp: None` means now) at its
    /// destination(s) and returns at once, never waiting for the network;
    /// the first refusal of a copy is returned, and every copy is counted
    /// by its destination.
    pub fn send(
        &self,
        metric: impl IntoMetricPath,
        value: impl IntoValue,
        timestamp: Option<i64>,
    ) -> Result<(), PushError> {
        let converted = metric
            .into_metric_path()
            .map_err(PushError::from)
            .and_then(|path| Ok((path, value.into_value()?)));
        let (path, value) = converted.inspect_err(|_| self.count_unrouted(1))?;
        let timestamp = timestamp.unwrap_or_else(crate::unix_now);
        self.push(&Datapoint::new(path, value, timestamp))
    }

    /// Buffers a datapoint already built at its destination(s); never waits.
    pub fn push(&self, dp: &Datapoint) -> Result<(), PushError> {
        let (named, routes) = self.route(dp)?;
        first_error(routes.iter().map(|&d| self.routed.subs[d].push(&named)))
    }

    /// Buffers every datapoint of `batch` at its destination(s), one lock
    /// per destination; never waits. The error's `dropped` counts copies.
    pub fn push_many(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let split = self.split(batch);
        let results: Vec<_> = self
            .shares(&split)
            .map(|(sub, share)| match share {
                [] => Ok(()),
                share => sub.push_many(share),
            })
            .collect();
        split.merge(batch.len(), &results)
    }

    /// The counters, per destination and in total.
    pub fn stats(&self) -> RoutedStats {
        let unrouted = *self
            .routed
            .unrouted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        RoutedStats::new(
            self.routed.subs.iter().map(Sender::stats).collect(),
            unrouted,
        )
    }

    /// Each destination's health, in the ring's order: when its current
    /// outage began, or `None` while it is up.
    pub fn outages(&self) -> Vec<Option<Instant>> {
        self.routed.subs.iter().map(Sender::outage_since).collect()
    }

    /// [`push`](Self::push), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// waits for room at each destination, all within the policy's time.
    pub async fn push_wait(&self, dp: &Datapoint) -> Result<(), PushError> {
        let deadline = self.wait_deadline();
        let (named, routes) = self.route(dp)?;
        let mut result = Ok(());
        for &d in routes.iter() {
            let pushed = self.routed.subs[d].push_wait_until(&named, deadline).await;
            result = result.and(pushed);
        }
        result
    }

    /// [`push_many`](Self::push_many), but under
    /// [`OverflowPolicy::Wait`](graphite_proto::sender::OverflowPolicy::Wait)
    /// each destination's share goes in as room frees up, all within the
    /// policy's time; what still waits then is dropped and counted.
    pub async fn push_many_wait(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let deadline = self.wait_deadline();
        let split = self.split(batch);
        let mut results = Vec::with_capacity(self.routed.subs.len());
        for (sub, share) in self.shares(&split) {
            results.push(match share {
                [] => Ok(()),
                share => sub.push_many_wait_until(share, deadline).await,
            });
        }
        split.merge(batch.len(), &results)
    }

    /// Flushes every destination at once; what is not written within
    /// `timeout` is dropped and counted. Returns the stats after.
    pub async fn flush(&self, timeout: Duration) -> RoutedStats {
        for sub in &self.routed.subs {
            sub.handle().begin_flush(timeout);
        }
        for sub in &self.routed.subs {
            sub.handle().flushed().await;
        }
        self.stats()
    }

    /// Flushes and closes every destination (at once, within `timeout`)
    /// and stops their tasks.
    pub async fn close(&self, timeout: Duration) -> RoutedStats {
        for sub in &self.routed.subs {
            sub.handle().begin_close(timeout);
        }
        for sub in &self.routed.subs {
            sub.handle().closed().await;
        }
        self.stats()
    }

    /// [`push_wait`](Self::push_wait), blocking the calling thread.
    pub fn push_wait_blocking(&self, dp: &Datapoint) -> Result<(), PushError> {
        let deadline = self.wait_deadline();
        let (named, routes) = self.route(dp)?;
        first_error(routes.iter().map(|&d| {
            let handle = self.routed.subs[d].handle();
            handle.push_wait_blocking(&named, deadline)
        }))
    }

    /// [`push_many_wait`](Self::push_many_wait), blocking the calling thread.
    pub fn push_many_wait_blocking(&self, batch: &[Datapoint]) -> Result<(), PushManyError> {
        let deadline = self.wait_deadline();
        let split = self.split(batch);
        let results: Vec<_> = self
            .shares(&split)
            .map(|(sub, share)| match share {
                [] => Ok(()),
                share => sub.handle().push_many_wait_blocking(share, deadline),
            })
            .collect();
        split.merge(batch.len(), &results)
    }

    /// [`flush`](Self::flush), blocking the calling thread.
    pub fn flush_blocking(&self, timeout: Duration) -> RoutedStats {
        for sub in &self.routed.subs {
            sub.handle().begin_flush(timeout);
        }
        for sub in &self.routed.subs {
            sub.handle().flushed_blocking(timeout);
        }
        self.stats()
    }

    /// [`close`](Self::close), blocking the calling thread.
    pub fn close_blocking(&self, timeout: Duration) -> RoutedStats {
        for sub in &self.routed.subs {
            sub.handle().begin_close(timeout);
        }
        for sub in &self.routed.subs {
            sub.handle().closed_blocking(timeout);
        }
        self.stats()
    }

    /// When a wait for room that starts now gives up: one deadline for
    /// every destination.
    fn wait_deadline(&self) -> Instant {
        self.routed
            .subs
            .first()
            .map_or_else(Instant::now, Sender::wait_deadline)
    }

    /// Each destination's health, read from its own sender (only when the
    /// policy needs it).
    fn down(&self) -> Vec<bool> {
        if !self.routed.router.needs_health() {
            return Vec::new();
        }
        self.outages().iter().map(Option::is_some).collect()
    }

    fn count_unrouted(&self, count: u64) {
        if count > 0 {
            let mut unrouted = self
                .routed
                .unrouted
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            unrouted.invalid += count;
        }
    }

    /// The named datapoint and its destinations; a refusal is counted.
    fn route(&self, dp: &Datapoint) -> Result<(Datapoint, Routes), PushError> {
        let router = &self.routed.router;
        let named = router.named(dp).inspect_err(|_| self.count_unrouted(1))?;
        let down = self.down();
        let mut routes = Routes::default();
        router.route_into(
            named.path.as_str(),
            |d| down.get(d).copied().unwrap_or(false),
            &mut routes,
        );
        Ok((named, routes))
    }

    /// `batch` split by destination; refusals are counted.
    fn split(&self, batch: &[Datapoint]) -> Split {
        let down = self.down();
        let mut split = Split::default();
        self.routed
            .router
            .split(batch, |d| down.get(d).copied().unwrap_or(false), &mut split);
        self.count_unrouted(split.refused().len() as u64);
        split
    }

    /// Each destination's sender with its share of a split (possibly empty).
    fn shares<'a>(
        &'a self,
        split: &'a Split,
    ) -> impl Iterator<Item = (&'a Sender, &'a [Datapoint])> {
        self.routed
            .subs
            .iter()
            .enumerate()
            .map(|(d, sub)| (sub, split.group(d)))
    }
}

/// The first error of several pushes (every one is counted by its sender).
fn first_error(results: impl Iterator<Item = Result<(), PushError>>) -> Result<(), PushError> {
    results.fold(Ok(()), Result::and)
}
