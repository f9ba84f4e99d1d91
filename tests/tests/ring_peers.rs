//! The rings against live relays: three real carbon-caches on loopback
//! behind Python carbon's own `carbon-relay` (`RELAY_METHOD =
//! consistent-hashing`) and behind carbon-c-relay 3.7.3. Series (plain,
//! tagged, non-ASCII) go to the relay over one plain TCP connection; every
//! series must be stored on exactly the cache(s) our ring predicts.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_proto::ring::{Compat, HashType, Ring, RingConfig};
use graphite_tests::carbon::Carbon;
use graphite_tests::routing::{Relay, c_relay_forwarded, c_relay_in_front, sample_names};

/// Series per relay configuration.
const SERIES: usize = 2000;

const STORE_TIMEOUT: Duration = Duration::from_secs(120);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn caches() -> [Carbon; 3] {
    [Carbon::start(), Carbon::start(), Carbon::start()]
}

/// Sends `sent` (names as the relay receives them) through `relay`, then
/// checks that each stored name (`stored[i]`, the name as the relay
/// forwards it) is on exactly the caches `ring` gives `sent[i]`.
fn check(
    label: &str,
    relay: &Relay,
    caches: &[Carbon; 3],
    ring: &Ring,
    sent: &[String],
    stored: &[String],
) {
    let started = Instant::now();
    let timestamp = now() - 60;
    let mut lines = String::new();
    for (i, name) in sent.iter().enumerate() {
        lines.push_str(&format!("{name} {i} {timestamp}\n"));
    }
    relay.send(lines.as_bytes());

    let mut expected: [Vec<(String, i64, f64)>; 3] = Default::default();
    let mut absent: [Vec<String>; 3] = Default::default();
    let mut placements = [0_usize; 3];
    for (i, (name, stored)) in sent.iter().zip(stored).enumerate() {
        let route = ring.route(name);
        for (cache, (present, missing)) in expected.iter_mut().zip(absent.iter_mut()).enumerate() {
            if route.contains(&cache) {
                present.push((stored.clone(), timestamp, i as f64));
                placements[cache] += 1;
            } else {
                missing.push(stored.clone());
            }
        }
    }
    for (cache, want) in caches.iter().zip(&expected) {
        if let Err(e) = cache.wait_for(want, STORE_TIMEOUT) {
            panic!("{label}: {e}\nrelay log:\n{}", relay.log());
        }
    }
    // Everything due has arrived; a stray copy would have arrived with it.
    std::thread::sleep(Duration::from_secs(2));
    for (index, (cache, missing)) in caches.iter().zip(&absent).enumerate() {
        let stored = cache.fetch(missing, timestamp - 1, timestamp + 1);
        let strays: Vec<&String> = missing
            .iter()
            .filter(|m| stored.get(*m).is_some_and(|p| !p.is_empty()))
            .collect();
        assert!(
            strays.is_empty(),
            "{label}: {} series on cache {index} that the ring puts elsewhere, e.g. {:?}",
            strays.len(),
            &strays[..strays.len().min(5)]
        );
    }
    eprintln!(
        "{label}: {} series, placements per cache {placements:?}, checked in {:.1?}",
        sent.len(),
        started.elapsed()
    );
}

#[test]
fn carbon_relay_places_every_series_where_our_ring_does() {
    let caches = caches();
    let with_instances: Vec<String> = caches
        .iter()
        .zip(["a", "b", "c"])
        .map(|(c, i)| format!("127.0.0.1:{}:{i}", c.pickle_port))
        .collect();
    // Three host names for one loopback: no instances, so Python carbon's
    // fnv1a_ch replica keys ("i-None") collide for all three and are bumped.
    let instance_less: Vec<String> = caches
        .iter()
        .zip(["127.0.0.1", "localhost", "127.1"])
        .map(|(c, host)| format!("{host}:{}", c.pickle_port))
        .collect();
    let configs = [
        ("carbon_ch", 1, true, &with_instances),
        ("carbon_ch", 2, false, &with_instances),
        ("fnv1a_ch", 1, true, &instance_less),
        ("fnv1a_ch", 2, true, &instance_less),
    ];
    for (n, (hash, replication, diverse, destinations)) in configs.into_iter().enumerate() {
        let label = format!("carbon-relay {hash} R={replication} diverse={diverse}");
        let ring = RingConfig::new(Compat::Carbon, hash.parse().expect("a hash"))
            .replication(replication)
            .diverse_replicas(diverse)
            .build_from_strs(destinations)
            .expect("a ring");
        let relay = Relay::carbon(hash, replication, diverse, destinations);
        let names = sample_names(&format!("pr{n}."), SERIES);
        check(&label, &relay, &caches, &ring, &names, &names);
    }
}

#[test]
fn carbon_c_relay_places_every_series_where_our_ring_does() {
    let caches = caches();
    let configs: [(HashType, usize, &[Option<&str>; 3]); 6] = [
        (HashType::CarbonCh, 1, &[Some("a"), Some("b"), Some("c")]),
        (HashType::CarbonCh, 2, &[Some("a"), Some("b"), Some("c")]),
        (HashType::Fnv1aCh, 1, &[Some("a"), Some("b"), Some("c")]),
        // Keys "i-127.0.0.1:port": instances are not needed.
        (HashType::Fnv1aCh, 2, &[None, None, None]),
        (
            HashType::JumpFnv1aCh,
            1,
            &[Some("2"), Some("10"), Some("1")],
        ),
        (
            HashType::JumpFnv1aCh,
            2,
            &[Some("2"), Some("10"), Some("1")],
        ),
    ];
    for (n, (hash, replication, instances)) in configs.into_iter().enumerate() {
        let label = format!("carbon-c-relay {hash} R={replication}");
        let (ring, relay) = c_relay_in_front(&caches, instances, hash, replication);
        let names = sample_names(&format!("cr{n}."), SERIES);
        let stored = c_relay_forwarded(&names);
        check(&label, &relay, &caches, &ring, &names, &stored);
    }
}
