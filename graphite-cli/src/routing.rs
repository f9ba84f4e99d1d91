//! The options that choose a ring of carbon destinations, shared by the
//! commands that route (`route`, and `send` with several `--to`):
//! `--to HOST:PORT[:INSTANCE]` (repeated), `--hash`, `--compat`,
//! `--replication`, `--hash-key`, `--no-diverse-replicas`.

use std::fmt;
use std::io::{self, Write};

use clap::{Args, ValueEnum};
use graphite_proto::ring::{Compat, Destination, HashKey, HashType, Ring, RingConfig, RingError};

/// What is hashed, as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyArg {
    /// The full name as given, tags included (Python carbon).
    Full,
    /// The name rewritten as a live carbon-c-relay rewrites it, cut before
    /// the first `;`.
    Rewritten,
}

impl From<KeyArg> for HashKey {
    fn from(key: KeyArg) -> Self {
        match key {
            KeyArg::Full => Self::Full,
            KeyArg::Rewritten => Self::RelayRewritten,
        }
    }
}

/// The ring options, for `#[command(flatten)]`: `--to` (repeated) and
/// [`RingOptions`].
#[derive(Args, Clone, Debug)]
pub struct RingArgs {
    /// A carbon destination, as carbon's DESTINATIONS writes it; repeat for
    /// each, in the order the relay lists them.
    #[arg(long = "to", value_name = "HOST:PORT[:INSTANCE]", required = true)]
    pub to: Vec<Destination>,
    /// How the ring is built.
    #[command(flatten)]
    pub options: RingOptions,
}

/// How a ring is built, without its destinations: `--hash`, `--compat`,
/// `--replication`, `--hash-key`, `--no-diverse-replicas` (flattened into
/// `route` and `send`).
#[derive(Args, Clone, Debug)]
pub struct RingOptions {
    /// The ring's hash: carbon_ch, fnv1a_ch or jump_fnv1a_ch (the last
    /// needs --compat carbon-c-relay).
    #[arg(long, default_value = "carbon_ch")]
    pub hash: HashType,
    /// Whose ring to reproduce: carbon (Python carbon-relay) or
    /// carbon-c-relay (3.7.3).
    #[arg(long, default_value = "carbon")]
    pub compat: Compat,
    /// How many destinations each metric goes to.
    #[arg(long, default_value_t = 1)]
    pub replication: usize,
    /// What is hashed (default: what the --compat implementation does:
    /// full for carbon, rewritten for carbon-c-relay).
    #[arg(long, value_enum)]
    pub hash_key: Option<KeyArg>,
    /// Python carbon's DIVERSE_REPLICAS = False: replicas may share a host.
    #[arg(long)]
    pub no_diverse_replicas: bool,
}

/// Why the ring options do not make a ring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingError {
    /// The ring refused the configuration.
    #[error(transparent)]
    Ring(#[from] RingError),
}

impl RingArgs {
    /// The ring these options describe.
    ///
    /// ```
    /// use clap::Parser;
    /// use graphite_cli::routing::RingArgs;
    ///
    /// #[derive(Parser)]
    /// struct Cli {
    ///     #[command(flatten)]
    ///     ring: RingArgs,
    /// }
    /// let cli = Cli::parse_from(["x", "--to", "10.0.0.1:2004:a", "--to", "10.0.0.2:2004:b"]);
    /// let ring = cli.ring.ring()?;
    /// assert_eq!(ring.destinations().len(), 2);
    ///
    /// let jump = Cli::parse_from(["x", "--to", "h:1", "--hash", "jump_fnv1a_ch"]);
    /// assert!(jump.ring.ring().is_err(), "jump_fnv1a_ch needs --compat carbon-c-relay");
    /// # Ok::<(), graphite_cli::routing::RoutingError>(())
    /// ```
    pub fn ring(&self) -> Result<Ring, RoutingError> {
        self.options.ring(self.to.clone())
    }
}

impl RingOptions {
    /// The ring over `destinations` these options describe.
    ///
    /// ```
    /// use clap::Parser;
    /// use graphite_cli::routing::RingOptions;
    ///
    /// #[derive(Parser)]
    /// struct Cli {
    ///     #[command(flatten)]
    ///     ring: RingOptions,
    /// }
    /// let cli = Cli::parse_from(["x", "--compat", "carbon-c-relay", "--hash", "jump_fnv1a_ch"]);
    /// let ring = cli.ring.ring(vec!["h:2003:1".parse()?, "h:2103:2".parse()?])?;
    /// assert_eq!(ring.destinations().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ring(&self, destinations: Vec<Destination>) -> Result<Ring, RoutingError> {
        let mut config = RingConfig::new(self.compat, self.hash).replication(self.replication);
        if let Some(key) = self.hash_key {
            config = config.hash_key(key.into());
        }
        if self.no_diverse_replicas {
            config = config.diverse_replicas(false);
        }
        Ok(config.build(destinations)?)
    }
}

/// One name's destinations, printed as `NAME DEST [DEST...]`.
pub struct Routed<'a> {
    /// The name as given.
    pub name: &'a str,
    /// Its destinations, primary first.
    pub destinations: Vec<&'a Destination>,
}

impl fmt::Display for Routed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        for d in &self.destinations {
            write!(f, " {d}")?;
        }
        Ok(())
    }
}

/// Writes each name's destinations to `out`, one line per name.
///
/// ```
/// use graphite_cli::routing::print_routes;
/// use graphite_proto::ring::{Compat, HashType, RingConfig};
///
/// let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh).build_from_strs(["h:2004:a"])?;
/// let mut out = Vec::new();
/// print_routes(&ring, ["a.b"], &mut out)?;
/// assert_eq!(out, b"a.b h:2004:a\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn print_routes<'n>(
    ring: &Ring,
    names: impl IntoIterator<Item = &'n str>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut indices = Vec::with_capacity(ring.replication());
    for name in names {
        ring.route_into(name, &mut indices);
        let routed = Routed {
            name,
            destinations: indices.iter().map(|&i| &ring.destinations()[i]).collect(),
        };
        writeln!(out, "{routed}")?;
    }
    Ok(())
}
