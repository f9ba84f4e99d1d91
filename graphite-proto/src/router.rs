//! Routing datapoints over a [`Ring`] of carbon destinations, sans-IO: which
//! destination(s) take each datapoint, given each destination's health and
//! a [`Failover`] policy. The I/O side keeps one
//! [`sender::Sender`](crate::sender::Sender) per destination (its own
//! buffer, backoff and replay) and reads a destination's health from that
//! sender's own state machine ([`Sender::outage_since`](crate::sender::Sender::outage_since)).
//!
//! ```
//! use graphite_proto::ring::{Compat, HashType, RingConfig};
//! use graphite_proto::router::{Failover, Router, Routes};
//!
//! let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
//!     .build_from_strs(["10.0.0.1:2004:a", "10.0.0.2:2004:b", "10.0.0.3:2004:c"])?;
//! let router = Router::new(ring, Failover::Reroute)?;
//! let mut routes = Routes::default();
//! router.route_into("servers.web1.cpu", |_| false, &mut routes);
//! let home = routes[0];
//! // While its destination is down, the series goes to the next ring node.
//! router.route_into("servers.web1.cpu", |d| d == home, &mut routes);
//! assert_ne!(routes[0], home);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ops::Deref;

use crate::datapoint::Datapoint;
use crate::naming::Naming;
use crate::ring::{Ring, RingError};
use crate::sender::{Dropped, PushError, PushManyError, Stats};

/// What happens to a series whose destination is down.
///
/// - [`Hold`](Self::Hold) (the default) never changes placement: the down
///   destination's own sender buffers its datapoints and replays them when
///   it is back. Every series stays on the cache that owns it, as behind
///   carbon-relay; the price is that nothing of those series reaches
///   Graphite during the outage, and an outage longer than the buffer
///   drops datapoints (counted).
/// - [`Reroute`](Self::Reroute) puts availability first: while a
///   destination is down, its series go to the next destination up on the
///   ring (the next node clockwise, as if the down one were removed).
///   Queries see recent data during the outage, but those datapoints live
///   on another cache than the rest of their series until someone merges
///   them back (carbonate's `carbon-sync`, say). What the down
///   destination had already buffered before it was known to be down stays
///   with it and is replayed there.
///
/// ```
/// use graphite_proto::router::Failover;
/// assert_eq!(Failover::default(), Failover::Hold);
/// assert_eq!("reroute".parse::<Failover>()?, Failover::Reroute);
/// assert_eq!(Failover::Hold.to_string(), "hold");
/// # Ok::<(), graphite_proto::router::ParseFailoverError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failover {
    /// Placement never changes; a down destination's sender holds and
    /// replays.
    #[default]
    Hold,
    /// While a destination is down, its series go to the next ring node
    /// that is up.
    Reroute,
}

/// A failover policy name other than `hold` or `reroute`.
///
/// ```
/// use graphite_proto::router::Failover;
/// let err = "retry".parse::<Failover>().unwrap_err();
/// assert_eq!(err.text, "retry");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown failover policy {text:?}: expected hold or reroute")]
pub struct ParseFailoverError {
    /// What was given.
    pub text: String,
}

impl std::str::FromStr for Failover {
    type Err = ParseFailoverError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hold" => Ok(Self::Hold),
            "reroute" => Ok(Self::Reroute),
            _ => Err(ParseFailoverError { text: s.to_owned() }),
        }
    }
}

impl std::fmt::Display for Failover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Hold => "hold",
            Self::Reroute => "reroute",
        })
    }
}

/// One name's destinations, primary first, with the scratch space the
/// router needs to find them: reuse one across calls and routing allocates
/// nothing once it has grown.
///
/// ```
/// use graphite_proto::router::Routes;
/// let routes = Routes::default();
/// assert!(routes.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Routes {
    chosen: Vec<usize>,
    walk: Vec<usize>,
}

impl Deref for Routes {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        &self.chosen
    }
}

/// Decides which destination(s) of a [`Ring`] take each datapoint, under a
/// [`Failover`] policy, with the naming (prefix, default tags) applied
/// first so that the ring hashes the name carbon will receive.
///
/// ```
/// use graphite_proto::ring::{Compat, HashType, RingConfig};
/// use graphite_proto::router::{Failover, Router, Routes};
///
/// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
///     .replication(2)
///     .diverse_replicas(false)
///     .build_from_strs(["h:2004:a", "h:2004:b", "h:2004:c"])?;
/// let router = Router::new(ring.clone(), Failover::Hold)?;
/// let mut routes = Routes::default();
/// router.route_into("a.b", |_| true, &mut routes);
/// assert_eq!(&routes[..], &ring.route("a.b")[..], "hold never moves a series");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Router {
    ring: Ring,
    /// The same ring asked for every destination, without diversity: the
    /// order in which the ring's walk meets the destinations from a name's
    /// position. `None` under [`Failover::Hold`].
    walk: Option<Ring>,
    failover: Failover,
    naming: Naming,
}

