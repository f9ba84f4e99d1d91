//! The CLI's input parsing alone, without the sender: a million-line input
//! (as `benches/input.sh` sends) split into blocks and lines and parsed into
//! datapoints line by line, and a block at a time as `graphite send` does,
//! against splitting it into lines only (the floor). The whole process is
//! measured by `benches/input.sh`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use graphite_cli::blocks::{self, LineBlocks};
use graphite_cli::input;

/// 1,000 series at 1,000 timestamps, as `benches/input.sh` writes them.
fn million_lines() -> Vec<u8> {
    let mut out = Vec::with_capacity(25 << 20);
    for t in 0..1_000 {
        for i in 0..1_000 {
            out.extend_from_slice(format!("bulk.s{i} {i} {}\n", 1_700_000_000 + t).as_bytes());
        }
    }
    out
}

fn parse(c: &mut Criterion) {
    let text = million_lines();
    let mut group = c.benchmark_group("input");
    group.throughput(Throughput::Elements(1_000_000));
    group.sample_size(10);
    group.bench_function("split_lines_only", |b| {
        b.iter(|| {
            let mut blocks = LineBlocks::new(&text[..]);
            let mut n = 0_usize;
            while let Some(block) = blocks.next_block().expect("in memory") {
                n += blocks::lines(&block).count();
            }
            black_box(n)
        });
    });
    group.bench_function("split_and_parse", |b| {
        let mut batch = Vec::with_capacity(1_000);
        b.iter(|| {
            let mut blocks = LineBlocks::new(&text[..]);
            let mut number = 0;
            while let Some(block) = blocks.next_block().expect("in memory") {
                let block: Bytes = block;
                for line in blocks::lines(&block) {
                    number += 1;
                    if input::is_blank(&block[line.clone()]) {
                        continue;
                    }
                    if let Ok(dp) = input::parse_in(&block, line, number, 0) {
                        batch.push(dp);
                    }
                    if batch.len() == 1_000 {
                        black_box(&batch);
                        batch.clear();
                    }
                }
            }
            batch.clear();
        });
    });
    // What `graphite send` runs: each block parsed at once.
    group.bench_function("split_and_parse_block", |b| {
        let mut batch = Vec::with_capacity(16_384);
        b.iter(|| {
            let mut blocks = LineBlocks::new(&text[..]);
            let mut first_line = 1;
            while let Some(block) = blocks.next_block().expect("in memory") {
                let counts = input::parse_block(&block, first_line, 0, &mut batch, |_| {});
                first_line += counts.read;
                black_box(&batch);
                batch.clear();
            }
        });
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
