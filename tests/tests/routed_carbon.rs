//! The routed sender against real carbons: three carbon-caches on
//! loopback, the same series sent through carbon's own relays and by our
//! routed sender straight to the caches, every series on the same cache
//! both ways; and one cache SIGKILLed for 5 s during a 100,000-point
//! stream, under both failover policies.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use graphite_proto::ring::{Compat, HashType, Ring, RingConfig};
use graphite_proto::router::{Failover, Router, Routes};
use graphite_proto::sender::SenderConfig;
use graphite_proto::{Datapoint, MetricPath, Protocol, Value};
use graphite_tests::carbon::Carbon;
use graphite_tests::routed::AnyRouted;
use graphite_tests::routing::{Relay, c_relay_forwarded, c_relay_in_front, sample_names};
use graphite_tests::runtime::Runtime;

/// Each test starts three carbons and loads both cores: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Series per configuration.
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

fn paths(names: &[String]) -> Vec<MetricPath> {
    names
        .iter()
        .map(|n| MetricPath::new(n).expect("valid"))
        .collect()
}

/// Sends `names` with our routed sender (hold, nothing down) at
/// `timestamp`, value = index, and closes it.
fn send_direct(
    runtime: Runtime,
    ring: &Ring,
    protocol: Protocol,
    names: &[String],
    timestamp: i64,
) {
    let batch: Vec<Datapoint> = paths(names)
        .into_iter()
        .enumerate()
        .map(|(i, p)| Datapoint::new(p, Value::Int(i as i64), timestamp))
        .collect();
    let sender = AnyRouted::spawn(
        runtime,
        ring.clone(),
        Failover::Hold,
        SenderConfig::new(protocol),
    )
    .expect("spawn");
    sender.push_many(&batch).expect("room for every copy");
    let stats = sender.close(Duration::from_secs(30));
    let copies: usize = names.iter().map(|n| ring.route(n).len()).sum();
    let total = stats.total();
    assert!(stats.is_consistent(), "{stats:?}");
    assert_eq!(total.written, copies as u64, "{stats:?}");
    assert_eq!(total.dropped.total(), 0, "{stats:?}");
}

/// Which caches hold `(name, timestamp)`, for each name.
fn holders(caches: &[Carbon; 3], names: &[String], timestamp: i64) -> Vec<BTreeSet<usize>> {
    let mut out = vec![BTreeSet::new(); names.len()];
    for (c, cache) in caches.iter().enumerate() {
        let stored = cache.fetch(names, timestamp - 1, timestamp + 1);
        for (i, name) in names.iter().enumerate() {
            if stored
                .get(name)
                .is_some_and(|p| p.iter().any(|&(t, v)| t == timestamp && v == i as f64))
            {
                out[i].insert(c);
            }
        }
    }
    out
}

/// The relay got `names` at `t_relay` and stored them as `via_relay`; our
/// sender sent `names` at `t_direct`. Waits until the ring's placement
/// holds for both, then checks that each series sits on the same cache(s)
/// both ways and nowhere else.
fn compare(
    label: &str,
    relay: &Relay,
    caches: &[Carbon; 3],
    ring: &Ring,
    names: &[String],
    via_relay: &[String],
    (t_relay, t_direct): (i64, i64),
) {
    let started = Instant::now();
    let mut expected: [Vec<(String, i64, f64)>; 3] = Default::default();
    for (i, (name, relayed)) in names.iter().zip(via_relay).enumerate() {
        for d in ring.route(name) {
            expected[d].push((relayed.clone(), t_relay, i as f64));
            expected[d].push((name.clone(), t_direct, i as f64));
        }
    }
    for (cache, want) in caches.iter().zip(&expected) {
        if let Err(e) = cache.wait_for(want, STORE_TIMEOUT) {
            panic!("{label}: {e}\nrelay log:\n{}", relay.log());
        }
    }
    // Everything due has arrived; a stray copy would have arrived with it.
    thread::sleep(Duration::from_secs(2));
    let by_relay = holders(caches, via_relay, t_relay);
    let by_us = holders(caches, names, t_direct);
    let mut per_cache = [[0_usize; 3]; 2];
    for (i, (relayed, ours)) in by_relay.iter().zip(&by_us).enumerate() {
        assert_eq!(
            relayed, ours,
            "{label}: {:?} on caches {relayed:?} through the relay, {ours:?} sent by us",
            names[i]
        );
        for &c in relayed {
            per_cache[0][c] += 1;
        }
        for &c in ours {
            per_cache[1][c] += 1;
        }
    }
    eprintln!(
        "{label}: {} series, per cache through the relay {:?}, by our routed sender {:?}, checked in {:.1?}",
        names.len(),
        per_cache[0],
        per_cache[1],
        started.elapsed()
    );
}

fn lines(names: &[String], timestamp: i64) -> Vec<u8> {
    let mut lines = String::new();
    for (i, name) in names.iter().enumerate() {
        lines.push_str(&format!("{name} {i} {timestamp}\n"));
    }
    lines.into_bytes()
}

