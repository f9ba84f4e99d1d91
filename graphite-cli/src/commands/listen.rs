//! `graphite listen`: a debug carbon printing what it receives.

use std::io::{self, Write};
use std::net::SocketAddr;

use graphite_cli::listen::{Detail, Listener, Received};

use super::Failure;
use crate::ListenArgs;

/// Prints each datapoint received as `metric value timestamp`, and bad
/// input as `error:` lines (a run of refusals summarised in one, unless
/// `--verbose`), until `--count` of them.
pub(crate) fn run(args: &ListenArgs) -> Result<bool, Failure> {
    let bind = args
        .bind
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], args.protocol.default_port())));
    let detail = if args.verbose {
        Detail::Every
    } else {
        Detail::Summary
    };
    let listener = Listener::bind_with(bind, args.protocol, detail)?;
    eprintln!(
        "listening for {} on {}",
        args.protocol,
        listener.local_addr()
    );
    let mut out = io::stdout().lock();
    for (seen, item) in listener.received().iter().enumerate() {
        match &item {
            Received::Datapoint(_) => writeln!(out, "{item}")?,
            Received::Error { .. } | Received::Refused { .. } => {
                writeln!(out, "error: {item}")?;
            }
        }
        out.flush()?;
        if args.count.is_some_and(|max| seen + 1 >= max) {
            break;
        }
    }
    Ok(true)
}
