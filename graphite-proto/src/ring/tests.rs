//! Ring properties that hold for any destinations and names.

use proptest::prelude::*;

use super::*;

/// 2 to 8 destinations, distinct both by host and instance (Python carbon)
/// and by host and port (carbon-c-relay), often sharing hosts and lacking
/// instances so that points collide.
fn destinations() -> impl Strategy<Value = Vec<Destination>> {
    let one = (
        prop::sample::select(vec!["10.0.0.1", "10.0.0.2", "10.0.0.3", "carbon"]),
        2000_u16..2008,
        prop::option::of(prop::sample::select(vec!["a", "b", "1", "2", "10", "-3"])),
    );
    prop::collection::vec(one, 2..12).prop_filter_map("at least two distinct", |list| {
        let mut out: Vec<Destination> = Vec::new();
        for (host, port, instance) in list {
            let clash = out
                .iter()
                .any(|d| d.host() == host && (d.port() == port || d.instance() == instance));
            if clash {
                continue;
            }
            let mut d = Destination::new(host, port).ok()?;
            if let Some(instance) = instance {
                d = d.with_instance(instance).ok()?;
            }
            out.push(d);
        }
        (out.len() >= 2).then_some(out)
    })
}

fn names() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop_oneof![
            "[a-z]{1,8}(\\.[a-z0-9]{1,8}){0,4}".prop_map(String::into_bytes),
            "[a-z.]{1,8};[a-z]{1,3}=[a-zé]{1,4}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..24),
        ],
        1..64,
    )
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

