//! The rings against their references, name by name: Python carbon's own
//! `ConsistentHashingRouter` (run from the test venv) and
//! `carbon-c-relay -t` (3.7.3, Debian's package). Every name must map to
//! the same destinations, in the same order.

use std::collections::HashMap;

use graphite_proto::ring::{Compat, HashKey, HashType, Ring, RingConfig};
use graphite_tests::routing::{
    c_relay_config, c_relay_server, c_relay_test_mode, carbon_routes, sample_names,
};

/// Names beyond the sample: invalid for `MetricPath` but routed all the
/// same by both references.
const ODD_NAMES: [&str; 8] = [
    "a..b",
    "x;y=z;a=b",
    "m;",
    "-",
    "tab\u{b}vt",
    "quote'\"\\",
    "ümlaut;ö=ü",
    "0",
];

fn names() -> Vec<String> {
    let mut names = sample_names("", 2000);
    names.extend(ODD_NAMES.iter().map(|s| (*s).to_owned()));
    names
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Destination sets that exercise each ring's quirks.
fn python_sets() -> Vec<(&'static str, Vec<String>)> {
    let mut many: Vec<String> = (0..16)
        .map(|k| match k % 4 {
            0 => format!("10.1.0.{}:2004", k),
            1 => format!("10.1.0.{}:2104:{}", k % 5, k),
            2 => format!("carbon-{}.example:2004:x{}", k % 3, k),
            _ => format!("10.1.0.{}:2204:inst{}", k % 5, k),
        })
        .collect();
    many.push(String::from("10.9.9.9:2004:it's"));
    many.push(String::from("10.9.9.9:2104:a\\b"));
    many.push(String::from("10.9.9.9:2204:say\"'"));
    vec![
        (
            "three hosts, instances",
            strings(&["10.0.0.1:2004:a", "10.0.0.2:2004:b", "10.0.0.3:2004:c"]),
        ),
        (
            "one host, three instances",
            strings(&["127.0.0.1:2104:a", "127.0.0.1:2204:b", "127.0.0.1:2304:c"]),
        ),
        (
            // fnv1a_ch keys are "i-None" for all four: every point collides
            // and is bumped.
            "four hosts, no instances",
            strings(&[
                "10.0.0.1:2004",
                "10.0.0.2:2004",
                "10.0.0.3:2004",
                "10.0.0.4:2004",
            ]),
        ),
        (
            // fnv1a_ch: two hosts share instance "a": colliding points.
            "shared instance names",
            strings(&[
                "10.0.0.1:2004:a",
                "10.0.0.2:2004:a",
                "10.0.0.1:2104:b",
                "10.0.0.3:2004",
            ]),
        ),
        ("nineteen mixed", many),
    ]
}

fn relay_sets() -> Vec<(&'static str, Vec<String>)> {
    let mut many: Vec<String> = (0..20)
        .map(|k| match k % 4 {
            0 => format!("10.1.0.{}:{}", k % 3, 2000 + k),
            1 => format!("10.1.0.{}:{}:{}", k % 5, 2000 + k, k),
            // Host names that do not resolve confuse the relay's server
            // identity: addresses only.
            2 => format!("10.2.0.{}:{}:x{}", k % 3, 2000 + k, k),
            _ => format!("10.1.0.{}:{}:inst{}", k % 5, 2000 + k, k),
        })
        .collect();
    // The relay's configuration syntax has no quoting for a `'`.
    many.push(String::from("10.9.9.9:2004:i-t_s"));
    vec![
        (
            "three hosts, instances",
            strings(&["10.0.0.1:2004:a", "10.0.0.2:2004:b", "10.0.0.3:2004:c"]),
        ),
        (
            // carbon_ch keys ignore the port: the second and third server
            // collide with the first at every point and vanish.
            "one host, no instances",
            strings(&[
                "127.0.0.1:2003",
                "127.0.0.1:2004",
                "127.0.0.1:2005",
                "10.0.0.9:2003",
            ]),
        ),
        (
            "numeric and string instances",
            strings(&[
                "10.0.0.1:2001:10",
                "10.0.0.1:2002",
                "10.0.0.2:2003:9",
                "10.0.0.3:2004:b",
                "10.0.0.3:2005",
                "10.0.0.4:2006:-1",
                "10.0.0.4:2007:+3",
            ]),
        ),
        (
            "shared instance names",
            strings(&[
                "10.0.0.1:2004:a",
                "10.0.0.2:2004:a",
                "10.0.0.1:2104:b",
                "10.0.0.3:2004",
            ]),
        ),
        ("twenty-one mixed", many),
    ]
}

/// Removes repeats, keeping the first: Python carbon yields a single node
/// twice and its client manager collapses the copies.
fn distinct(route: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    for &d in route {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

fn assert_same(ring: &Ring, what: &str, names: &[String], expected: &[Vec<usize>]) -> usize {
    let mut out = Vec::new();
    let mut mismatches = Vec::new();
    for (name, want) in names.iter().zip(expected) {
        ring.route_into(name, &mut out);
        if out != *want {
            mismatches.push((name.clone(), out.clone(), want.clone()));
        }
        assert_eq!(ring.primary(name), want[0], "{what}: primary of {name:?}");
    }
    assert!(
        mismatches.is_empty(),
        "{what}: {} of {} names differ (name, ours, reference), e.g. {:?}",
        mismatches.len(),
        names.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    names.len()
}

#[test]
fn python_carbon_consistent_hashing_router() {
    let names = names();
    let mut cases = Vec::new();
    for (label, set) in python_sets() {
        for hash in ["carbon_ch", "fnv1a_ch"] {
            for (replication, diverse) in [(1, true), (2, true), (2, false), (3, true), (3, false)]
            {
                cases.push((label, hash, replication, diverse, set.clone()));
            }
        }
    }
    let request: Vec<_> = cases
        .iter()
        .map(|(_, hash, r, diverse, set)| (*hash, *r, *diverse, set.clone()))
        .collect();
    let reference = carbon_routes(&request, &names);
    let mut checked = 0;
    for ((label, hash, replication, diverse, set), expected) in cases.iter().zip(reference) {
        let ring = RingConfig::new(Compat::Carbon, hash.parse().expect("a hash"))
            .replication(*replication)
            .diverse_replicas(*diverse)
            .build_from_strs(set)
            .expect("a ring");
        let expected: Vec<Vec<usize>> = expected.iter().map(|r| distinct(r)).collect();
        let what = format!("carbon {hash} R={replication} diverse={diverse} ({label})");
        checked += assert_same(&ring, &what, &names, &expected);
    }
    eprintln!("{checked} routes checked against carbon's ConsistentHashingRouter");
}

#[test]
fn carbon_c_relay_test_mode() {
    let names = names();
    let mut checked = 0;
    for (label, set) in relay_sets() {
        for hash in [HashType::CarbonCh, HashType::Fnv1aCh, HashType::JumpFnv1aCh] {
            for replication in [1, 2, 3] {
                let ring = RingConfig::new(Compat::CarbonCRelay, hash)
                    .replication(replication)
                    .hash_key(HashKey::Full)
                    .build_from_strs(&set)
                    .expect("a ring");
                let servers: Vec<String> = ring.destinations().iter().map(c_relay_server).collect();
                if hash == HashType::CarbonCh
                    && label == "one host, no instances"
                    && replication > 2
                {
                    // Two servers hold the whole ring: the relay would look
                    // for a third for ever.
                    continue;
                }
                let config = c_relay_config(&hash.to_string(), replication, &servers);
                let index: HashMap<String, usize> = ring
                    .destinations()
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (format!("{}:{}", d.host(), d.port()), i))
                    .collect();
                let expected: Vec<Vec<usize>> = c_relay_test_mode(&config, &names)
                    .into_iter()
                    .map(|route| {
                        route
                            .iter()
                            .map(|s| *index.get(s).unwrap_or_else(|| panic!("unknown server {s}")))
                            .collect()
                    })
                    .collect();
                let what = format!("carbon-c-relay {hash} R={replication} ({label})");
                checked += assert_same(&ring, &what, &names, &expected);
            }
        }
    }
    eprintln!("{checked} routes checked against carbon-c-relay -t");
}
