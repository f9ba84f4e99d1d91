//! The routed sender of every adapter against in-process sinks (no
//! carbon): each copy reaches exactly the destination(s) the router gives
//! the named series, every copy is counted once in its destination's
//! stats, refusals before routing are counted apart, and a destination
//! that refuses connections is held for (hold) or routed around (reroute).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use graphite_proto::ring::{Compat, HashType, RingConfig};
use graphite_proto::router::{Failover, Router, Routes};
use graphite_proto::sender::{PushError, SenderConfig};
use graphite_proto::{Datapoint, MetricPath, Naming, Protocol, Value};
use graphite_tests::routed::AnyRouted;
use graphite_tests::runtime::Runtime;
use graphite_tests::sink::Sink;

fn batch(n: usize) -> Vec<Datapoint> {
    (0..n)
        .map(|i| {
            let name = if i % 3 == 0 {
                format!("app.s{i};host=h{}", i % 7)
            } else {
                format!("app.s{i}")
            };
            Datapoint::new(
                MetricPath::new(&name).expect("valid"),
                Value::Int(i as i64),
                1_700_000_000,
            )
        })
        .collect()
}

fn replicated_copies_reach_their_destinations(runtime: Runtime) {
    let sinks = [Sink::tcp(), Sink::tcp(), Sink::tcp()];
    let destinations: Vec<String> = sinks
        .iter()
        .enumerate()
        .map(|(i, s)| format!("127.0.0.1:{}:{}", s.addr().port(), i + 1))
        .collect();
    let ring = RingConfig::new(Compat::CarbonCRelay, HashType::JumpFnv1aCh)
        .replication(2)
        .build_from_strs(&destinations)
        .expect("a ring");
    let config = SenderConfig::new(Protocol::Plaintext)
        .with_prefix("pfx")
        .expect("valid prefix");
    let sender = AnyRouted::spawn(runtime, ring.clone(), Failover::Hold, config).expect("spawn");
    let points = batch(1_000);
    sender.push_many(&points).expect("room");
    sender
        .send("one.more", Value::Int(1), Some(1_700_000_000))
        .expect("room");
    assert!(matches!(
        sender.send("bad..name", Value::Int(1), None),
        Err(PushError::Name(_))
    ));
    let stats = sender.close(Duration::from_secs(10));

    let router = Router::new(ring, Failover::Hold)
        .expect("a router")
        .with_naming(Naming::default().with_prefix("pfx").expect("valid"));
    let mut want: [BTreeSet<String>; 3] = Default::default();
    let mut routes = Routes::default();
    let names = points
        .iter()
        .map(|p| p.path.as_str().to_owned())
        .chain(["one.more".to_owned()]);
    for name in names {
        let named = format!("pfx.{name}");
        router.route_into(&named, |_| false, &mut routes);
        assert_eq!(routes.len(), 2);
        for &d in routes.iter() {
            want[d].insert(named.clone());
        }
    }
    for (d, sink) in sinks.iter().enumerate() {
        let bytes = stats.destinations[d].written_bytes as usize;
        sink.wait_for_bytes(bytes, Duration::from_secs(10));
        let (got, malformed) = sink.datapoints(false);
        assert_eq!(malformed, 0);
        let got: BTreeSet<String> = got.iter().map(|p| p.path.as_str().to_owned()).collect();
        assert_eq!(got, want[d], "{} destination {d}", runtime.name());
        assert_eq!(
            stats.destinations[d].written,
            want[d].len() as u64,
            "{stats:?}"
        );
    }
    assert!(stats.is_consistent());
    assert_eq!(stats.total().written, 2 * 1_001, "the total counts copies");
    assert_eq!(stats.unrouted.invalid, 1, "refused before routing");
    assert_eq!(stats.total().pushed(), 2 * 1_001 + 1);
}

/// A port where nothing listens.
fn refusing_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn a_refusing_destination(runtime: Runtime, failover: Failover) {
    let sinks = [Sink::tcp(), Sink::tcp()];
    let destinations = [
        format!("127.0.0.1:{}:a", sinks[0].addr().port()),
        format!("127.0.0.1:{}:b", refusing_port()),
        format!("127.0.0.1:{}:c", sinks[1].addr().port()),
    ];
    let ring = RingConfig::new(Compat::Carbon, HashType::CarbonCh)
        .build_from_strs(&destinations)
        .expect("a ring");
    let sender = AnyRouted::spawn(
        runtime,
        ring.clone(),
        failover,
        SenderConfig::new(Protocol::Plaintext),
    )
    .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while sender.outages()[1].is_none() {
        assert!(Instant::now() < deadline, "the refusal was never noticed");
        thread::sleep(Duration::from_millis(5));
    }
    let points = batch(900);
    let _ = sender.push_many(&points);
    let stats = sender.close(Duration::from_millis(500));
    let homed_on_b = points
        .iter()
        .filter(|p| ring.primary(p.path.as_str()) == 1)
        .count() as u64;
    assert!(homed_on_b > 0);
    assert!(stats.is_consistent(), "{stats:?}");
    let (b, total) = (stats.destinations[1], stats.total());
    for (sink, d) in sinks.iter().zip([0, 2]) {
        let bytes = stats.destinations[d].written_bytes as usize;
        sink.wait_for_bytes(bytes, Duration::from_secs(10));
    }
    let delivered: usize = sinks.iter().map(|s| s.datapoints(false).0.len()).sum();
    match failover {
        Failover::Hold => {
            assert_eq!(b.accepted, homed_on_b, "held for the down destination");
            assert_eq!(b.dropped.deadline, homed_on_b, "dropped by close, counted");
            assert_eq!(delivered as u64, 900 - homed_on_b);
        }
        _ => {
            assert_eq!(b.accepted, 0, "nothing for the down destination");
            assert_eq!(total.written, 900);
            assert_eq!(delivered, 900);
        }
    }
}

macro_rules! suite {
    ($($module:ident => $runtime:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn replicated_copies_reach_their_destinations() { super::replicated_copies_reach_their_destinations($runtime) }
            #[test] fn a_refusing_destination_is_held() { super::a_refusing_destination($runtime, Failover::Hold) }
            #[test] fn a_refusing_destination_is_routed_around() { super::a_refusing_destination($runtime, Failover::Reroute) }
        }
    )*};
}

suite! {
    tokio => Runtime::Tokio,
    async_std => Runtime::AsyncStd,
    smol => Runtime::Smol,
    blocking => Runtime::Blocking,
}
