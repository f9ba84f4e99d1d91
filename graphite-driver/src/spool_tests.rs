//! The disk spool on the simulated runtime (real files in a temporary
//! directory, simulated time and carbon): an outage longer than the
//! buffer, a close during an outage and a new sender on the same spool, a
//! torn record, a full spool, a spool that cannot be written. The stats
//! add up under each.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use graphite_proto::sender::{ReplayWindow, SenderConfig, Spool, Stats};
use graphite_proto::{Datapoint, MetricPath, Protocol};

use crate::testing::{SimCarbon, SimRuntime};
use crate::{Sender, SpawnError, SpoolError};

const SECOND: Duration = Duration::from_secs(1);

/// A small buffer, so that an outage outlasts it at once.
fn config(dir: &Path, spool_max: u64) -> SenderConfig {
    SenderConfig::new(Protocol::Plaintext)
        .with_buffer_capacity(64 << 10)
        .with_batch_size(4 << 10)
        // A replay window in proportion to the buffer.
        .with_replay(Some(ReplayWindow {
            max_age: SECOND,
            peer_unread: 8 << 10,
            max_bytes: 16 << 10,
        }))
        .with_spool(Spool::new(dir, spool_max))
}

fn points(from: i64, count: i64) -> Vec<Datapoint> {
    let path = MetricPath::new("app.requests").expect("valid name");
    (from..from + count)
        .map(|v| Datapoint::new(path.clone(), v, 1_700_000_000 + v))
        .collect()
}

/// Pushes `count` datapoints in small slices, letting the driver run in
/// between as an application's would.
fn push_slowly(sim: &SimRuntime, sender: &Sender, count: i64) {
    for from in (0..count).step_by(100) {
        // Drops are counted: the tests check the stats.
        let _ = sender.push_many(&points(from, 100.min(count - from)));
        sim.run_until_idle();
    }
}

/// The values carbon received, in arrival order.
fn values(carbon: &SimCarbon) -> Vec<i64> {
    carbon
        .lines()
        .iter()
        .filter_map(|l| l.split(' ').nth(1)?.parse().ok())
        .collect()
}

/// Runs until the spool is empty and nothing is buffered.
fn drain(sim: &SimRuntime, sender: &Sender) -> Stats {
    // The driver reads back what the spool held first.
    sim.run_until_idle();
    for _ in 0..10_000 {
        let stats = sender.stats();
        if stats.spool_held == 0 && stats.buffered == 0 {
            return stats;
        }
        sim.sleep(Duration::from_millis(100));
    }
    panic!("the spool never drained: {:?}", sender.stats());
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("spool dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "spool"))
        .collect();
    files.sort();
    files
}

fn assert_adds_up(stats: &Stats) {
    assert!(stats.is_consistent(), "{stats:?}");
}

#[test]
fn an_outage_longer_than_the_buffer_is_spooled_then_delivered_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    carbon.kill();
    let sender = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir.path(), 64 << 20),
    )
    .expect("spawn");
    // About ten times what the buffer holds (30 bytes a line).
    let count = 22_000;
    push_slowly(&sim, &sender, count);
    let stats = sender.stats();
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.spooled > 15_000, "{stats:?}");
    assert!(stats.buffered_bytes <= 64 << 10, "{stats:?}");
    assert_adds_up(&stats);

    carbon.restart();
    let stats = drain(&sim, &sender);
    assert_eq!(stats.unspooled, stats.spooled);
    assert_eq!(stats.written, count as u64);
    assert_eq!(stats.spool_bytes, 0);
    assert_adds_up(&stats);
    let got = values(&carbon);
    assert_eq!(got.len(), count as usize, "each datapoint once");
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..count).collect::<Vec<_>>());
    // What memory held goes first, then the spool, oldest first.
    let descents = got.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(descents <= 1, "{descents} descents");
    assert!(segments(dir.path()).is_empty(), "spool files left");
}

