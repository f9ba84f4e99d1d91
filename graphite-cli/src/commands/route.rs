//! `graphite route`: each name's destinations on a ring, without sending.

use std::io::{self, BufRead};

use graphite_cli::routing::print_routes;

use super::Failure;
use crate::RouteArgs;

/// Prints `NAME DEST [DEST...]` for the names given, or for each stdin line.
pub(crate) fn run(args: &RouteArgs) -> Result<bool, Failure> {
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