fn config(compat: Compat, hash: HashType, replication: usize, diverse: bool) -> RingConfig {
    let config = RingConfig::new(compat, hash).replication(replication);
    if compat == Compat::Carbon {
        config.diverse_replicas(diverse)
    } else {
        config
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any name gets between 1 and R distinct, valid destinations, primary
    /// first, and never a panic.
    #[test]
    fn routes_are_distinct_and_bounded(
        (compat, hash) in rings(),
        dests in destinations(),
        replication in 1_usize..4,
        diverse in any::<bool>(),
        names in names(),
        key in prop::sample::select(vec![HashKey::Full, HashKey::RelayRewritten]),
    ) {
        let replication = replication.min(dests.len());
        let ring = config(compat, hash, replication, diverse).hash_key(key).build(dests.clone()).expect("valid");
        let mut out = Vec::new();
        for name in &names {
            ring.route_into(name, &mut out);
            prop_assert!(!out.is_empty() && out.len() <= replication);
            prop_assert!(out.iter().all(|&d| d < dests.len()));
            for (i, d) in out.iter().enumerate() {
                prop_assert!(!out[..i].contains(d));
            }
            prop_assert_eq!(ring.primary(name), out[0]);
        }
    }

    /// Removing one destination moves only the series that were on it: the
    /// others keep every replica (carbon_ch and fnv1a_ch, both carbons).
    #[test]
    fn removing_a_destination_moves_only_its_series(
        (compat, hash) in rings().prop_filter("ring hashes", |r| r.1 != HashType::JumpFnv1aCh),
        dests in destinations(),
        replication in 1_usize..4,
        diverse in any::<bool>(),
        removed in any::<prop::sample::Index>(),
        names in names(),
    ) {
        let replication = replication.min(dests.len() - 1);
        let ring = config(compat, hash, replication, diverse).build(dests.clone()).expect("valid");
        let removed = removed.index(dests.len());
        let smaller = ring.without(removed).expect("valid");
        let renumber = |d: usize| if d > removed { d - 1 } else { d };
        for name in &names {
            let before = ring.route(name);
            if before.contains(&removed) {
                continue;
            }
            let after = smaller.route(name);
            prop_assert_eq!(after, before.iter().map(|&d| renumber(d)).collect::<Vec<_>>());
        }
    }

    /// The jump hash moves series only from the bucket that goes (the last
    /// server in instance order) and only to the bucket that comes.
    #[test]
    fn jump_moves_only_from_or_to_the_changed_bucket(
        count in 2_usize..20,
        names in names(),
    ) {
        let dests: Vec<Destination> = (1..=count)
            .map(|i| Destination::new("10.0.0.1", 2000 + i as u16).expect("valid").with_instance(&i.to_string()).expect("valid"))
            .collect();
        let config = RingConfig::new(Compat::CarbonCRelay, HashType::JumpFnv1aCh);
        let full = config.build(dests.clone()).expect("valid");
        let last = count - 1;
        let smaller = full.without(last).expect("valid");
        for name in &names {
            let (before, after) = (full.primary(name), smaller.primary(name));
            // Removing the last bucket moves only its series; read the other
            // way, adding it moves series only to it.
            prop_assert!(after == before || before == last);
        }
    }

    /// The relay's hashed key never holds what its rewrite removes.
    #[test]
    fn relay_key_is_rewritten(name in prop::collection::vec(any::<u8>(), 0..40)) {
        let key = HashKey::RelayRewritten.key_of(&name);
        prop_assert!(key.iter().all(|b| b.is_ascii_alphanumeric() || b"-_:#.".contains(b)));
        prop_assert!(!key.starts_with(b"."));
        prop_assert!(!key.windows(2).any(|w| w == b".."));
        prop_assert!(key.len() <= name.len());
    }
}

#[test]
fn configuration_errors_are_typed() {
    let d = |s: &str| s.parse::<Destination>().expect("valid");
    let relay = RingConfig::new(Compat::CarbonCRelay, HashType::CarbonCh);
    assert_eq!(
        relay.build(vec![]).expect_err("refused"),
        RingError::NoDestinations
    );
    assert_eq!(
        relay
            .replication(0)
            .build(vec![d("a:1")])
            .expect_err("refused"),
        RingError::ZeroReplication
    );
    assert_eq!(
        relay
            .replication(3)
            .build(vec![d("a:1"), d("b:1")])
            .expect_err("refused"),
        RingError::ReplicationExceedsDestinations {
            replication: 3,
            destinations: 2
        }
    );
    assert_eq!(
        relay
            .diverse_replicas(true)
            .build(vec![d("a:1")])
            .expect_err("refused"),
        RingError::DiverseReplicasUnsupported
    );
    let many: Vec<Destination> = (1..=65)
        .map(|p| Destination::new("h", p).expect("valid"))
        .collect();
    assert_eq!(
        relay.build(many).expect_err("refused"),
        RingError::TooManyDestinations { count: 65, max: 64 }
    );
    assert!(matches!(
        relay.build(vec![d("h:1:a"), d("h:1:b")]),
        Err(RingError::DuplicateDestination {
            first: 0,
            second: 1,
            ..
        })
    ));
    let carbon = RingConfig::new(Compat::Carbon, HashType::CarbonCh);
    assert!(matches!(
        carbon.build(vec![d("h:1"), d("h:2")]),
        Err(RingError::DuplicateDestination {
            first: 0,
            second: 1,
            ..
        })
    ));
    // Python carbon allows more replicas than hosts and returns what it has.
    let ring = carbon
        .replication(5)
        .build(vec![d("h:1:a"), d("g:1")])
        .expect("valid");
    assert_eq!(ring.route("m").len(), 2);
    assert_eq!(
        ring.without(2).expect_err("refused"),
        RingError::IndexOutOfRange { index: 2, len: 2 }
    );
}

#[test]
fn relay_carbon_ch_ring_loses_instance_less_servers_on_one_host() {
    // carbon_ch keys ignore the port: both servers have the same points and
    // the first configured keeps them all.
    let ring = RingConfig::new(Compat::CarbonCRelay, HashType::CarbonCh)
        .replication(2)
        .build_from_strs(["127.0.0.1:2003", "127.0.0.1:2004"])
        .expect("valid");
    for name in ["a", "b.c", "d;e=f"] {
        assert_eq!(ring.route(name), [0]);
    }
}