#[test]
fn carbon_relay_and_our_routed_sender_place_every_series_alike() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let caches = caches();
    let with_instances: Vec<String> = caches
        .iter()
        .zip(["a", "b", "c"])
        .map(|(c, i)| format!("127.0.0.1:{}:{i}", c.pickle_port))
        .collect();
    // Three host names for one loopback, no instances: Python carbon's
    // fnv1a_ch replica keys collide and are bumped.
    let instance_less: Vec<String> = caches
        .iter()
        .zip(["127.0.0.1", "localhost", "127.1"])
        .map(|(c, host)| format!("{host}:{}", c.pickle_port))
        .collect();
    let configs = [
        ("carbon_ch", 1, true, &with_instances),
        ("carbon_ch", 2, false, &with_instances),
        ("fnv1a_ch", 1, true, &with_instances),
        ("fnv1a_ch", 2, false, &with_instances),
        ("fnv1a_ch", 1, true, &instance_less),
        ("fnv1a_ch", 2, true, &instance_less),
    ];
    for (n, (hash, replication, diverse, destinations)) in configs.into_iter().enumerate() {
        let runtime = Runtime::ALL[n % Runtime::ALL.len()];
        let label = format!(
            "carbon-relay {hash} R={replication} diverse={diverse} vs {}",
            runtime.name()
        );
        let ring = RingConfig::new(Compat::Carbon, hash.parse().expect("a hash"))
            .replication(replication)
            .diverse_replicas(diverse)
            .build_from_strs(destinations)
            .expect("a ring");
        let relay = Relay::carbon(hash, replication, diverse, destinations);
        let names = sample_names(&format!("rc{n}."), SERIES);
        let t = now() - 120;
        relay.send(&lines(&names, t));
        send_direct(runtime, &ring, Protocol::Pickle, &names, t + 1);
        compare(&label, &relay, &caches, &ring, &names, &names, (t, t + 1));
    }
}

#[test]
fn carbon_c_relay_and_our_routed_sender_place_every_series_alike() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let caches = caches();
    let configs: [(HashType, usize, &[Option<&str>; 3]); 5] = [
        (HashType::CarbonCh, 1, &[Some("a"), Some("b"), Some("c")]),
        (HashType::CarbonCh, 2, &[Some("a"), Some("b"), Some("c")]),
        (HashType::Fnv1aCh, 1, &[None, None, None]),
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
        let runtime = Runtime::ALL[n % Runtime::ALL.len()];
        let label = format!(
            "carbon-c-relay {hash} R={replication} vs {}",
            runtime.name()
        );
        // The live relay hashes the rewritten name before ';': the ring's
        // default for carbon-c-relay (HashKey::RelayRewritten).
        let (ring, relay) = c_relay_in_front(&caches, instances, hash, replication);
        let names = sample_names(&format!("cc{n}."), SERIES);
        let via_relay = c_relay_forwarded(&names);
        let t = now() - 120;
        relay.send(&lines(&names, t));
        send_direct(runtime, &ring, Protocol::Plaintext, &names, t + 1);
        compare(
            &label,
            &relay,
            &caches,
            &ring,
            &names,
            &via_relay,
            (t, t + 1),
        );
    }
}

/// Series and timestamps of the outage stream: 500 x 200 = 100,000 points
/// over 10 s.
const OUTAGE_SERIES: usize = 500;
const TICKS: i64 = 200;
/// The cache that is killed.
const KILLED: usize = 1;

/// Per cache, per series, the ticks stored.
type Stored = [HashMap<String, BTreeSet<i64>>; 3];

fn stored_ticks(caches: &[Carbon; 3], names: &[String], base: i64) -> Stored {
    let mut out: Stored = Default::default();
    for (c, cache) in caches.iter().enumerate() {
        for (name, points) in cache.fetch(names, base - 1, base + TICKS + 1) {
            let ticks: BTreeSet<i64> = points
                .iter()
                .filter(|&&(t, v)| (base..base + TICKS).contains(&t) && v == (t - base) as f64)
                .map(|&(t, _)| t - base)
                .collect();
            out[c].insert(name, ticks);
        }
    }
    out
}

fn count(stored: &Stored) -> usize {
    stored
        .iter()
        .flat_map(|c| c.values())
        .map(BTreeSet::len)
        .sum()
}