#[test]
fn a_close_during_an_outage_spools_and_the_next_sender_delivers_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    carbon.kill();
    let first = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir.path(), 64 << 20),
    )
    .expect("spawn");
    first.push_many(&points(0, 1000)).expect("room");
    let start = sim.now();
    let stats = sim.block_on(first.close(SECOND));
    assert_eq!(sim.now() - start, SECOND, "closed at its deadline");
    assert_eq!((stats.spooled, stats.spool_held), (1000, 1000));
    assert_eq!(stats.dropped.total(), 0);
    assert_adds_up(&stats);
    drop(first);
    sim.run_until_done();
    assert!(!segments(dir.path()).is_empty());

    carbon.restart();
    let second = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir.path(), 64 << 20),
    )
    .expect("the lock was released");
    let stats = drain(&sim, &second);
    assert_eq!(
        (stats.spool_found, stats.unspooled, stats.written),
        (1000, 1000, 1000)
    );
    assert_adds_up(&stats);
    assert_eq!(values(&carbon), (0..1000).collect::<Vec<_>>());
}

/// Leaves 1,000 datapoints in `dir`'s spool, as a close during an outage
/// does.
fn leave_spooled(sim: &SimRuntime, carbon: &SimCarbon, dir: &Path) {
    carbon.kill();
    let sender = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir, 64 << 20),
    )
    .expect("spawn");
    sender.push_many(&points(0, 1000)).expect("room");
    let stats = sim.block_on(sender.close(SECOND));
    assert_eq!(stats.spooled, 1000);
    drop(sender);
    sim.run_until_done();
}

#[test]
fn a_torn_record_is_cut_off_counted_and_never_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    leave_spooled(&sim, &carbon, dir.path());
    // A crash in the middle of an append: a header promising 1,000 bytes,
    // then 11 of them.
    let newest = segments(dir.path()).pop().expect("a segment");
    let whole = fs::metadata(&newest).expect("segment").len();
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .expect("segment");
    let mut torn = b"GSR1".to_vec();
    torn.extend_from_slice(&1000u32.to_le_bytes());
    torn.extend_from_slice(&[0; 16]);
    torn.extend_from_slice(b"app.torn 1 ");
    file.write_all(&torn).expect("write");
    drop(file);

    let sender = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir.path(), 64 << 20),
    )
    .expect("spawn");
    sim.run_until_idle();
    assert_eq!(
        fs::metadata(&newest).expect("segment").len(),
        whole,
        "the torn end was cut off"
    );
    carbon.restart();
    let stats = drain(&sim, &sender);
    assert_eq!((stats.spool_torn, stats.spool_found), (1, 1000));
    assert_adds_up(&stats);
    let got = values(&carbon);
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    assert!(carbon.lines().iter().all(|l| !l.starts_with("app.torn")));
}

#[test]
fn a_corrupt_record_is_counted_and_never_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    leave_spooled(&sim, &carbon, dir.path());
    // Flip one byte of the first record's batch.
    let oldest = segments(dir.path()).remove(0);
    let mut bytes = fs::read(&oldest).expect("segment");
    bytes[30] ^= 0x01;
    fs::write(&oldest, &bytes).expect("write");

    carbon.restart();
    let sender = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir.path(), 64 << 20),
    )
    .expect("spawn");
    let stats = drain(&sim, &sender);
    assert_eq!(stats.spool_torn, 1, "{stats:?}");
    assert_adds_up(&stats);
    // Only the corrupt record is lost: the scan resumes at the next whole
    // record, and nothing half or corrupt was sent.
    let first_record = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    assert!(first_record > 0 && first_record < 1000);
    let got = values(&carbon);
    assert_eq!(got, (i64::from(first_record)..1000).collect::<Vec<_>>());
    assert_eq!(
        stats.spool_found,
        1000 - u64::from(first_record),
        "{stats:?}"
    );
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    carbon.kill();
    let max = 128 << 10;
    let sender = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir.path(), max),
    )
    .expect("spawn");
    let count = 22_000;
    push_slowly(&sim, &sender, count);
    let stats = sender.stats();
    assert!(stats.dropped.spool_full > 0, "{stats:?}");
    assert!(stats.spool_bytes <= max, "{stats:?}");
    assert_eq!(stats.dropped.total(), stats.dropped.spool_full);
    assert_adds_up(&stats);

    carbon.restart();
    let stats = drain(&sim, &sender);
    assert_adds_up(&stats);
    let mut got = values(&carbon);
    got.sort_unstable();
    let dropped = stats.dropped.spool_full as i64;
    // Exactly the oldest went, and exactly as many as counted.
    assert_eq!(got, (dropped..count).collect::<Vec<_>>());
}

