//! The router's decisions, against any ring and any health, and against
//! destinations whose health comes from simulated senders.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::MetricPath;
use crate::Protocol;
use crate::ring::{Compat, Destination, HashType, RingConfig};
use crate::sender::{Output, Sender, SenderConfig};

fn destinations() -> impl Strategy<Value = Vec<Destination>> {
    (2_usize..7).prop_flat_map(|n| {
        prop::collection::vec(prop::option::of(0_u8..3), n).prop_map(|hosts| {
            hosts
                .into_iter()
                .enumerate()
                .map(|(i, host)| {
                    let host = host.map_or_else(|| format!("h{i}"), |h| format!("shared{h}"));
                    Destination::new(&host, 2000 + i as u16)
                        .and_then(|d| d.with_instance(&i.to_string()))
                        .expect("valid")
                })
                .collect()
        })
    })
}

fn rings() -> impl Strategy<Value = (Compat, HashType)> {
    prop::sample::select(vec![
        (Compat::Carbon, HashType::CarbonCh),
        (Compat::Carbon, HashType::Fnv1aCh),
        (Compat::CarbonCRelay, HashType::CarbonCh),
        (Compat::CarbonCRelay, HashType::Fnv1aCh),
        (Compat::CarbonCRelay, HashType::JumpFnv1aCh),
    ])
}

fn ring(
    compat: Compat,
    hash: HashType,
    replication: usize,
    diverse: bool,
    dests: &[Destination],
) -> Ring {
    let mut config = RingConfig::new(compat, hash).replication(replication.min(dests.len()));
    if compat == Compat::Carbon {
        config = config.diverse_replicas(diverse);
    }
    config.build(dests.to_vec()).expect("valid")
}

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z]{1,6}(\\.[a-z0-9]{1,6}){0,3}(;t=[a-z]{1,3})?", 1..48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Hold never moves a series, whatever the health.
    #[test]
    fn hold_is_the_ring_whatever_the_health(
        (compat, hash) in rings(),
        dests in destinations(),
        replication in 1_usize..4,
        diverse in any::<bool>(),
        down in any::<u8>(),
        names in names(),
    ) {
        let ring = ring(compat, hash, replication, diverse, &dests);
        let router = Router::new(ring.clone(), Failover::Hold).expect("valid");
        let mut routes = Routes::default();
        for name in &names {
            router.route_into(name, |d| down & (1 << d) != 0, &mut routes);
            prop_assert_eq!(&routes[..], &ring.route(name)[..]);
        }
    }

    /// Reroute: up replicas stay where they are; each down replica is
    /// replaced by an up destination not already chosen (when there is
    /// one); the route keeps its length and stays distinct. With nothing
    /// down it is the ring's route.
    #[test]
    fn reroute_replaces_only_the_down_replicas(
        (compat, hash) in rings(),
        dests in destinations(),
        replication in 1_usize..4,
        diverse in any::<bool>(),
        down in any::<u8>(),
        names in names(),
    ) {
        let ring = ring(compat, hash, replication, diverse, &dests);
        let router = Router::new(ring.clone(), Failover::Reroute).expect("valid");
        let is_down = |d: usize| down & (1 << d) != 0;
        let up = (0..dests.len()).filter(|&d| !is_down(d)).count();
        let mut routes = Routes::default();
        for name in &names {
            let home = ring.route(name);
            router.route_into(name, |_| false, &mut routes);
            prop_assert_eq!(&routes[..], &home[..]);
            router.route_into(name, is_down, &mut routes);
            prop_assert_eq!(routes.len(), home.len());
            for (i, (&now, &was)) in routes.iter().zip(&home).enumerate() {
                prop_assert!(!routes[..i].contains(&now));
                if !is_down(was) {
                    prop_assert_eq!(now, was);
                }
            }
            let home_up = home.iter().filter(|&&d| !is_down(d)).count();
            let routed_up = routes.iter().filter(|&&d| !is_down(d)).count();
            prop_assert_eq!(routed_up, home.len().min(up).max(home_up));
        }
    }

    /// The ring's route is the start of its walk (without diversity) or a
    /// subsequence of it (with): "the next ring node" is well defined for
    /// every ring, the jump hash's replica sequence included.
    #[test]
    fn the_route_follows_the_walk(
        (compat, hash) in rings(),
        dests in destinations(),
        replication in 1_usize..4,
        diverse in any::<bool>(),
        names in names(),
    ) {
        let ring = ring(compat, hash, replication, diverse, &dests);
        let router = Router::new(ring.clone(), Failover::Reroute).expect("valid");
        let walk = router.walk.as_ref().expect("reroute has a walk");
        for name in &names {
            let (route, walk) = (ring.route(name), walk.route(name));
            prop_assert_eq!(walk.len(), dests.len());
            if ring.diverse_replicas() {
                let mut rest = walk.iter();
                prop_assert!(route.iter().all(|d| rest.any(|w| w == d)), "{:?} in {:?}", route, walk);
            } else {
                prop_assert_eq!(&walk[..route.len()], &route[..]);
            }
        }
    }

    /// On Python carbon's ring, rerouting around one down destination puts
    /// each of its series exactly where the ring without it would.
    #[test]
    fn carbon_reroute_is_the_ring_without_the_down_node(
        hash in prop::sample::select(vec![HashType::CarbonCh, HashType::Fnv1aCh]),
        dests in destinations(),
        down in any::<prop::sample::Index>(),
        names in names(),
    ) {
        let ring = ring(Compat::Carbon, hash, 1, true, &dests);
        let down = down.index(dests.len());
        let smaller = ring.without(down).expect("valid");
        let router = Router::new(ring, Failover::Reroute).expect("valid");
        let mut routes = Routes::default();
        for name in &names {
            router.route_into(name, |d| d == down, &mut routes);
            let expected = smaller.primary(name);
            let expected = if expected >= down { expected + 1 } else { expected };
            prop_assert_eq!(routes[0], expected);
        }
    }
}

