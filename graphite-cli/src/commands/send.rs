//! `graphite send`: datapoints from the arguments, a file or stdin, through
//! the runtime `--runtime` names, to one carbon, a ring of them, or an
//! embedded listener that shows what carbon would receive.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_cli::backend::Backend;
use graphite_cli::input;
use graphite_cli::listen::{Listener, Received};
use graphite_proto::ring::Destination;
use graphite_proto::sender::{OverflowPolicy, PushError, ReplayWindow, SenderConfig, Stats};
use graphite_proto::{Address, Datapoint, Protocol};

use super::Failure;
use super::parser::Parser;
use super::progress::Progress;
use crate::{OnFull, SendArgs};

/// Seconds since the Unix epoch: the timestamp of lines that have none.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl SendArgs {
    fn config(&self) -> Result<SenderConfig, Failure> {
        let timeout = Duration::try_from_secs_f64(self.timeout)?;
        let overflow = match self.on_full {
            OnFull::Wait => OverflowPolicy::Wait(timeout),
            OnFull::Drop => OverflowPolicy::DropNewest,
        };
        let replay = (self.replay_seconds > 0.0)
            .then(|| -> Result<ReplayWindow, Failure> {
                Ok(ReplayWindow {
                    max_age: Duration::try_from_secs_f64(self.replay_seconds)?,
                    max_bytes: self.replay_bytes,
                    peer_unread: self.replay_peer_unread,
                })
            })
            .transpose()?;
        let mut config = SenderConfig::new(self.protocol)
            .with_overflow(overflow)
            .with_buffer_capacity(self.buffer)
            .with_batch_size(self.batch_size)
            .with_batch_delay(Duration::from_millis(self.batch_delay_ms))
            .with_replay(replay);
        if let Some(dir) = &self.spool {
            config = config.with_spool(graphite_proto::sender::Spool::new(dir, self.spool_max));
        }
        if let Some(prefix) = &self.prefix {
            config = config.with_prefix(prefix)?;
        }
        Ok(config)
    }
}

/// Sends the datapoints of the arguments, of `--file` or of stdin, and
/// says whether every one was delivered.
pub(crate) fn run(args: &SendArgs) -> Result<bool, Failure> {
    let config = args.config()?;
    let mut destinations = Vec::new();
    let (listener, backend) = match args.to.as_slice() {
        [] => {
            let listener = Listener::bind(SocketAddr::from(([127, 0, 0, 1], 0)), args.protocol)?;
            let port = listener.local_addr().port();
            let backend = Backend::spawn(args.runtime, "127.0.0.1", port, config)?;
            (Some(listener), backend)
        }
        [to] => {
            let address: Address = to.parse().map_err(|e| format!("--to {to}: {e}"))?;
            let port = address.port_or(args.protocol.default_port());
            (
                None,
                Backend::spawn(args.runtime, address.host(), port, config)?,
            )
        }
        several => {
            for to in several {
                let destination: Destination = to.parse().map_err(|e| format!("--to {to}: {e}"))?;
                destinations.push(destination);
            }
            let ring = args.ring.ring(destinations.clone())?;
            let backend = Backend::spawn_routed(args.runtime, ring, args.failover, config)?;
            (None, backend)
        }
    };
    let mut feed = Feed {
        backend: &backend,
        wait: args.on_full == OnFull::Wait,
        reported_drops: false,
        lines: 0,
        invalid: 0,
        progress: Progress::new(args.quiet),
    };
    match (&args.metric, &args.value) {
        (Some(metric), Some(value)) => {
            match input::datapoint(metric, value, args.timestamp.as_deref(), unix_now()) {
                Ok(dp) => feed.hand_over(&[dp]),
                Err(e) => {
                    eprintln!("graphite: {e}");
                    feed.invalid += 1;
                }
            }
        }
        (Some(_), None) => return Err("a METRIC needs a VALUE".into()),
        _ => {
            let reader: Box<dyn Read + Send> = match &args.file {
                Some(path) => Box::new(
                    File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
                ),
                None => Box::new(io::stdin()),
            };
            let parser = Parser::spawn(reader)?;
            while let Some(parsed) = parser.next() {
                feed.lines += parsed.lines;
                feed.invalid += parsed.invalid;
                feed.hand_over(&parsed.batch);
                // Its datapoints are dropped on the parsing thread, which
                // made them (their names share its blocks' counts).
                parser.recycle(parsed.batch);
            }
            parser.finish()?;
        }
    }
    let timeout = Duration::try_from_secs_f64(args.timeout)?;
    let stats = backend.close(timeout);
    feed.progress.finish(feed.lines, &stats);
    if let Some(listener) = listener {
        show_received(&listener, &stats, args.protocol)?;
    }
    if args.stats {
        if let Some(routed) = backend.routed_stats() {
            for (destination, stats) in destinations.iter().zip(&routed.destinations) {
                print_stats(&format!("stats {destination}"), stats);
            }
            print_stats("stats total (copies)", &stats);
        } else {
            print_stats("stats", &stats);
        }
    }
    // With a spool, what it holds is kept, not lost, but not delivered yet.
    let undelivered = stats.dropped.total() + stats.buffered + stats.spool_held;
    let complete = undelivered == 0;
    if !complete && !args.stats {
        eprintln!(
            "graphite: {undelivered} datapoints not delivered, {} of them kept in the spool (--stats for the counters)",
            stats.spool_held
        );
    }
    Ok(feed.invalid == 0 && complete)
}

