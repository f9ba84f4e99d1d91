//! Consistent-hash rings that place a metric on the same carbon(s) as
//! carbon's own relays do, bit for bit.
//!
//! ```
//! use graphite_proto::ring::{Compat, HashType, RingConfig};
//!
//! let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
//!     .replication(2)
//!     .build_from_strs(["10.0.0.1:2004:a", "10.0.0.2:2004:a", "10.0.0.3:2004:a"])?;
//! let mut replicas = Vec::new();
//! ring.route_into("servers.web1.cpu", &mut replicas); // no allocation once warm
//! assert_eq!(replicas.len(), 2);
//! println!("{}", ring.destinations()[replicas[0]]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Two implementations, each with its quirks kept:
//!
//! - **Python carbon** ([`Compat::Carbon`]; `carbon-relay` with
//!   `RELAY_METHOD = consistent-hashing`): `carbon_ch` and `fnv1a_ch`, 100
//!   replicas per destination, a position already taken bumped by one until
//!   free (so the ring depends on the order of `DESTINATIONS`),
//!   `REPLICATION_FACTOR` and `DIVERSE_REPLICAS` (on by default: replicas
//!   on distinct hosts). `fnv1a_ch`'s replica keys hold only the instance,
//!   so destinations without one all start from the same positions.
//! - **carbon-c-relay 3.7.3** ([`Compat::CarbonCRelay`]): `carbon_ch` with
//!   the same keys but no bump (a position held twice keeps the server that
//!   sorts first), `fnv1a_ch` keyed by instance or else `host:port` over
//!   signed `char`s, and `jump_fnv1a_ch`, whose buckets are the servers in
//!   instance order. At most 64 servers, replication at most the number of
//!   servers, as the relay demands.
//!
//! What is hashed is explicit: [`HashKey`], defaulting per implementation.
//! Nothing here allocates per lookup once the output vector has grown.

mod c_relay;
mod carbon;
mod destination;
mod hash;
mod key;

use std::fmt;
use std::str::FromStr;

pub use destination::{Destination, DestinationError};
pub use key::HashKey;

use c_relay::{MAX_SERVERS, RelayHash, RelayRing};
use carbon::{CarbonHash, CarbonRing};

/// Points per destination on the `carbon_ch` and `fnv1a_ch` rings, in both
/// implementations.
const REPLICAS: usize = 100;

/// The ring's hash function, named as both carbons name it.
///
/// ```
/// use graphite_proto::ring::HashType;
/// assert_eq!("fnv1a_ch".parse::<HashType>()?, HashType::Fnv1aCh);
/// assert_eq!(HashType::JumpFnv1aCh.to_string(), "jump_fnv1a_ch");
/// # Ok::<(), graphite_proto::ring::ParseHashTypeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HashType {
    /// MD5 positions (both carbons' default).
    #[default]
    CarbonCh,
    /// FNV-1a positions.
    Fnv1aCh,
    /// carbon-c-relay's jump consistent hash over 64-bit FNV-1a.
    JumpFnv1aCh,
}

/// A hash name neither carbon knows.
///
/// ```
/// use graphite_proto::ring::HashType;
/// let err = "md5".parse::<HashType>().unwrap_err();
/// assert_eq!(err.text, "md5");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash {text:?}: expected carbon_ch, fnv1a_ch or jump_fnv1a_ch")]
pub struct ParseHashTypeError {
    /// What was given.
    pub text: String,
}

impl FromStr for HashType {
    type Err = ParseHashTypeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "carbon_ch" => Ok(Self::CarbonCh),
            "fnv1a_ch" => Ok(Self::Fnv1aCh),
            "jump_fnv1a_ch" => Ok(Self::JumpFnv1aCh),
            _ => Err(ParseHashTypeError {
                text: text.to_owned(),
            }),
        }
    }
}

impl fmt::Display for HashType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CarbonCh => "carbon_ch",
            Self::Fnv1aCh => "fnv1a_ch",
            Self::JumpFnv1aCh => "jump_fnv1a_ch",
        })
    }
}

