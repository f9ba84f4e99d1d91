//! `graphite`: send datapoints through any runtime, run a debug listener,
//! and use aiographite's name encoder from the shell.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use graphite_cli::backend::{Backend, Runtime};
use graphite_cli::input;
use graphite_cli::listen::{Listener, Received};
use graphite_cli::routing::{RingArgs, RingOptions, print_routes};
use graphite_proto::ring::Destination;
use graphite_proto::router::Failover;
use graphite_proto::sender::{OverflowPolicy, PushError, ReplayWindow, SenderConfig, Stats};
use graphite_proto::{Datapoint, Protocol};

#[derive(Parser)]
#[command(
    name = "graphite",
    version,
    about = "Send metrics to Graphite's carbon, and inspect what it would receive."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send datapoints from the arguments, or one `metric value
    /// timestamp?` per stdin line.
    #[command(
        long_about = "Send datapoints: METRIC VALUE [TIMESTAMP] from the arguments, or one \
                      `metric value [timestamp]` per stdin line. Without --to, an embedded \
                      listener on loopback shows what a carbon would receive. With --to given \
                      more than once, each series goes to its carbon(s) on a consistent-hash \
                      ring, placed exactly as carbon-relay (--compat carbon, the default) or \
                      carbon-c-relay 3.7.3 would place it, one sender per destination."
    )]
    Send(SendArgs),
    /// A debug carbon: print each datapoint received as `metric value
    /// timestamp`, and each bad input as an `error` line.
    Listen(ListenArgs),
    /// Encode parts into one metric name, as aiographite does.
    EncodeName {
        /// The parts, each becoming one node.
        #[arg(required = true)]
        parts: Vec<String>,
    },
    /// Decode a name made by encode-name back into its parts, one per line.
    DecodeName {
        /// The encoded name.
        name: String,
    },
    /// Print each name's destination(s) on a ring of carbons, without
    /// sending: `NAME DEST [DEST...]`, primary first.
    #[command(
        long_about = "Print each name's destination(s) on a consistent-hash ring of carbons, \
                      placed exactly as Python carbon's carbon-relay or carbon-c-relay 3.7.3 \
                      places them, without sending anything. Names come from the arguments, \
                      or one per stdin line. Output: `NAME DEST [DEST...]`, primary first."
    )]
    Route(RouteArgs),
}

#[derive(Args)]
struct RouteArgs {
    #[command(flatten)]
    ring: RingArgs,
    /// Metric names (omit to read one per stdin line).
    names: Vec<String>,
}

#[derive(Args)]
struct SendArgs {
    /// Carbon's address, HOST:PORT or HOST (the protocol's default port).
    /// Repeat for several carbons routed by a ring, each as carbon's
    /// DESTINATIONS writes it: `HOST:PORT[:INSTANCE]`, in the relay's order.
    #[arg(long, value_name = "HOST:PORT[:INSTANCE]")]
    to: Vec<String>,
    /// The ring, with several --to.
    #[command(flatten)]
    ring: RingOptions,
    /// With several --to, what happens to a series whose carbon is down:
    /// hold (its sender buffers and replays; placement never changes) or
    /// reroute (to the next carbon up on the ring while it is down).
    #[arg(long, default_value = "hold")]
    failover: Failover,
    /// plaintext, pickle or udp.
    #[arg(long, default_value = "plaintext")]
    protocol: Protocol,
    /// Which adapter sends.
    #[arg(long, value_enum, default_value = "blocking")]
    runtime: Runtime,
    /// Read datapoints from this file instead of stdin.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Prepended to every metric name.
    #[arg(long)]
    prefix: Option<String>,
    /// When the buffer is full: wait for room (the input pauses) or drop
    /// the datapoint (counted; for senders that must never block).
    #[arg(long, value_enum, default_value = "wait")]
    on_full: OnFull,
    /// Seconds the network may hold us up: a wait for room this long gives
    /// up (the rest is dropped and counted), and so does the final flush.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Buffer size in bytes (batches waiting plus the replay window).
    #[arg(long, default_value_t = SenderConfig::new(Protocol::Plaintext).buffer_capacity)]
    buffer: usize,
    /// Largest batch in bytes.
    #[arg(long, default_value_t = SenderConfig::new(Protocol::Plaintext).batch_size)]
    batch_size: usize,
    /// Milliseconds a batch may wait to fill up.
    #[arg(long, default_value_t = 100)]
    batch_delay_ms: u64,
    /// Seconds of writes kept for replay after a reconnect (0: no replay).
    #[arg(long, default_value_t = ReplayWindow::default().max_age.as_secs_f64())]
    replay_seconds: f64,
    /// Most bytes kept for replay.
    #[arg(long, default_value_t = ReplayWindow::default().max_bytes)]
    replay_bytes: usize,
    /// Bytes carbon may have received but not read, always kept for replay
    /// (raise towards the carbon host's net.ipv4.tcp_rmem maximum for a
    /// carbon that falls behind).
    #[arg(long, default_value_t = ReplayWindow::default().peer_unread)]
    replay_peer_unread: usize,
    /// Spool to this directory what the buffer cannot hold (a long outage,
    /// or the end of input while carbon is down), and send it when carbon is
    /// back, also from the next run on the same directory.
    #[arg(long, value_name = "DIR")]
    spool: Option<std::path::PathBuf>,
    /// Most bytes the spool may hold; the oldest are dropped (counted) past it.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30, requires = "spool")]
    spool_max: u64,
    /// Print the sender's final counters to stderr.
    #[arg(long)]
    stats: bool,
    /// No progress line, even on a terminal.
    #[arg(long, short)]
    quiet: bool,
    /// Metric name (omit to read stdin or --file).
    metric: Option<String>,
    /// Value.
    value: Option<String>,
    /// Unix timestamp in seconds, fractions truncated as carbon does (default: now).
    timestamp: Option<String>,
}