/// Input lines on their way to the sender, a slice at a time.
struct Feed<'a> {
    backend: &'a Backend,
    /// Wait for room; false once a wait has run out (carbon stopped
    /// reading): the rest is dropped and counted rather than waited for.
    wait: bool,
    /// A drop was reported: later ones are only counted (the end says how many).
    reported_drops: bool,
    lines: u64,
    invalid: u64,
    progress: Progress,
}

impl Feed<'_> {
    /// Hands a batch over to the sender (with `--on-full wait`, waiting
    /// for room up to the timeout).
    fn hand_over(&mut self, batch: &[Datapoint]) {
        if let Err(e) = self.backend.hand_over(batch, self.wait) {
            if self.wait && e.first_reason == PushError::Full {
                self.wait = false;
                eprintln!(
                    "graphite: no room for the wait's whole time (carbon is down or not reading, and nothing else can take it); dropping the rest"
                );
            } else if !self.reported_drops {
                eprintln!("graphite: {e} (further drops are only counted)");
            }
            self.reported_drops = true;
        }
        if !self.progress.is_hidden() {
            self.progress.update(self.lines, &self.backend.stats());
        }
    }
}

fn show_received(listener: &Listener, stats: &Stats, protocol: Protocol) -> Result<(), Failure> {
    eprintln!(
        "embedded {protocol} listener on {} (what carbon would receive):",
        listener.local_addr()
    );
    let mut out = io::stdout().lock();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = 0_u64;
    while seen < stats.written {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(item) = listener.received().recv_timeout(left) else {
            eprintln!(
                "graphite: the listener saw {seen} of {} datapoints",
                stats.written
            );
            break;
        };
        if matches!(item, Received::Datapoint(_)) {
            seen += 1;
            writeln!(out, "{item}")?;
        } else {
            eprintln!("{item}");
        }
    }
    Ok(())
}

fn print_stats(label: &str, stats: &Stats) {
    let d = &stats.dropped;
    eprintln!(
        "{label}: accepted={} written={} replayed={} written_bytes={} buffered={} dropped={} (buffer_full={} evicted={} deadline={} closed={} too_large={} invalid={} spool_full={} spool_error={} spool_corrupt={}) unconfirmed={} connects={} connect_failures={} disconnects={} stalls={} spooled={} unspooled={} spool_found={} spool_held={} spool_torn={}",
        stats.accepted,
        stats.written,
        stats.replayed,
        stats.written_bytes,
        stats.buffered,
        d.total(),
        d.buffer_full,
        d.evicted,
        d.deadline,
        d.closed,
        d.too_large,
        d.invalid,
        d.spool_full,
        d.spool_error,
        d.spool_corrupt,
        stats.unconfirmed,
        stats.connects,
        stats.connect_failures,
        stats.disconnects,
        stats.stalls,
        stats.spooled,
        stats.unspooled,
        stats.spool_found,
        stats.spool_held,
        stats.spool_torn,
    );
}
