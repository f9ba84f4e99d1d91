//! `graphite encode-name` and `graphite decode-name`: aiographite's name
//! encoder from the shell.

use super::Failure;

/// Prints the parts encoded into one metric name.
pub(crate) fn encode(parts: &[String]) -> Result<bool, Failure> {
    println!("{}", graphite_proto::clean_and_join_metric_parts(parts));
    Ok(true)
}

/// Prints each part of an encoded name, decoded, one per line; a part that
/// does not decode is reported by its index.
pub(crate) fn decode(name: &str) -> Result<bool, Failure> {
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