#[test]
fn a_spool_that_cannot_be_used_is_a_typed_error_at_spawn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let file = dir.path().join("a-file");
    fs::write(&file, b"not a directory").expect("write");
    let under_a_file = file.join("spool");
    let error = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(&under_a_file, 1 << 20),
    )
    .expect_err("cannot be a directory");
    assert!(
        matches!(error, SpawnError::Spool(SpoolError::Unusable { .. })),
        "{error}"
    );

    let spool = dir.path().join("spool");
    let _first = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(&spool, 1 << 20),
    )
    .expect("spawn");
    let error = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(&spool, 1 << 20),
    )
    .expect_err("in use");
    assert!(
        matches!(error, SpawnError::Spool(SpoolError::Locked { .. })),
        "{error}"
    );
}

#[test]
fn a_spool_that_fails_mid_run_is_a_counted_loss_never_a_stall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    carbon.kill();
    let spool = dir.path().join("spool");
    let sender = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(&spool, 64 << 20),
    )
    .expect("spawn");
    sim.run_until_idle();
    // The directory goes away and a file takes its place: nothing can be
    // created there any more, not even by root.
    fs::remove_dir_all(&spool).expect("remove");
    fs::write(&spool, b"in the way").expect("write");
    push_slowly(&sim, &sender, 5_000);
    let stats = sender.stats();
    assert!(
        stats.dropped.buffer_full > 0,
        "memory full, spool failing: {stats:?}"
    );
    assert_adds_up(&stats);
    let start = sim.now();
    let stats = sim.block_on(sender.close(SECOND));
    assert_eq!(sim.now() - start, SECOND, "close kept its deadline");
    assert!(stats.dropped.spool_error > 0, "{stats:?}");
    assert_eq!((stats.buffered, stats.spooled), (0, 0));
    assert_adds_up(&stats);
}

#[test]
fn a_close_sends_what_the_spool_holds_within_its_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    leave_spooled(&sim, &carbon, dir.path());
    carbon.restart();
    // A sender started only to deliver what an earlier one left.
    let sender = Sender::spawn(
        sim.runtime(),
        "carbon",
        carbon.port(),
        config(dir.path(), 64 << 20),
    )
    .expect("spawn");
    let stats = sim.block_on(sender.close(5 * SECOND));
    assert_eq!(
        (stats.spool_found, stats.unspooled, stats.spool_held),
        (1000, 1000, 0)
    );
    assert_adds_up(&stats);
    assert_eq!(values(&carbon), (0..1000).collect::<Vec<_>>());
    drop(sender);
    sim.run_until_done();
    assert!(segments(dir.path()).is_empty(), "spool files left");
}

#[test]
fn a_spool_that_drained_is_used_again_by_the_next_sender() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    for round in 0..3 {
        leave_spooled(&sim, &carbon, dir.path());
        carbon.restart();
        let sender = Sender::spawn(
            sim.runtime(),
            "carbon",
            carbon.port(),
            config(dir.path(), 64 << 20),
        )
        .expect("spawn");
        let stats = sim.block_on(sender.close(5 * SECOND));
        assert_eq!(
            (stats.spool_found, stats.unspooled),
            (1000, 1000),
            "round {round}"
        );
        drop(sender);
        sim.run_until_done();
    }
    assert_eq!(carbon.lines().len(), 3000);
}
