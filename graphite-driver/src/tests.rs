//! The driver on the simulated runtime: delivery, deadlines against a
//! stalled write, the last handle's flush, routing with failover, waiting
//! for room across destinations, and the stats adding up under each. Time
//! is simulated: each test takes milliseconds of wall time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use graphite_proto::ring::{Compat, HashType, Ring, RingConfig};
use graphite_proto::router::Failover;
use graphite_proto::sender::{OverflowPolicy, SenderConfig, Stats};
use graphite_proto::{Datapoint, MetricPath, Protocol};

use crate::testing::{SimCarbon, SimRuntime};
use crate::{RoutedSender, Sender, Sink};

const SECOND: Duration = Duration::from_secs(1);

fn config() -> SenderConfig {
    SenderConfig::new(Protocol::Plaintext)
}

fn series(name: &str, points: i64) -> Vec<Datapoint> {
    let path = MetricPath::new(name).expect("valid name");
    (0..points)
        .map(|t| Datapoint::new(path.clone(), t, 1_700_000_000 + t))
        .collect()
}

/// One datapoint for each of `count` series, `t` as value and timestamp.
fn spread(count: usize, t: i64) -> Vec<Datapoint> {
    (0..count)
        .map(|i| {
            let path = MetricPath::new(&format!("app.series{i}")).expect("valid name");
            Datapoint::new(path, t, 1_700_000_000 + t)
        })
        .collect()
}

fn assert_adds_up(stats: &Stats) {
    assert!(stats.is_consistent(), "{stats:?}");
}

#[test]
fn every_datapoint_is_delivered_and_counted() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let sender = Sender::spawn(sim.runtime(), "carbon", carbon.port(), config()).expect("spawn");
    sender
        .push_many(&series("app.requests", 1000))
        .expect("room");
    let stats = sim.block_on(sender.flush(SECOND));
    assert_eq!(
        (stats.accepted, stats.written, stats.buffered),
        (1000, 1000, 0)
    );
    assert_adds_up(&stats);
    assert_eq!(carbon.lines().len(), 1000);
    assert_eq!(carbon.lines()[999], "app.requests 999 1700000999");
}

#[test]
fn close_keeps_its_deadline_against_a_stalled_write() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let sender = Sender::spawn(sim.runtime(), "carbon", carbon.port(), config()).expect("spawn");
    sender.push_many(&series("app.first", 100)).expect("room");
    sim.block_on(sender.flush(SECOND));
    carbon.stall();
    sender
        .push_many(&series("app.requests", 50_000))
        .expect("room");
    // Let the write start and block on the stalled peer.
    sim.run_until_idle();
    let start = sim.now();
    let stats = sim.block_on(sender.close(SECOND));
    assert_eq!(sim.now() - start, SECOND, "close returned at its deadline");
    assert_eq!(stats.written, 100);
    assert_eq!(stats.dropped.deadline, 50_000);
    assert_eq!((stats.buffered, stats.buffered_bytes), (0, 0));
    assert_adds_up(&stats);
    sim.run_until_done();
    assert_eq!(sim.tasks(), 0, "the task ended");
    assert_eq!(
        sender.send("app.late", 1, None),
        Err(graphite_proto::sender::PushError::Closed)
    );
    assert_eq!(sender.stats().dropped.closed, 1);
}

#[test]
fn dropping_the_last_handle_flushes_and_ends_the_task() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let sender = Sender::spawn(sim.runtime(), "carbon", carbon.port(), config()).expect("spawn");
    let clone = sender.clone();
    sender
        .push_many(&series("app.requests", 500))
        .expect("room");
    drop(sender);
    clone
        .push_many(&series("app.errors", 10))
        .expect("room after one drop");
    drop(clone);
    sim.run_until_done();
    assert_eq!(sim.tasks(), 0);
    assert_eq!(carbon.lines().len(), 510);
}

