//! The `graphite` command.

fn main() {}
