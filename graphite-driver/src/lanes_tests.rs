//! Per-thread lanes on the simulated runtime: with one thread, a datapoint
//! gathered in a lane goes out with the batch it would have joined; threads
//! pushing at once lose nothing and keep their own order; a thread's other
//! pushes come after what its lane holds; under pressure every push is
//! answered at once, as without lanes; and a large waiting slice, handed
//! over in pieces, is answered as one.

use std::time::Duration;

use graphite_proto::sender::{OverflowPolicy, PushError, SenderConfig};
use graphite_proto::{Datapoint, MetricPath, Protocol};

use crate::Sender;
use crate::testing::{SimCarbon, SimRuntime};

const SECOND: Duration = Duration::from_secs(1);

fn points(name: &str, from: i64, count: i64) -> Vec<Datapoint> {
    let path = MetricPath::new(name).expect("valid name");
    (from..from + count)
        .map(|t| Datapoint::new(path.clone(), t, 1_700_000_000 + t))
        .collect()
}

fn spawn(sim: &SimRuntime, carbon: &SimCarbon, config: SenderConfig) -> Sender {
    Sender::spawn(sim.runtime(), "carbon", carbon.port(), config).expect("spawn")
}

/// The values carbon received for `name`, in the order received.
fn values(lines: &[String], name: &str) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            (fields.next() == Some(name)).then(|| fields.next()?.parse().ok())?
        })
        .collect()
}

#[test]
fn a_datapoint_in_a_lane_goes_out_with_the_batch_it_would_have_joined() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let delay = Duration::from_millis(100);
    let config = SenderConfig::new(Protocol::Plaintext).with_batch_delay(delay);
    let sender = spawn(&sim, &carbon, config);
    sim.run_until_idle();
    // The first push opens a batch (its timer starts); the next ones wait
    // in this thread's lane.
    for dp in points("app.trickle", 0, 20) {
        sender.push(&dp).expect("room");
    }
    sim.advance(delay - Duration::from_millis(1));
    sim.run_until_idle();
    assert!(carbon.lines().is_empty(), "nothing before the batch is due");
    sim.advance(Duration::from_millis(1));
    sim.run_until_idle();
    assert_eq!(
        values(&carbon.lines(), "app.trickle"),
        (0..20).collect::<Vec<_>>(),
        "all of them, with the batch, in order"
    );
    // Later pushes open the next batch the same way.
    for dp in points("app.trickle", 20, 5) {
        sender.push(&dp).expect("room");
    }
    sim.advance(delay);
    sim.run_until_idle();
    assert_eq!(values(&carbon.lines(), "app.trickle").len(), 25);
    let stats = sim.block_on(sender.close(SECOND));
    assert_eq!((stats.accepted, stats.written), (25, 25));
    assert!(stats.is_consistent(), "{stats:?}");
}

#[test]
fn threads_pushing_at_once_lose_nothing_and_keep_their_own_order() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let sender = spawn(&sim, &carbon, SenderConfig::new(Protocol::Plaintext));
    let threads = 6;
    let each = 20_000;
    std::thread::scope(|s| {
        for t in 0..threads {
            let sender = &sender;
            s.spawn(move || {
                for dp in points(&format!("app.thread{t}"), 0, each) {
                    sender.push(&dp).expect("room");
                }
            });
        }
        // The driver runs meanwhile, taking lanes over at each turn.
        for _ in 0..50 {
            sim.run_until_idle();
            std::thread::yield_now();
        }
    });
    let stats = sim.block_on(sender.flush(SECOND));
    let total = (threads * each) as u64;
    assert_eq!((stats.accepted, stats.written), (total, total), "{stats:?}");
    let lines = carbon.lines();
    for t in 0..threads {
        assert_eq!(
            values(&lines, &format!("app.thread{t}")),
            (0..each).collect::<Vec<_>>(),
            "thread {t}'s datapoints, each once, in its order"
        );
    }
}

