//! Arbitrary text as a metric name: accepted names are one plaintext line.
#![no_main]

use graphite_proto::{Datapoint, MetricPath, plaintext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(path) = MetricPath::new(text) else { return };
    assert_eq!(MetricPath::new(path.as_str()).as_ref(), Ok(&path), "canonical form is stable");
    let mut line = Vec::new();
    plaintext::encode(&Datapoint::new(path.clone(), 1, 1), &mut line).expect("growable");
    let parsed = plaintext::parse_line(&line[..line.len() - 1]).expect("own line parses");
    assert_eq!(parsed.path, path);
});
