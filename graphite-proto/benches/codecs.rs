//! Encoders and decoders over a realistic batch: 1,000 series like
//! `servers.host42.cpu.core3.usage`, two floats for every integer.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use graphite_proto::pickle::{PickleDecoder, PickleEncoder};
use graphite_proto::plaintext::{self, PlaintextDecoder};
use graphite_proto::udp::DatagramPacker;
use graphite_proto::{Datapoint, MetricPath, Value};

const SERIES: usize = 1_000;

fn batch() -> Vec<Datapoint> {
    (0..SERIES)
        .map(|i| {
            let path = MetricPath::new(&format!("servers.host{}.cpu.core{}.usage", i / 8, i % 8))
                .expect("valid name");
            let value = if i % 3 == 0 {
                Value::Int(i as i64 * 17)
            } else {
                Value::Float(i as f64 * 0.731 + 0.125)
            };
            Datapoint::new(path, value, 1_700_000_000 + (i as i64 % 60))
        })
        .collect()
}

fn encoders(c: &mut Criterion) {
    let batch = batch();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(batch.len() as u64));
    let mut buf = Vec::with_capacity(1 << 20);
    group.bench_function("plaintext", |b| {
        b.iter(|| {
            buf.clear();
            for dp in &batch {
                plaintext::encode(dp, &mut buf).expect("a Vec grows");
            }
            black_box(buf.len())
        })
    });
    let encoder = PickleEncoder::new();
    group.bench_function("pickle", |b| {
        b.iter(|| {
            buf.clear();
            black_box(encoder.encode_batch(&batch, &mut buf).expect("fits"))
        })
    });
    let mut packer = DatagramPacker::new();
    group.bench_function("udp", |b| {
        b.iter(|| {
            let mut datagrams = 0;
            for dp in &batch {
                datagrams += usize::from(packer.push(dp).expect("fits").is_some());
            }
            datagrams += usize::from(packer.finish().is_some());
            black_box(datagrams)
        })
    });
    group.finish();
}

fn decoders(c: &mut Criterion) {
    let batch = batch();
    let mut lines = Vec::new();
    for dp in &batch {
        plaintext::encode(dp, &mut lines).expect("a Vec grows");
    }
    let mut frame = Vec::new();
    PickleEncoder::new()
        .encode_batch(&batch, &mut frame)
        .expect("fits");

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("plaintext", |b| {
        b.iter(|| {
            let mut src = BytesMut::from(&lines[..]);
            let mut decoder = PlaintextDecoder::new();
            let mut n = 0;
            while let Some(item) = decoder.decode(&mut src) {
                n += usize::from(item.is_ok());
            }
            assert_eq!(n, SERIES);
            n
        })
    });
    group.bench_function("pickle", |b| {
        b.iter(|| {
            let mut src = BytesMut::from(&frame[..]);
            let frame = PickleDecoder::new()
                .decode(&mut src)
                .expect("valid frame")
                .expect("complete frame");
            black_box(frame)
        })
    });
    group.finish();
}

criterion_group!(benches, encoders, decoders);
criterion_main!(benches);