fn three(compat: Compat, hash: HashType, replication: usize) -> Ring {
    let dests = match compat {
        Compat::Carbon => ["127.0.0.1:2004:a", "127.0.0.1:2104:b", "127.0.0.1:2204:c"],
        Compat::CarbonCRelay => ["127.0.0.1:2003:1", "127.0.0.1:2103:2", "127.0.0.1:2203:3"],
    };
    let mut config = RingConfig::new(compat, hash).replication(replication);
    if compat == Compat::Carbon {
        config = config.diverse_replicas(false);
    }
    config.build_from_strs(dests).expect("valid")
}

fn batch(n: usize) -> Vec<Datapoint> {
    (0..n)
        .map(|i| {
            let path = MetricPath::new(&format!("sim.s{i}")).expect("valid");
            Datapoint::new(path, i as i64, 1_700_000_000)
        })
        .collect()
}

/// Three simulated destinations: one sender each, health read from the
/// senders' own state machines, copies pushed per destination. Every copy
/// lands once in its destination's stats; hold keeps placement through an
/// outage, reroute moves the outage's series to the next node and back.
#[test]
fn simulated_outage_hold_and_reroute() {
    for failover in [Failover::Hold, Failover::Reroute] {
        for replication in [1, 2] {
            let ring = three(Compat::Carbon, HashType::CarbonCh, replication);
            let router = Router::new(ring.clone(), failover).expect("valid");
            let t0 = Instant::now();
            let config = SenderConfig::new(Protocol::Plaintext);
            let mut senders: Vec<Sender> = (0..3)
                .map(|_| Sender::new(t0, config.clone()).expect("valid"))
                .collect();
            // All connect, then destination 1 loses its connection.
            for s in &mut senders {
                assert!(matches!(s.poll_output(t0), Some(Output::Connect)));
                s.on_connected(t0);
            }
            senders[1].on_error(t0, &"connection reset");
            let down_at = senders[1].outage_since();
            assert_eq!(down_at, Some(t0));

            let points = batch(3_000);
            let mut split = Split::default();
            let down: Vec<bool> = senders.iter().map(|s| s.outage_since().is_some()).collect();
            router.split(&points, |d| down[d], &mut split);
            let results: Vec<_> = senders
                .iter_mut()
                .enumerate()
                .map(|(d, s)| s.push_many_or_drop(t0, split.group(d)).map(drop))
                .collect();
            assert_eq!(split.merge(points.len(), &results), Ok(()));

            let stats = RoutedStats::new(
                senders.iter().map(Sender::stats).collect(),
                Dropped::default(),
            );
            assert!(stats.is_consistent());
            assert_eq!(stats.total().accepted, (points.len() * replication) as u64);
            for (d, s) in stats.destinations.iter().enumerate() {
                let home: u64 = points
                    .iter()
                    .map(|p| ring.route(p.path.as_str()))
                    .filter(|r| r.contains(&d))
                    .count() as u64;
                match (failover, d) {
                    (Failover::Hold, _) => {
                        assert_eq!(s.accepted, home, "{failover} R={replication} d={d}")
                    }
                    (Failover::Reroute, 1) => assert_eq!(s.accepted, 0, "nothing to the down node"),
                    (Failover::Reroute, _) => {
                        assert!(s.accepted > home, "the others take its series")
                    }
                }
            }

            // Back up: placement returns to the ring's.
            let later = t0 + Duration::from_secs(5);
            senders[1].handle_timeout(later);
            while let Some(output) = senders[1].poll_output(later) {
                if matches!(output, Output::Connect) {
                    senders[1].on_connected(later);
                    break;
                }
            }
            assert_eq!(senders[1].outage_since(), None);
            let down: Vec<bool> = senders.iter().map(|s| s.outage_since().is_some()).collect();
            router.split(&points, |d| down[d], &mut split);
            for d in 0..3 {
                let home = points
                    .iter()
                    .filter(|p| ring.route(p.path.as_str()).contains(&d))
                    .count();
                assert_eq!(split.group(d).len(), home);
            }
        }
    }
}