/// Whose ring to reproduce.
///
/// ```
/// use graphite_proto::ring::Compat;
/// assert_eq!("carbon-c-relay".parse::<Compat>()?, Compat::CarbonCRelay);
/// assert_eq!(Compat::default(), Compat::Carbon);
/// # Ok::<(), graphite_proto::ring::ParseCompatError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compat {
    /// Python carbon 1.1.x (`carbon-relay`, `ConsistentHashingRouter`).
    #[default]
    Carbon,
    /// carbon-c-relay 3.7.3.
    CarbonCRelay,
}

/// A compatibility name that is neither `carbon` nor `carbon-c-relay`.
///
/// ```
/// use graphite_proto::ring::Compat;
/// assert!("graphite".parse::<Compat>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown compatibility {text:?}: expected carbon or carbon-c-relay")]
pub struct ParseCompatError {
    /// What was given.
    pub text: String,
}

impl FromStr for Compat {
    type Err = ParseCompatError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "carbon" => Ok(Self::Carbon),
            "carbon-c-relay" => Ok(Self::CarbonCRelay),
            _ => Err(ParseCompatError {
                text: text.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Carbon => "carbon",
            Self::CarbonCRelay => "carbon-c-relay",
        })
    }
}

/// Why a ring could not be built.
///
/// ```
/// use graphite_proto::ring::{Compat, HashType, RingConfig, RingError};
/// let relay = RingConfig::new(Compat::CarbonCRelay, HashType::CarbonCh).replication(3);
/// assert_eq!(
///     relay.build_from_strs(["a:1", "b:1"]).unwrap_err(),
///     RingError::ReplicationExceedsDestinations { replication: 3, destinations: 2 }
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RingError {
    /// No destinations were given.
    #[error("a ring needs at least one destination")]
    NoDestinations,
    /// A replication factor of zero.
    #[error("replication must be at least 1")]
    ZeroReplication,
    /// carbon-c-relay refuses a replication above its number of servers.
    #[error(
        "replication {replication} exceeds the {destinations} servers (carbon-c-relay refuses it)"
    )]
    ReplicationExceedsDestinations {
        /// The replication asked for.
        replication: usize,
        /// The number of destinations.
        destinations: usize,
    },
    /// carbon-c-relay allows at most 64 servers in a hash cluster.
    #[error("{count} servers; carbon-c-relay allows at most {max} in a hash cluster")]
    TooManyDestinations {
        /// The number of destinations.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two destinations the implementation cannot tell apart: Python carbon
    /// keys destinations by host and instance, carbon-c-relay by host and
    /// port.
    #[error("destinations {first} and {second} are the same to {compat} ({what})")]
    DuplicateDestination {
        /// Index of the first.
        first: usize,
        /// Index of the second.
        second: usize,
        /// The implementation.
        compat: Compat,
        /// What they share.
        what: &'static str,
    },
    /// `jump_fnv1a_ch` exists only in carbon-c-relay.
    #[error("jump_fnv1a_ch exists only in carbon-c-relay (use compat carbon-c-relay)")]
    JumpNeedsCarbonCRelay,
    /// `DIVERSE_REPLICAS` is Python carbon's option.
    #[error("diverse replicas is a Python carbon option; carbon-c-relay has none")]
    DiverseReplicasUnsupported,
    /// [`Ring::without`] was given an index past the end.
    #[error("destination index {index} is out of range (the ring has {len})")]
    IndexOutOfRange {
        /// The index.
        index: usize,
        /// How many destinations the ring has.
        len: usize,
    },
    /// A destination string did not parse.
    #[error("destination {index}: {source}")]
    Destination {
        /// Its position in the list.
        index: usize,
        /// Why.
        source: DestinationError,
    },
}