#[test]
fn a_threads_other_pushes_come_after_what_its_lane_holds() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let config = SenderConfig::new(Protocol::Plaintext).with_overflow(OverflowPolicy::Wait(SECOND));
    let sender = spawn(&sim, &carbon, config);
    let mut expected = Vec::new();
    for round in 0..4_i64 {
        let from = round * 40;
        for dp in points("app.mixed", from, 10) {
            sender.push(&dp).expect("room");
        }
        match round {
            0 => sender
                .push_many(&points("app.mixed", from + 10, 30))
                .expect("room"),
            1 => sim
                .block_on(sender.push_many_wait(&points("app.mixed", from + 10, 30)))
                .expect("room"),
            2 => {
                for dp in points("app.mixed", from + 10, 30) {
                    sim.block_on(sender.push_wait(&dp)).expect("room");
                }
            }
            _ => sender
                .push_many_wait_blocking(&points("app.mixed", from + 10, 30))
                .expect("room"),
        }
        expected.extend(from..from + 40);
    }
    let stats = sim.block_on(sender.close(SECOND));
    assert_eq!(stats.written, 160, "{stats:?}");
    assert_eq!(values(&carbon.lines(), "app.mixed"), expected);
}

#[test]
fn stats_count_every_push_that_returned() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    let sender = spawn(&sim, &carbon, SenderConfig::new(Protocol::Plaintext));
    for (n, dp) in points("app.counted", 0, 300).iter().enumerate() {
        sender.push(dp).expect("room");
        if n % 37 == 0 {
            assert_eq!(sender.stats().accepted, n as u64 + 1);
        }
    }
    assert_eq!(sender.stats().accepted, 300);
    // Dropping the last handle closes: what the lane held is written too.
    drop(sender);
    sim.run_until_done();
    assert_eq!(values(&carbon.lines(), "app.counted").len(), 300);
}

#[test]
fn under_pressure_every_push_is_answered_at_once() {
    let sim = SimRuntime::new();
    let carbon = sim.carbon();
    carbon.stall();
    let config = SenderConfig::new(Protocol::Plaintext)
        .with_replay(None)
        .with_batch_size(4 << 10)
        .with_buffer_capacity(64 << 10);
    let sender = spawn(&sim, &carbon, config);
    sim.run_until_idle();
    let (mut accepted, mut refused) = (0_u64, 0_u64);
    for dp in points("app.pressure", 0, 10_000) {
        match sender.push(&dp) {
            Ok(()) => accepted += 1,
            Err(PushError::Full) => refused += 1,
            Err(e) => panic!("{e}"),
        }
        if accepted % 500 == 0 {
            sim.run_until_idle();
        }
    }
    assert!(refused > 0, "the buffer filled");
    let stats = sender.stats();
    assert_eq!(stats.accepted, accepted, "{stats:?}");
    assert_eq!(stats.dropped.buffer_full, refused, "{stats:?}");
    assert!(stats.buffered_bytes <= 64 << 10, "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");
}

#[test]
fn a_large_waiting_slice_goes_in_pieces_and_reports_as_one() {
    for blocking in [true, false] {
        let sim = SimRuntime::new();
        let carbon = sim.carbon();
        carbon.stall();
        let wait = Duration::from_millis(200);
        let config = SenderConfig::new(Protocol::Plaintext)
            .with_replay(None)
            .with_batch_size(1024)
            .with_buffer_capacity(4096)
            .with_overflow(OverflowPolicy::Wait(wait));
        let sender = spawn(&sim, &carbon, config);
        sim.run_until_idle();
        let slice = points("app.pieces", 0, 2_500);
        let start = sim.now();
        let result = if blocking {
            sender.push_many_wait_blocking(&slice)
        } else {
            sim.block_on(sender.push_many_wait(&slice))
        };
        let error = result.expect_err("no room for most of it");
        if !blocking {
            assert_eq!(sim.now() - start, wait, "one wait for the whole slice");
        }
        let stats = sender.stats();
        assert_eq!(error.total, 2_500);
        assert_eq!(
            error.first_index as u64, stats.accepted,
            "{error:?} {stats:?}"
        );
        assert_eq!(error.dropped as u64, stats.dropped.buffer_full, "{stats:?}");
        assert_eq!(stats.accepted + stats.dropped.total(), 2_500, "{stats:?}");
        assert!(
            stats.accepted > 0 && stats.buffered_bytes <= 4096,
            "{stats:?}"
        );
    }
}