/// A name the naming makes invalid is refused before routing; merged
/// errors point into the caller's slice.
#[test]
fn refusals_and_merged_errors_point_into_the_slice() {
    let ring = three(Compat::CarbonCRelay, HashType::JumpFnv1aCh, 2);
    // Valid alone, too long once "pfx." is prepended.
    let mut long = "x".repeat(200);
    while long.len() + 201 <= crate::MAX_PATH_LEN {
        long.push('.');
        long.push_str(&"x".repeat(200));
    }
    let room = crate::MAX_PATH_LEN - long.len();
    if room >= 2 {
        long.push('.');
        long.push_str(&"y".repeat(room - 2));
    }
    let router = Router::new(ring, Failover::Hold)
        .expect("valid")
        .with_naming(Naming::default().with_prefix("pfx").expect("valid"));
    let mut points = batch(5);
    points.insert(
        3,
        Datapoint::new(MetricPath::new(&long).expect("valid"), 1, 0),
    );
    let mut split = Split::default();
    router.split(&points, |_| false, &mut split);
    assert_eq!(split.refused().len(), 1);
    assert_eq!(split.refused()[0].0, 3);
    let copies: usize = (0..3).map(|d| split.group(d).len()).sum();
    assert_eq!(copies, 10);
    assert!((0..3).all(|d| {
        split
            .group(d)
            .iter()
            .all(|p| p.path.as_str().starts_with("pfx."))
    }));
    // A destination that dropped its second copy: index mapped to the slice.
    let d = (0..3)
        .find(|&d| split.group(d).len() >= 2)
        .expect("a busy destination");
    let mut results = vec![Ok(()); 3];
    results[d] = Err(PushManyError {
        total: split.group(d).len(),
        dropped: 1,
        first_index: 1,
        first_reason: PushError::Full,
    });
    let merged = split.merge(points.len(), &results).expect_err("two drops");
    assert_eq!(merged.total, 6);
    assert_eq!(merged.dropped, 2);
    assert!(merged.first_index <= 3);
    assert!(router.named(&points[3]).is_err());
}