impl Router {
    /// A router over `ring` with the `failover` policy.
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// use graphite_proto::router::{Failover, Router};
    /// let ring = RingConfig::new(Compat::CarbonCRelay, HashType::JumpFnv1aCh)
    ///     .build_from_strs(["h:2003:1", "h:2103:2"])?;
    /// let router = Router::new(ring, Failover::Reroute)?;
    /// assert_eq!(router.failover(), Failover::Reroute);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(ring: Ring, failover: Failover) -> Result<Self, RingError> {
        let walk = match failover {
            Failover::Hold => None,
            Failover::Reroute => Some(
                ring.config()
                    .replication(ring.destinations().len())
                    .diverse_replicas(false)
                    .build(ring.destinations().to_vec())?,
            ),
        };
        Ok(Self {
            ring,
            walk,
            failover,
            naming: Naming::default(),
        })
    }

    /// Applies `naming` (prefix, default tags) to every datapoint before it
    /// is routed, so the ring hashes the name carbon receives. Give the
    /// destinations' senders no naming of their own.
    ///
    /// ```
    /// use graphite_proto::Naming;
    /// use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// use graphite_proto::router::{Failover, Router};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:1:a"])?;
    /// let router = Router::new(ring, Failover::Hold)?.with_naming(Naming::default().with_prefix("prod")?);
    /// assert_eq!(router.naming().prefix().map(|p| p.as_str()), Some("prod"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use = "returns the new router"]
    pub fn with_naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// The ring.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// # use graphite_proto::router::{Failover, Router};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:1:a"])?;
    /// assert_eq!(Router::new(ring, Failover::Hold)?.ring().destinations().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The failover policy.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// # use graphite_proto::router::{Failover, Router};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:1:a"])?;
    /// assert_eq!(Router::new(ring, Failover::Hold)?.failover(), Failover::Hold);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn failover(&self) -> Failover {
        self.failover
    }

    /// The naming applied before routing.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// # use graphite_proto::router::{Failover, Router};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:1:a"])?;
    /// assert!(Router::new(ring, Failover::Hold)?.naming().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// Whether routing depends on health: callers may skip reading it
    /// under [`Failover::Hold`].
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// # use graphite_proto::router::{Failover, Router};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:1:a"])?;
    /// assert!(!Router::new(ring, Failover::Hold)?.needs_health());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn needs_health(&self) -> bool {
        self.walk.is_some() && self.ring.destinations().len() > 1
    }

    /// Writes the destinations of `name` into `routes`, primary first,
    /// distinct. `is_down(index)` tells whether destination `index` is in an
    /// outage (read from its sender's
    /// [`outage_since`](crate::sender::Sender::outage_since)).
    ///
    /// Under [`Failover::Hold`] this is the ring's own route whatever the
    /// health. Under [`Failover::Reroute`] each replica that is down is
    /// replaced by the first destination up, not already chosen, in the
    /// order the ring's walk meets them from the name's position (for
    /// Python carbon's ring, exactly where the name would go with the down
    /// destination removed; replacements ignore `DIVERSE_REPLICAS`). When
    /// every destination is down, the route is the ring's own: the senders
    /// hold.
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// use graphite_proto::router::{Failover, Router, Routes};
    ///
    /// let ring = RingConfig::new(Compat::CarbonCRelay, HashType::CarbonCh)
    ///     .build_from_strs(["h:1", "h:2", "h:3"])?;
    /// let router = Router::new(ring, Failover::Reroute)?;
    /// let mut routes = Routes::default();
    /// router.route_into("x.y", |_| true, &mut routes);
    /// assert_eq!(routes.len(), 1, "all down: the ring's own route, held");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn route_into(
        &self,
        name: impl AsRef<[u8]>,
        is_down: impl Fn(usize) -> bool,
        routes: &mut Routes,
    ) {
        let name = name.as_ref();
        self.ring.route_into(name, &mut routes.chosen);
        let Some(walk) = &self.walk else {
            return;
        };
        if !routes.chosen.iter().any(|&d| is_down(d)) {
            return;
        }
        walk.route_into(name, &mut routes.walk);
        for slot in 0..routes.chosen.len() {
            if !is_down(routes.chosen[slot]) {
                continue;
            }
            let next = routes
                .walk
                .iter()
                .copied()
                .find(|&d| !is_down(d) && !routes.chosen.contains(&d));
            if let Some(next) = next {
                routes.chosen[slot] = next;
            }
        }
    }

    /// Splits `batch` by destination into `split`: each datapoint, named
    /// (prefix and default tags applied), goes to each of its routes (one
    /// copy per replica). A datapoint whose name becomes invalid with the
    /// naming goes nowhere and is recorded in the split's
    /// [`refused`](Split::refused).
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// use graphite_proto::router::{Failover, Router, Split};
    /// use graphite_proto::{Datapoint, MetricPath};
    ///
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
    ///     .replication(2)
    ///     .diverse_replicas(false)
    ///     .build_from_strs(["h:1:a", "h:1:b", "h:1:c"])?;
    /// let router = Router::new(ring, Failover::Hold)?;
    /// let batch: Vec<Datapoint> = (0..10)
    ///     .map(|i| Datapoint::new(MetricPath::new(&format!("m{i}")).unwrap(), i, 0))
    ///     .collect();
    /// let mut split = Split::default();
    /// router.split(&batch, |_| false, &mut split);
    /// let copies: usize = (0..3).map(|d| split.group(d).len()).sum();
    /// assert_eq!(copies, 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split(&self, batch: &[Datapoint], is_down: impl Fn(usize) -> bool, split: &mut Split) {
        split.reset(self.ring.destinations().len());
        for (index, dp) in batch.iter().enumerate() {
            let named;
            let dp = if self.naming.is_empty() {
                dp
            } else {
                match self.naming.apply(&dp.path) {
                    Ok(path) => {
                        named = Datapoint { path, ..dp.clone() };
                        &named
                    }
                    Err(e) => {
                        split.refused.push((index, PushError::Name(e)));
                        continue;
                    }
                }
            };
            self.route_into(dp.path.as_str(), &is_down, &mut split.routes);
            for &d in split.routes.iter() {
                split.groups[d].push(dp.clone());
                split.origins[d].push(index);
            }
        }
    }

    /// The name of one datapoint as it will be sent (naming applied), or
    /// why it cannot be: [`split`](Self::split) for one.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// # use graphite_proto::router::{Failover, Router};
    /// use graphite_proto::{Datapoint, MetricPath, Naming};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:1:a"])?;
    /// let router = Router::new(ring, Failover::Hold)?.with_naming(Naming::default().with_prefix("p")?);
    /// let dp = router.named(&Datapoint::new(MetricPath::new("m")?, 1, 0))?;
    /// assert_eq!(dp.path.as_str(), "p.m");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn named(&self, dp: &Datapoint) -> Result<Datapoint, PushError> {
        if self.naming.is_empty() {
            return Ok(dp.clone());
        }
        let path = self.naming.apply(&dp.path)?;
        Ok(Datapoint { path, ..dp.clone() })
    }
}