#[test]
fn the_last_handles_flush_gives_up_at_its_deadline() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    carbon.stall();
    let sender = Sender::spawn(sim.runtime(), "carbon", carbon.port(), config()).expect("spawn");
    sender.push_many(&series("app.requests", 10)).expect("room");
    let start = sim.now();
    drop(sender);
    sim.run_until_done();
    assert_eq!(sim.now() - start, crate::DROP_FLUSH_TIMEOUT);
    assert!(carbon.received().is_empty());
}

fn ring(carbons: &[SimCarbon]) -> Ring {
    let addresses: Vec<String> = carbons.iter().map(SimCarbon::address).collect();
    RingConfig::new(Compat::CarbonCRelay, HashType::JumpFnv1aCh)
        .build_from_strs(addresses.iter().map(String::as_str))
        .expect("ring")
}

/// For each carbon, the timestamps each series landed with there (a
/// replay after a reconnect may deliver a point twice: the set counts it
/// once).
fn landed(carbons: &[SimCarbon]) -> Vec<BTreeMap<String, BTreeSet<i64>>> {
    carbons
        .iter()
        .map(|c| {
            let mut names: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
            for line in c.lines() {
                let mut fields = line.split(' ');
                let name = fields.next().unwrap_or_default().to_owned();
                let value = fields.next().and_then(|v| v.parse().ok()).unwrap_or(-1);
                names.entry(name).or_default().insert(value);
            }
            names
        })
        .collect()
}

fn points(landed: &BTreeMap<String, BTreeSet<i64>>, name: &str) -> Vec<i64> {
    landed
        .get(name)
        .map(|t| t.iter().copied().collect())
        .unwrap_or_default()
}

#[test]
fn reroute_moves_a_down_destinations_series_and_returns_them_when_it_is_back() {
    let sim = SimRuntime::new();
    let carbons: Vec<SimCarbon> = (0..3).map(|_| sim.carbon()).collect();
    let sender = RoutedSender::spawn(sim.runtime(), ring(&carbons), Failover::Reroute, config())
        .expect("spawn");
    sender.push_many(&spread(300, 0)).expect("room");
    sim.block_on(sender.flush(SECOND));
    let home = landed(&carbons);
    assert!(home.iter().all(|names| !names.is_empty()), "{home:?}");
    assert_eq!(home.iter().map(BTreeMap::len).sum::<usize>(), 300);

    // The second destination dies; its sender sees the reset and is down.
    carbons[1].kill();
    sim.run_until_idle();
    assert!(sender.outages()[1].is_some(), "{:?}", sender.outages());
    sender.push_many(&spread(300, 1)).expect("room");
    sim.block_on(sender.flush(SECOND));
    let during = landed(&carbons);
    for name in home[1].keys() {
        assert_eq!(
            points(&during[1], name),
            [0],
            "nothing new reached the dead carbon"
        );
        let mut elsewhere = [points(&during[0], name), points(&during[2], name)].concat();
        elsewhere.sort_unstable();
        assert_eq!(elsewhere, [1], "{name} was rerouted");
    }

    // Back: once its sender reconnects, its series come home.
    carbons[1].restart();
    while sender.outages()[1].is_some() {
        sim.sleep(Duration::from_millis(100));
    }
    sender.push_many(&spread(300, 2)).expect("room");
    let stats = sim.block_on(sender.close(SECOND));
    let after = landed(&carbons);
    for name in home[1].keys() {
        assert_eq!(points(&after[1], name), [0, 2], "{name} is home again");
    }
    for destination in &stats.destinations {
        assert_adds_up(destination);
    }
    let total = stats.total();
    assert_eq!(total.accepted, 900);
    assert_eq!(total.written, 900);
}

