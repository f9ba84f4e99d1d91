//! `graphite`: send datapoints through any runtime, run a debug listener,
//! and use aiographite's name encoder from the shell.

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use graphite_cli::input;
use graphite_cli::listen::{Listener, Received};
use graphite_cli::routing::{RingArgs, print_routes};
use graphite_cli::runtime::{AnySender, Runtime};
use graphite_proto::sender::{SenderConfig, Stats};
use graphite_proto::{MetricPath, Protocol};

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
                      listener on loopback shows what a carbon would receive."
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
    #[arg(long)]
    to: Option<String>,
    /// plaintext, pickle or udp.
    #[arg(long, default_value = "plaintext")]
    protocol: Protocol,
    /// Which adapter sends.
    #[arg(long, value_enum, default_value = "blocking")]
    runtime: Runtime,
    /// Prepended to every metric name.
    #[arg(long)]
    prefix: Option<String>,
    /// Print the sender's final counters to stderr.
    #[arg(long)]
    stats: bool,
    /// Seconds allowed to flush at the end; what is left is dropped and counted.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Metric name (omit to read stdin).
    metric: Option<String>,
    /// Value.
    value: Option<String>,
    /// Unix timestamp in seconds (default: now).
    timestamp: Option<String>,
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

fn send(args: &SendArgs) -> Result<bool, Failure> {
    let prefix = args.prefix.as_deref().map(MetricPath::new).transpose()?;
    let (listener, host, port) = match &args.to {
        Some(to) => {
            let (host, port) = split_target(to, args.protocol)?;
            (None, host, port)
        }
        None => {
            let listener = Listener::bind(SocketAddr::from(([127, 0, 0, 1], 0)), args.protocol)?;
            let port = listener.local_addr().port();
            (Some(listener), "127.0.0.1".to_owned(), port)
        }
    };
    let sender = AnySender::spawn(args.runtime, &host, port, SenderConfig::new(args.protocol))?;
    let mut invalid = 0_usize;
    let push = |dp: graphite_proto::Datapoint| {
        if let Err(e) = sender.push(&dp) {
            eprintln!("graphite: {}: not sent: {e}", dp.path);
        }
    };
    match (&args.metric, &args.value) {
        (Some(metric), Some(value)) => {
            match input::datapoint(
                metric,
                value,
                args.timestamp.as_deref(),
                unix_now(),
                prefix.as_ref(),
            ) {
                Ok(dp) => push(dp),
                Err(e) => {
                    eprintln!("graphite: {e}");
                    invalid += 1;
                }
            }
        }
        (Some(_), None) => return Err("a METRIC needs a VALUE".into()),
        _ => {
            for (index, line) in io::stdin().lock().lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                match input::parse(&line, index + 1, unix_now(), prefix.as_ref()) {
                    Ok(dp) => push(dp),
                    Err(e) => {
                        eprintln!("graphite: {e}");
                        invalid += 1;
                    }
                }
            }
        }
    }
    let stats = sender.close(Duration::from_secs(args.timeout));
    if let Some(listener) = listener {
        show_received(&listener, &stats, args.protocol)?;
    }
    if args.stats {
        print_stats(&stats);
    }
    let complete = stats.written == stats.accepted && stats.dropped.total() == 0;
    Ok(invalid == 0 && complete)
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

fn print_stats(stats: &Stats) {
    let d = &stats.dropped;
    eprintln!(
        "stats: accepted={} written={} replayed={} written_bytes={} buffered={} dropped={} (buffer_full={} evicted={} deadline={} closed={} too_large={}) unconfirmed={} connects={} connect_failures={} disconnects={}",
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
        stats.unconfirmed,
        stats.connects,
        stats.connect_failures,
        stats.disconnects,
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