/// A slice of datapoints split by destination ([`Router::split`]); reuse
/// one across calls.
///
/// ```
/// use graphite_proto::router::Split;
/// let split = Split::default();
/// assert!(split.refused().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Split {
    groups: Vec<Vec<Datapoint>>,
    /// For each copy in `groups`, its index in the slice.
    origins: Vec<Vec<usize>>,
    refused: Vec<(usize, PushError)>,
    routes: Routes,
}

impl Split {
    fn reset(&mut self, destinations: usize) {
        self.groups.resize_with(destinations, Vec::new);
        self.origins.resize_with(destinations, Vec::new);
        for (group, origins) in self.groups.iter_mut().zip(&mut self.origins) {
            group.clear();
            origins.clear();
        }
        self.refused.clear();
    }

    /// The copies for destination `index`, in slice order (empty when the
    /// index is out of range).
    ///
    /// ```
    /// use graphite_proto::router::Split;
    /// assert!(Split::default().group(3).is_empty());
    /// ```
    pub fn group(&self, index: usize) -> &[Datapoint] {
        self.groups.get(index).map_or(&[], Vec::as_slice)
    }

    /// Datapoints refused before routing (their index in the slice, and
    /// why): a name the naming made invalid.
    ///
    /// ```
    /// use graphite_proto::router::Split;
    /// assert!(Split::default().refused().is_empty());
    /// ```
    pub fn refused(&self) -> &[(usize, PushError)] {
        &self.refused
    }