#[test]
fn hold_keeps_a_down_destinations_series_for_it() {
    let sim = SimRuntime::new();
    let carbons: Vec<SimCarbon> = (0..2).map(|_| sim.carbon()).collect();
    let sender = RoutedSender::spawn(sim.runtime(), ring(&carbons), Failover::Hold, config())
        .expect("spawn");
    sender.push_many(&spread(100, 0)).expect("room");
    sim.block_on(sender.flush(SECOND));
    carbons[0].kill();
    sim.run_until_idle();
    sender.push_many(&spread(100, 1)).expect("room");
    sim.sleep(SECOND);
    carbons[0].restart();
    let stats = sim.block_on(sender.close(10 * SECOND));
    let after = landed(&carbons);
    assert!(
        after[0].values().all(|t| t.len() == 2),
        "held points delivered after the restart"
    );
    assert_eq!(stats.total().written, 200);
    assert!(stats.destinations.iter().all(Stats::is_consistent));
}

/// A buffer of four batches, waiting for room up to 10 s; no replay
/// window, whose copies would count against so small a buffer.
fn small_buffer() -> SenderConfig {
    config()
        .with_replay(None)
        .with_batch_size(1024)
        .with_buffer_capacity(4096)
        .with_overflow(OverflowPolicy::Wait(10 * SECOND))
}

#[test]
fn push_many_wait_feeds_every_destination_as_room_frees_up() {
    let sim = SimRuntime::new();
    let carbons: Vec<SimCarbon> = (0..3).map(|_| sim.carbon()).collect();
    let sender = RoutedSender::spawn(
        sim.runtime(),
        ring(&carbons),
        Failover::Hold,
        small_buffer(),
    )
    .expect("spawn");
    let batch = spread(20_000, 7);
    sim.block_on(sender.push_many_wait(&batch))
        .expect("all taken");
    let stats = sim.block_on(sender.close(SECOND));
    assert_eq!(stats.total().accepted, 20_000);
    assert_eq!(stats.total().written, 20_000);
    assert_eq!(stats.total().dropped.total(), 0);
    assert!(stats.destinations.iter().all(Stats::is_consistent));
    let lines: usize = carbons.iter().map(|c| c.lines().len()).sum();
    assert_eq!(lines, 20_000);
}

#[test]
fn push_many_wait_gives_up_on_a_stalled_destination_at_the_policys_time() {
    let sim = SimRuntime::new();
    let carbons: Vec<SimCarbon> = (0..2).map(|_| sim.carbon()).collect();
    let sender = RoutedSender::spawn(
        sim.runtime(),
        ring(&carbons),
        Failover::Hold,
        small_buffer(),
    )
    .expect("spawn");
    carbons[1].stall();
    let batch = spread(5_000, 7);
    let start = sim.now();
    let error = sim
        .block_on(Sink::push_many_wait(&sender, &batch))
        .expect_err("the stalled share cannot all fit");
    assert_eq!(
        sim.now() - start,
        10 * SECOND,
        "one deadline for every destination"
    );
    let stats = sender.stats();
    assert_eq!(error.dropped as u64, stats.total().dropped.buffer_full);
    assert_eq!(
        stats.destinations[0].dropped.total(),
        0,
        "the live one took its share"
    );
    assert_eq!(
        stats.total().accepted + stats.total().dropped.buffer_full,
        5_000,
        "every datapoint accepted or dropped, none lost"
    );
    assert!(stats.destinations.iter().all(Stats::is_consistent));
}

#[test]
fn a_sink_is_any_sender() {
    let sim = SimRuntime::new();
    let carbons: Vec<SimCarbon> = (0..2).map(|_| sim.carbon()).collect();
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(
            Sender::spawn(sim.runtime(), "carbon", carbons[0].port(), config()).expect("spawn"),
        ),
        Box::new(
            RoutedSender::spawn(sim.runtime(), ring(&carbons), Failover::Hold, config())
                .expect("spawn"),
        ),
    ];
    for sink in &sinks {
        sink.push_many(&series("app.requests", 10)).expect("room");
        let stats = sim.block_on(sink.close(SECOND));
        assert_eq!((stats.accepted, stats.written), (10, 10));
    }
    assert!(sinks[0].routed_stats().is_none());
    assert_eq!(
        sinks[1].routed_stats().map(|r| r.destinations.len()),
        Some(2)
    );
}