/// What `send` does when the buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OnFull {
    /// Wait for room: the input pauses (default).
    Wait,
    /// Drop the datapoint and count it.
    Drop,
}

#[derive(Args)]
struct ListenArgs {
    /// Address to listen on (default 127.0.0.1 and the protocol's port).
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// plaintext, pickle or udp.
    #[arg(long, default_value = "plaintext")]
    protocol: Protocol,
    /// Exit after this many datapoints and errors.
    #[arg(long)]
    count: Option<usize>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("graphite=info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Send(args) => send(&args),
        Command::Listen(args) => listen(&args),
        Command::EncodeName { parts } => {
            println!("{}", graphite_proto::clean_and_join_metric_parts(&parts));
            Ok(true)
        }
        Command::DecodeName { name } => decode_name(&name),
        Command::Route(args) => route(&args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("graphite: {e}");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Datapoints handed to the sender at once.
const HAND_OVER: usize = 1_000;

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

fn send(args: &SendArgs) -> Result<bool, Failure> {
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
            let (host, port) = split_target(to, args.protocol)?;
            (None, Backend::spawn(args.runtime, &host, port, config)?)
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
        batch: Vec::with_capacity(HAND_OVER),
        reported_drops: false,
        lines: 0,
        invalid: 0,
        progress: Progress::new(args.quiet),
    };
    match (&args.metric, &args.value) {
        (Some(metric), Some(value)) => {
            match input::datapoint(metric, value, args.timestamp.as_deref(), unix_now()) {
                Ok(dp) => feed.batch.push(dp),
                Err(e) => {
                    eprintln!("graphite: {e}");
                    feed.invalid += 1;
                }
            }
        }
        (Some(_), None) => return Err("a METRIC needs a VALUE".into()),
        _ => {
            let reader: Box<dyn BufRead> = match &args.file {
                Some(path) => Box::new(BufReader::new(
                    File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
                )),
                None => Box::new(io::stdin().lock()),
            };
            for (index, line) in reader.lines().enumerate() {
                feed.line(&line?, index + 1);
            }
        }
    }
    feed.hand_over();
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
    batch: Vec<Datapoint>,
    /// A drop was reported: later ones are only counted (the end says how many).
    reported_drops: bool,
    lines: u64,
    invalid: u64,
    progress: Progress,
}

impl Feed<'_> {
    fn line(&mut self, line: &str, number: usize) {
        if line.trim().is_empty() {
            return;
        }
        self.lines += 1;
        match input::parse(line, number, unix_now()) {
            Ok(dp) => self.batch.push(dp),
            Err(e) => {
                eprintln!("graphite: {e}");
                self.invalid += 1;
            }
        }
        if self.batch.len() >= HAND_OVER {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        if let Err(e) = self.backend.hand_over(&self.batch, self.wait) {
            if self.wait && e.first_reason == PushError::Full {
                self.wait = false;
                eprintln!(
                    "graphite: no room for the wait's whole time: carbon stopped reading; dropping the rest"
                );
            } else if !self.reported_drops {
                eprintln!("graphite: {e} (further drops are only counted)");
            }
            self.reported_drops = true;
        }
        self.batch.clear();
        self.progress.update(self.lines, &self.backend.stats());
    }
}

/// The progress line on a terminal's stderr; silent anywhere else.
struct Progress(indicatif::ProgressBar);

impl Progress {
    fn new(quiet: bool) -> Self {
        let bar = if quiet || !io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        };
        Self(bar)
    }

    fn is_hidden(&self) -> bool {
        self.0.is_hidden()
    }

    fn update(&self, lines: u64, stats: &Stats) {
        if self.is_hidden() {
            return;
        }
        let rate = lines as f64 / self.0.elapsed().as_secs_f64().max(1e-3);
        self.0.set_message(format!(
            "{lines} lines, {rate:.0}/s, written {}, buffered {}, dropped {}",
            stats.written,
            stats.buffered,
            stats.dropped.total()
        ));
        self.0.tick();
    }

    fn finish(&self, lines: u64, stats: &Stats) {
        self.update(lines, stats);
        self.0.finish();
    }
}

fn split_target(to: &str, protocol: Protocol) -> Result<(String, u16), Failure> {
    // [v6]:port, host:port, or host alone.
    if let Some(rest) = to.strip_prefix('[')
        && let Some((host, port)) = rest.split_once("]:")
    {
        return Ok((host.to_owned(), port.parse()?));
    }
    match to.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((host.to_owned(), port.parse()?)),
        _ => Ok((
            to.trim_matches(['[', ']']).to_owned(),
            protocol.default_port(),
        )),
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
        "{label}: accepted={} written={} replayed={} written_bytes={} buffered={} dropped={} (buffer_full={} evicted={} deadline={} closed={} too_large={} invalid={} spool_full={} spool_error={} spool_corrupt={}) unconfirmed={} connects={} connect_failures={} disconnects={} spooled={} unspooled={} spool_found={} spool_held={} spool_torn={}",
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
        stats.spooled,
        stats.unspooled,
        stats.spool_found,
        stats.spool_held,
        stats.spool_torn,
    );
}

