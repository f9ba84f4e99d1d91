//! Name validation, tagged series, and aiographite's name encoder.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use graphite_proto::{MetricPath, decode_metric_part, encode_metric_part, sanitize_metric_part};

fn validation(c: &mut Criterion) {
    let names: Vec<String> = (0..1_000)
        .map(|i| format!("servers.host{}.cpu.core{}.usage", i / 8, i % 8))
        .collect();
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("metric_path", |b| {
        b.iter(|| {
            for name in &names {
                black_box(MetricPath::new(name).expect("valid"));
            }
        })
    });
    group.bench_function("tagged", |b| {
        b.iter(|| {
            for name in &names {
                black_box(
                    MetricPath::tagged(name, [("host", "web1"), ("dc", "ams"), ("env", "prod")])
                        .expect("valid"),
                );
            }
        })
    });
    group.finish();
}

fn name_encoder(c: &mut Criterion) {
    let parts = [
        ("ascii", "web-server-01"),
        ("space_and_dot", "GET /api/v1.2/users"),
        ("unicode", "Zürich Hauptbahnhof ✓"),
    ];
    let mut group = c.benchmark_group("name_codec");
    for (label, part) in parts {
        let encoded = encode_metric_part(part);
        group.bench_function(format!("encode/{label}"), |b| {
            b.iter(|| encode_metric_part(black_box(part)))
        });
        group.bench_function(format!("decode/{label}"), |b| {
            b.iter(|| decode_metric_part(black_box(&encoded)).expect("round trip"))
        });
        group.bench_function(format!("sanitize/{label}"), |b| {
            b.iter(|| sanitize_metric_part(black_box(part)))
        });
    }
    group.finish();
}

criterion_group!(benches, validation, name_encoder);
criterion_main!(benches);