/// How to build a [`Ring`]: implementation, hash, replication, diverse
/// replicas and what is hashed.
///
/// Defaults: replication 1; `DIVERSE_REPLICAS` on for Python carbon (its
/// default) and off for carbon-c-relay (which has no such option); the
/// hashed part as [`HashKey::default_for`] says.
///
/// ```
/// use graphite_proto::ring::{Compat, HashKey, HashType, RingConfig, RingError};
///
/// let config = RingConfig::new(Compat::CarbonCRelay, HashType::JumpFnv1aCh)
///     .replication(2)
///     .hash_key(HashKey::Full);
/// let ring = config.build_from_strs(["127.0.0.1:2003:1", "127.0.0.1:2103:2", "127.0.0.1:2203:3"])?;
/// assert_eq!(ring.route("a.b").len(), 2);
///
/// let python = RingConfig::new(Compat::Carbon, HashType::JumpFnv1aCh);
/// assert_eq!(python.build_from_strs(["h:1"]).unwrap_err(), RingError::JumpNeedsCarbonCRelay);
/// # Ok::<(), RingError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingConfig {
    compat: Compat,
    hash: HashType,
    replication: usize,
    diverse_replicas: Option<bool>,
    hash_key: Option<HashKey>,
}

impl RingConfig {
    /// A configuration for `compat`'s `hash` ring, with the defaults.
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:2004"])?;
    /// assert_eq!(ring.route("x"), [0]);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn new(compat: Compat, hash: HashType) -> Self {
        Self {
            compat,
            hash,
            replication: 1,
            diverse_replicas: None,
            hash_key: None,
        }
    }

    /// How many destinations each metric goes to (`REPLICATION_FACTOR`;
    /// carbon-c-relay's `replication`). Default 1.
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let config = RingConfig::new(Compat::Carbon, HashType::CarbonCh).replication(2);
    /// assert_eq!(config.build_from_strs(["a:1", "b:1"])?.replication(), 2);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    #[must_use]
    pub fn replication(mut self, replication: usize) -> Self {
        self.replication = replication;
        self
    }

    /// Python carbon's `DIVERSE_REPLICAS`: replicas on distinct hosts
    /// (default on). carbon-c-relay has no such option; turning it on there
    /// is an error.
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let config = RingConfig::new(Compat::Carbon, HashType::CarbonCh).replication(2);
    /// let same_host = ["h:1:a", "h:2:b"];
    /// assert_eq!(config.build_from_strs(same_host)?.route("m").len(), 1);
    /// assert_eq!(config.diverse_replicas(false).build_from_strs(same_host)?.route("m").len(), 2);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    #[must_use]
    pub fn diverse_replicas(mut self, on: bool) -> Self {
        self.diverse_replicas = Some(on);
        self
    }

    /// Which part of a name is hashed (default: [`HashKey::default_for`]
    /// the implementation).
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, HashKey, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::CarbonCRelay, HashType::CarbonCh)
    ///     .hash_key(HashKey::Full)
    ///     .build_from_strs(["h:1"])?;
    /// assert_eq!(ring.hash_key(), HashKey::Full);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    #[must_use]
    pub fn hash_key(mut self, key: HashKey) -> Self {
        self.hash_key = Some(key);
        self
    }

    /// Builds the ring over `destinations`, in their configured order
    /// (which matters: Python carbon's bump and carbon-c-relay's ties and
    /// jump order follow it).
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, Destination, HashType, RingConfig};
    /// let dests = vec![Destination::new("10.0.0.1", 2004)?, Destination::new("10.0.0.2", 2004)?];
    /// let ring = RingConfig::new(Compat::Carbon, HashType::Fnv1aCh).build(dests)?;
    /// assert_eq!(ring.destinations().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self, destinations: Vec<Destination>) -> Result<Ring, RingError> {
        if destinations.is_empty() {
            return Err(RingError::NoDestinations);
        }
        if self.replication == 0 {
            return Err(RingError::ZeroReplication);
        }
        let diverse = self
            .diverse_replicas
            .unwrap_or(self.compat == Compat::Carbon);
        let key = self
            .hash_key
            .unwrap_or_else(|| HashKey::default_for(self.compat));
        let inner = match self.compat {
            Compat::Carbon => {
                let hash = match self.hash {
                    HashType::CarbonCh => CarbonHash::Md5,
                    HashType::Fnv1aCh => CarbonHash::Fnv1a,
                    HashType::JumpFnv1aCh => return Err(RingError::JumpNeedsCarbonCRelay),
                };
                check_unique(&destinations, self.compat, "host and instance", |a, b| {
                    a.host() == b.host() && a.instance() == b.instance()
                })?;
                Inner::Carbon(CarbonRing::new(hash, &destinations))
            }
            Compat::CarbonCRelay => {
                if diverse {
                    return Err(RingError::DiverseReplicasUnsupported);
                }
                if destinations.len() > MAX_SERVERS {
                    return Err(RingError::TooManyDestinations {
                        count: destinations.len(),
                        max: MAX_SERVERS,
                    });
                }
                if self.replication > destinations.len() {
                    return Err(RingError::ReplicationExceedsDestinations {
                        replication: self.replication,
                        destinations: destinations.len(),
                    });
                }
                check_unique(&destinations, self.compat, "host and port", |a, b| {
                    a.host() == b.host() && a.port() == b.port()
                })?;
                let hash = match self.hash {
                    HashType::CarbonCh => RelayHash::Carbon,
                    HashType::Fnv1aCh => RelayHash::Fnv1a,
                    HashType::JumpFnv1aCh => RelayHash::Jump,
                };
                Inner::Relay(RelayRing::new(hash, &destinations))
            }
        };
        Ok(Ring {
            config: Self {
                diverse_replicas: Some(diverse),
                hash_key: Some(key),
                ..self
            },
            key,
            diverse,
            destinations,
            inner,
        })
    }

    /// [`build`](Self::build) from carbon's `host:port[:instance]` strings.
    ///
    /// ```
    /// use graphite_proto::ring::{Compat, DestinationError, HashType, RingConfig, RingError};
    /// let config = RingConfig::new(Compat::Carbon, HashType::CarbonCh);
    /// assert!(matches!(
    ///     config.build_from_strs(["a:1", "b"]),
    ///     Err(RingError::Destination { index: 1, source: DestinationError::MissingPort })
    /// ));
    /// ```
    pub fn build_from_strs<I, S>(self, destinations: I) -> Result<Ring, RingError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let destinations = destinations
            .into_iter()
            .enumerate()
            .map(|(index, s)| {
                s.as_ref()
                    .parse()
                    .map_err(|source| RingError::Destination { index, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.build(destinations)
    }
}

fn check_unique(
    destinations: &[Destination],
    compat: Compat,
    what: &'static str,
    same: impl Fn(&Destination, &Destination) -> bool,
) -> Result<(), RingError> {
    for (second, b) in destinations.iter().enumerate() {
        if let Some(first) = destinations[..second].iter().position(|a| same(a, b)) {
            return Err(RingError::DuplicateDestination {
                first,
                second,
                compat,
                what,
            });
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Inner {
    Carbon(CarbonRing),
    Relay(RelayRing),
}

/// A built ring: given a metric name, the index(es) of its destination(s)
/// in [`destinations`](Self::destinations), primary first.
///
/// ```
/// use graphite_proto::ring::{Compat, HashType, RingConfig};
///
/// let ring = RingConfig::new(Compat::CarbonCRelay, HashType::Fnv1aCh)
///     .build_from_strs(["127.0.0.1:2003", "127.0.0.1:2004", "127.0.0.1:2005"])?;
/// let primary = ring.primary("servers.web1.cpu");
/// assert_eq!(ring.route("servers.web1.cpu"), [primary]);
/// # Ok::<(), graphite_proto::ring::RingError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Ring {
    config: RingConfig,
    key: HashKey,
    diverse: bool,
    destinations: Vec<Destination>,
    inner: Inner,
}

impl Ring {
    /// The destinations, in configured order; routes are indices into this.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["a:1"])?;
    /// assert_eq!(ring.destinations()[0].host(), "a");
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// The implementation reproduced.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["a:1"])?;
    /// assert_eq!(ring.compat(), Compat::Carbon);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn compat(&self) -> Compat {
        self.config.compat
    }

    /// The hash function.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::Fnv1aCh).build_from_strs(["a:1"])?;
    /// assert_eq!(ring.hash_type(), HashType::Fnv1aCh);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn hash_type(&self) -> HashType {
        self.config.hash
    }

    /// The replication factor.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["a:1"])?;
    /// assert_eq!(ring.replication(), 1);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn replication(&self) -> usize {
        self.config.replication
    }

    /// Whether replicas go to distinct hosts (Python carbon's
    /// `DIVERSE_REPLICAS`).
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["a:1"])?;
    /// assert!(ring.diverse_replicas());
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn diverse_replicas(&self) -> bool {
        self.diverse
    }

    /// What is hashed.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashKey, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::CarbonCRelay, HashType::CarbonCh).build_from_strs(["a:1"])?;
    /// assert_eq!(ring.hash_key(), HashKey::RelayRewritten);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn hash_key(&self) -> HashKey {
        self.key
    }

    /// The configuration this ring was built with, defaults resolved.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["a:1"])?;
    /// let again = ring.config().build(ring.destinations().to_vec())?;
    /// assert_eq!(again.route("m"), ring.route("m"));
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn config(&self) -> RingConfig {
        self.config
    }

    /// Writes the destinations of `name` into `out` (cleared first),
    /// primary first, distinct. At most [`replication`](Self::replication);
    /// fewer when the ring cannot supply more (with diverse replicas, fewer
    /// hosts than the replication). Allocates nothing once `out` has room.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
    ///     .replication(2)
    ///     .build_from_strs(["a:1", "b:1", "c:1"])?;
    /// let mut out = Vec::with_capacity(2);
    /// for name in ["x.y", "cpu;host=a", "t\u{e9}st"] {
    ///     ring.route_into(name, &mut out);
    ///     assert_eq!(out.len(), 2);
    ///     assert_ne!(out[0], out[1]);
    /// }
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn route_into(&self, name: impl AsRef<[u8]>, out: &mut Vec<usize>) {
        let name = name.as_ref();
        let replication = self.config.replication;
        match &self.inner {
            Inner::Carbon(ring) => ring.route(name, self.key, replication, self.diverse, out),
            Inner::Relay(ring) => ring.route(name, self.key, replication, out),
        }
    }

    /// The destinations of `name`, primary first (allocates; see
    /// [`route_into`](Self::route_into)).
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["a:1", "b:1"])?;
    /// assert_eq!(ring.route("m").len(), 1);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn route(&self, name: impl AsRef<[u8]>) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.config.replication.min(self.destinations.len()));
        self.route_into(name, &mut out);
        out
    }

    /// The primary destination of `name`: the first of its replicas.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["a:1", "b:1"])?;
    /// assert!(ring.primary("m") < 2);
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn primary(&self, name: impl AsRef<[u8]>) -> usize {
        match &self.inner {
            Inner::Carbon(ring) => ring.primary(name.as_ref(), self.key),
            Inner::Relay(ring) => ring.primary(name.as_ref(), self.key),
        }
    }

    /// The ring with destination `index` removed, as the implementation
    /// removes one: Python carbon's `remove_node` drops its points and
    /// leaves every other point where it was; carbon-c-relay rebuilds from
    /// the shorter list (a configuration reload). Destinations after
    /// `index` move down by one.
    ///
    /// Only series that were on the removed destination move, except with
    /// `jump_fnv1a_ch`, whose buckets are the servers in order: removing
    /// any but the last shifts the servers after it.
    ///
    /// ```
    /// # use graphite_proto::ring::{Compat, HashType, RingConfig};
    /// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
    ///     .build_from_strs(["a:1", "b:1", "c:1"])?;
    /// let smaller = ring.without(1)?;
    /// assert_eq!(smaller.destinations().len(), 2);
    /// if ring.primary("m") == 0 {
    ///     assert_eq!(smaller.primary("m"), 0);
    /// }
    /// # Ok::<(), graphite_proto::ring::RingError>(())
    /// ```
    pub fn without(&self, index: usize) -> Result<Self, RingError> {
        let len = self.destinations.len();
        if index >= len {
            return Err(RingError::IndexOutOfRange { index, len });
        }
        let mut destinations = self.destinations.clone();
        destinations.remove(index);
        if destinations.is_empty() {
            return Err(RingError::NoDestinations);
        }
        match &self.inner {
            Inner::Carbon(ring) => Ok(Self {
                inner: Inner::Carbon(ring.without(index, &destinations)),
                destinations,
                ..self.clone()
            }),
            Inner::Relay(_) => {
                let config = RingConfig {
                    replication: self.config.replication.min(destinations.len()),
                    ..self.config
                };
                config.build(destinations)
            }
        }
    }
}

#[cfg(test)]
mod tests;