/// 100,000 points over 10 s to three caches; the second is SIGKILLed at
/// 3 s and started again 5 s later.
fn outage(runtime: Runtime, failover: Failover) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut caches = caches();
    let destinations: Vec<String> = caches
        .iter()
        .zip(["a", "b", "c"])
        .map(|(c, i)| format!("127.0.0.1:{}:{i}", c.line_port))
        .collect();
    let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
        .build_from_strs(&destinations)
        .expect("a ring");
    let names: Vec<String> = (0..OUTAGE_SERIES)
        .map(|i| {
            format!(
                "outage.{}.{failover}.s{i}",
                runtime.name().replace('-', "_")
            )
        })
        .collect();
    // Every cache may receive any series (reroute): files exist up front,
    // so a kill never leaves one half-created.
    for cache in &caches {
        cache.create_series(&names);
    }
    let series = paths(&names);
    let base = now() - 900;
    let mut config = SenderConfig::new(Protocol::Plaintext).with_buffer_capacity(64 << 20);
    // Retry often, so the stream sees the cache come back before it ends.
    config.backoff.max = Duration::from_millis(500);
    let sender = AnyRouted::spawn(runtime, ring.clone(), failover, config).expect("spawn");

    let start = Instant::now();
    let chaos = thread::spawn(move || {
        thread::sleep(Duration::from_secs(3).saturating_sub(start.elapsed()));
        caches[KILLED].kill();
        thread::sleep(Duration::from_secs(5));
        caches[KILLED].launch();
        caches
    });
    let mut down_ticks = BTreeSet::new();
    for tick in 0..TICKS {
        let due = start + Duration::from_millis(50 * tick as u64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        if sender.outages()[KILLED].is_some() {
            down_ticks.insert(tick);
        }
        let batch: Vec<Datapoint> = series
            .iter()
            .map(|p| Datapoint::new(p.clone(), Value::Int(tick), base + tick))
            .collect();
        let _ = sender.push_many(&batch);
    }
    let caches = chaos.join().expect("chaos thread");
    let stats = sender.close(Duration::from_secs(60));
    let total = stats.total();
    let all = OUTAGE_SERIES * TICKS as usize;
    assert!(stats.is_consistent(), "{stats:?}");
    assert_eq!(total.pushed(), all as u64, "{stats:?}");
    assert_eq!(total.dropped.total(), 0, "{stats:?}");
    assert!(
        stats.destinations[KILLED].disconnects >= 1,
        "the kill was noticed: {stats:?}"
    );

    let deadline = Instant::now() + STORE_TIMEOUT;
    let mut stored = stored_ticks(&caches, &names, base);
    while count(&stored) < all && Instant::now() < deadline {
        thread::sleep(Duration::from_secs(1));
        stored = stored_ticks(&caches, &names, base);
    }

    let router = Router::new(ring.clone(), Failover::Reroute).expect("a router");
    let mut routes = Routes::default();
    let (mut home_points, mut rerouted, mut elsewhere, mut twice) = (0, BTreeSet::new(), 0, 0);
    for name in &names {
        let home = ring.primary(name);
        router.route_into(name, |d| d == KILLED, &mut routes);
        let next = routes[0];
        for tick in 0..TICKS {
            let on: Vec<usize> = (0..3)
                .filter(|&c| stored[c].get(name).is_some_and(|t| t.contains(&tick)))
                .collect();
            match on[..] {
                [c] if c == home => home_points += 1,
                [c] if home == KILLED && c == next => {
                    rerouted.insert(tick);
                }
                [] => {}
                [_] => elsewhere += 1,
                _ => twice += 1,
            }
        }
    }
    let per_cache: Vec<usize> = stored
        .iter()
        .map(|c| c.values().map(BTreeSet::len).sum())
        .collect();
    let rerouted_points = count(&stored) - home_points - elsewhere;
    eprintln!(
        "{} {failover}: stored {} of {all} (per cache {per_cache:?}); on their own cache {home_points}, rerouted to the next node {rerouted_points} (ticks {:?}..={:?}), elsewhere {elsewhere}, twice {twice}; killed cache down at push for ticks {:?}..={:?}; written {} replayed {} per destination {:?}",
        runtime.name(),
        count(&stored),
        rerouted.first(),
        rerouted.last(),
        down_ticks.first(),
        down_ticks.last(),
        total.written,
        total.replayed,
        stats
            .destinations
            .iter()
            .map(|s| s.written)
            .collect::<Vec<_>>(),
    );
    assert_eq!(count(&stored), all, "every point stored");
    assert_eq!((elsewhere, twice), (0, 0), "no point anywhere else");
    assert!(!down_ticks.is_empty(), "the outage was seen");
    match failover {
        Failover::Hold => assert_eq!(home_points, all, "each on its own cache"),
        _ => {
            assert!(
                rerouted_points > 0,
                "the outage's series went to the next node"
            );
            // Rerouted only while the sender saw the cache down (the tick
            // before or after: health is read per slice).
            let (first, last) = (down_ticks.first().copied(), down_ticks.last().copied());
            let within =
                |t: &i64| first.is_some_and(|f| *t + 1 >= f) && last.is_some_and(|l| *t <= l + 1);
            assert!(
                rerouted.iter().all(within),
                "rerouted ticks {rerouted:?}, down {down_ticks:?}"
            );
        }
    }
}

// The failover policy is decided in the core and driven by the one drive
// loop that every adapter shares: each adapter runs one outage, and each
// policy runs on two adapters (a full matrix doubled this file's time).

#[test]
fn outage_hold_keeps_placement_blocking() {
    outage(Runtime::Blocking, Failover::Hold)
}

#[test]
fn outage_hold_keeps_placement_smol() {
    outage(Runtime::Smol, Failover::Hold)
}

#[test]
fn outage_reroute_moves_to_the_next_node_tokio() {
    outage(Runtime::Tokio, Failover::Reroute)
}

#[test]
fn outage_reroute_moves_to_the_next_node_async_std() {
    outage(Runtime::AsyncStd, Failover::Reroute)
}