    /// Merges what the destinations reported for their groups
    /// (`results[d]` for [`group(d)`](Self::group)) and the refusals into
    /// one error over the slice of `total` datapoints: `dropped` counts
    /// copies (with replication, one datapoint can be dropped at several
    /// destinations), the first index is the earliest in the slice.
    ///
    /// ```
    /// use graphite_proto::router::Split;
    /// let split = Split::default();
    /// assert_eq!(split.merge(10, &[]), Ok(()));
    /// ```
    pub fn merge(
        &self,
        total: usize,
        results: &[Result<(), PushManyError>],
    ) -> Result<(), PushManyError> {
        let mut merged: Option<PushManyError> = None;
        let mut note = |index: usize, dropped: usize, reason: &PushError| match &mut merged {
            Some(e) => {
                e.dropped += dropped;
                if index < e.first_index {
                    e.first_index = index;
                    e.first_reason = reason.clone();
                }
            }
            None => {
                merged = Some(PushManyError {
                    total,
                    dropped,
                    first_index: index,
                    first_reason: reason.clone(),
                });
            }
        };
        for (index, reason) in &self.refused {
            note(*index, 1, reason);
        }
        for (d, result) in results.iter().enumerate() {
            if let Err(e) = result {
                let index = self
                    .origins
                    .get(d)
                    .and_then(|o| o.get(e.first_index))
                    .copied()
                    .unwrap_or(e.first_index);
                note(index, e.dropped, &e.first_reason);
            }
        }
        merged.map_or(Ok(()), Err)
    }
}

/// The counters of a routed sender: one [`Stats`] per destination (in the
/// ring's order), and what was refused before it could be routed.
///
/// Every copy of a datapoint is accounted exactly once, in the stats of
/// the destination it went to; with replication R, a datapoint accepted
/// everywhere counts R times. [`total`](Self::total) sums copies.
///
/// ```
/// use graphite_proto::router::RoutedStats;
/// use graphite_proto::sender::Stats;
/// let stats = RoutedStats::new(vec![Stats::default(); 3], Default::default());
/// assert_eq!(stats.total().accepted, 0);
/// assert!(stats.is_consistent());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoutedStats {
    /// Per destination, in the ring's order.
    pub destinations: Vec<Stats>,
    /// Refused before routing (an invalid name or value, or a name the
    /// naming made invalid): these have no destination.
    pub unrouted: Dropped,
}

impl RoutedStats {
    /// The per-destination counters and the refusals before routing.
    ///
    /// ```
    /// use graphite_proto::router::RoutedStats;
    /// assert!(RoutedStats::new(Vec::new(), Default::default()).destinations.is_empty());
    /// ```
    pub fn new(destinations: Vec<Stats>, unrouted: Dropped) -> Self {
        Self {
            destinations,
            unrouted,
        }
    }

    /// The sum over destinations, plus the refusals before routing: copies
    /// are counted, so with replication R a datapoint written everywhere
    /// adds R to `written`.
    ///
    /// ```
    /// use graphite_proto::router::RoutedStats;
    /// use graphite_proto::sender::Stats;
    /// let total = RoutedStats::new(vec![Stats::default(); 2], Default::default()).total();
    /// assert_eq!(total.pushed(), 0);
    /// ```
    pub fn total(&self) -> Stats {
        let mut total = Stats {
            dropped: self.unrouted,
            ..Stats::default()
        };
        for s in &self.destinations {
            total.accepted += s.accepted;
            total.written += s.written;
            total.replayed += s.replayed;
            total.written_bytes += s.written_bytes;
            total.unconfirmed += s.unconfirmed;
            total.buffered += s.buffered;
            total.buffered_bytes += s.buffered_bytes;
            total.connects += s.connects;
            total.connect_failures += s.connect_failures;
            total.disconnects += s.disconnects;
            total.stalls += s.stalls;
            total.periodic_reconnects += s.periodic_reconnects;
            total.spooled += s.spooled;
            total.unspooled += s.unspooled;
            total.spool_found += s.spool_found;
            total.spool_held += s.spool_held;
            total.spool_bytes += s.spool_bytes;
            total.spool_torn += s.spool_torn;
            let (t, d) = (&mut total.dropped, &s.dropped);
            t.buffer_full += d.buffer_full;
            t.evicted += d.evicted;
            t.deadline += d.deadline;
            t.closed += d.closed;
            t.too_large += d.too_large;
            t.invalid += d.invalid;
            t.spool_full += d.spool_full;
            t.spool_error += d.spool_error;
            t.spool_corrupt += d.spool_corrupt;
        }
        total
    }

    /// Whether every destination's accounting holds.
    ///
    /// ```
    /// use graphite_proto::router::RoutedStats;
    /// assert!(RoutedStats::default().is_consistent());
    /// ```
    pub fn is_consistent(&self) -> bool {
        self.destinations.iter().all(Stats::is_consistent)
    }
}

#[cfg(test)]
mod tests;
