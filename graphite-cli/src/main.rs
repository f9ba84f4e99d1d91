//! `graphite`: send datapoints through any runtime, run a debug listener,
//! and use aiographite's name encoder from the shell.
//!
//! This file is the command line's schema and the dispatch to
//! [`commands`], one module per subcommand.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use graphite_cli::backend::Runtime;
use graphite_cli::routing::{RingArgs, RingOptions};
use graphite_proto::Protocol;
use graphite_proto::router::Failover;
use graphite_proto::sender::{ReplayWindow, SenderConfig};

mod commands;

mod storage_rules;

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
    /// Print the storage-aggregation.conf stanzas for metrics-exporter-graphite's
    /// series under a naming scheme and counter mode.
    StorageRules(storage_rules::StorageRulesArgs),
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
    /// timestamp`, and bad input as `error` lines.
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
    /// One error line per bad line or item, instead of one per run of them
    /// (a frame, a datagram, the bad lines between two good ones or at most
    /// a second's worth) saying how many and the first reason.
    #[arg(long, short)]
    verbose: bool,
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
        Command::Send(args) => commands::send::run(&args),
        Command::Listen(args) => commands::listen::run(&args),
        Command::EncodeName { parts } => commands::names::encode(&parts),
        Command::DecodeName { name } => commands::names::decode(&name),
        Command::Route(args) => commands::route::run(&args),
        Command::StorageRules(args) => {
            storage_rules::run(&args);
            Ok(true)
        }
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