fn listen(args: &ListenArgs) -> Result<bool, Failure> {
    let bind = args
        .bind
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], args.protocol.default_port())));
    let listener = Listener::bind(bind, args.protocol)?;
    eprintln!(
        "listening for {} on {}",
        args.protocol,
        listener.local_addr()
    );
    let mut out = io::stdout().lock();
    for (seen, item) in listener.received().iter().enumerate() {
        match &item {
            Received::Datapoint(_) => writeln!(out, "{item}")?,
            Received::Error { .. } => writeln!(out, "error: {item}")?,
        }
        out.flush()?;
        if args.count.is_some_and(|max| seen + 1 >= max) {
            break;
        }
    }
    Ok(true)
}

fn route(args: &RouteArgs) -> Result<bool, Failure> {
    let ring = args.ring.ring()?;
    let mut out = io::stdout().lock();
    if args.names.is_empty() {
        let lines: Vec<String> = io::stdin().lock().lines().collect::<Result<_, _>>()?;
        let names = lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty());
        print_routes(&ring, names, &mut out)?;
    } else {
        print_routes(&ring, args.names.iter().map(String::as_str), &mut out)?;
    }
    Ok(true)
}

fn decode_name(name: &str) -> Result<bool, Failure> {
    let mut ok = true;
    for (index, part) in name.split('.').enumerate() {
        match graphite_proto::decode_metric_part(part) {
            Ok(decoded) => println!("{decoded}"),
            Err(e) => {
                eprintln!("graphite: part {index} ({part:?}): {e}");
                ok = false;
            }
        }
    }
    Ok(ok)
}
