//! The application side of the background sender: what `push` and
//! `push_many` cost on the thread that calls them (no I/O involved).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use graphite_proto::sender::{Output, Sender, SenderConfig};
use graphite_proto::{Datapoint, MetricPath, Protocol, Value};

fn batch() -> Vec<Datapoint> {
    (0..1_000)
        .map(|i| {
            let path = MetricPath::new(&format!("servers.host{}.cpu.core{}.usage", i / 8, i % 8))
                .expect("valid name");
            let value = if i % 3 == 0 {
                Value::Int(i * 17)
            } else {
                Value::Float(i as f64 * 0.731 + 0.125)
            };
            Datapoint::new(path, value, 1_700_000_000)
        })
        .collect()
}

/// A connected sender whose every write succeeds at once: steady state,
/// with buffers coming back through the replay window for reuse.
fn connected(protocol: Protocol, now: Instant) -> Sender {
    let mut sender = Sender::new(now, SenderConfig::new(protocol)).expect("valid config");
    while sender.poll_output(now).is_some() {}
    sender.on_connected(now);
    sender
}

/// Writes out everything sealed, as an adapter would (without a socket).
fn drain(sender: &mut Sender, now: Instant) {
    sender.flush(now + Duration::from_secs(1));
    while let Some(output) = sender.poll_output(now) {
        if let Output::Transmit(bytes) = output {
            sender.on_written(now, bytes.len());
        }
    }
}

/// Times `hand_over` on a connected sender, draining it between rounds
/// without counting the drain: the cost the calling thread pays.
fn time_hand_over(
    b: &mut Bencher<'_>,
    protocol: Protocol,
    now: Instant,
    mut hand_over: impl FnMut(&mut Sender),
) {
    let mut sender = connected(protocol, now);
    b.iter_custom(|iters| {
        let mut spent = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            hand_over(&mut sender);
            spent += start.elapsed();
            drain(&mut sender, now);
        }
        spent
    })
}

fn push(c: &mut Criterion) {
    let batch = batch();
    let mut group = c.benchmark_group("sender");
    group.throughput(Throughput::Elements(batch.len() as u64));
    // The yardstick: what encoding alone costs, into a buffer the caller owns.
    let mut own = Vec::with_capacity(64 << 10);
    group.bench_function("encode_only/plaintext", |b| {
        b.iter(|| {
            own.clear();
            for dp in &batch {
                graphite_proto::plaintext::encode(dp, &mut own).expect("a Vec grows");
            }
            black_box(own.len())
        })
    });
    for protocol in [Protocol::Plaintext, Protocol::Pickle] {
        let now = Instant::now();
        group.bench_function(format!("push_many/{protocol}"), |b| {
            time_hand_over(b, protocol, now, |sender| {
                black_box(sender.push_many_or_drop(now, &batch)).expect("room");
            })
        });
        group.bench_function(format!("push_many_no_replay/{protocol}"), |b| {
            let mut sender = Sender::new(now, SenderConfig::new(protocol).with_replay(None))
                .expect("valid config");
            while sender.poll_output(now).is_some() {}
            sender.on_connected(now);
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(sender.push_many_or_drop(now, &batch)).expect("room");
                    spent += start.elapsed();
                    drain(&mut sender, now);
                }
                spent
            })
        });
        group.bench_function(format!("push_chunk/{protocol}"), |b| {
            let mut chunk = graphite_proto::sender::Chunk::default();
            time_hand_over(b, protocol, now, |sender| {
                sender.chunk_encoder().encode(&batch, &mut chunk);
                black_box(sender.push_chunk_or_drop(now, &mut chunk)).expect("room");
            })
        });
        group.bench_function(format!("push/{protocol}"), |b| {
            time_hand_over(b, protocol, now, |sender| {
                for dp in &batch {
                    black_box(sender.push(now, dp)).expect("room");
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, push);
criterion_main!(benches);
