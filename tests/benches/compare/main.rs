//! The comparison bench: graphite-rs against the practical limit of its own
//! machine and against the Python peers, all in one run on the same data.
//!
//! ```sh
//! cargo bench -p graphite-tests --bench compare              # about 2 minutes
//! cargo bench -p graphite-tests --bench compare -- --quick   # under a minute
//! cargo bench -p graphite-tests --bench compare -- --quick --only-metrics
//! cargo bench -p graphite-tests --bench compare -- --quick --only-pipeline
//! ```
//!
//! `--only-metrics` runs only the exporter figures: metrics-exporter-graphite
//! (`exporters.rs`) and, in the same run, opentelemetry-graphite (`otel.rs`);
//! `--only-otel` only the latter. `--only-pipeline` runs only the
//! background sender's hand-over figures: the interleaved ratios against
//! one thread that encodes and writes, the sending thread's allocations,
//! the cost of `send`, and the CPU time of idle senders.
//!
//! Prints one figure per line: `RESULT <name> <value> <unit>` and
//! `RATIO <name> <value>`. Ratios compare figures of this run only, so a
//! noisy machine moves both sides together.

mod alloc;
mod data;
mod exporters;
mod otel;
mod python_peers;
mod sink;

use std::hint::black_box;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use graphite_proto::pickle::PickleEncoder;
use graphite_proto::plaintext;
use graphite_proto::sender::SenderConfig;
use graphite_proto::udp::DatagramPacker;
use graphite_proto::{Datapoint, Protocol, Value};
use graphite_tests::runtime::{AnySender, Runtime};

use crate::sink::DiscardSink;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// How much work each figure gets.
struct Plan {
    /// Timestamps per series in the in-memory workload.
    ticks: usize,
    /// Repetitions of each in-memory measurement (the median is reported).
    reps: usize,
    /// Datapoints per end-to-end run.
    e2e_points: usize,
    /// Interleaved yardstick-candidate pairs behind each end-to-end ratio.
    pairs: usize,
    /// Calls timed one by one for the send-cost figures.
    send_calls: usize,
    /// Datapoints each Python peer sends.
    python_points: usize,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                ticks: 50,
                reps: 5,
                e2e_points: 500_000,
                pairs: 11,
                send_calls: 200_000,
                python_points: 20_000,
            }
        } else {
            Self {
                ticks: 200,
                reps: 11,
                e2e_points: 2_000_000,
                pairs: 15,
                send_calls: 1_000_000,
                python_points: 100_000,
            }
        }
    }
}

fn result(name: &str, value: f64, unit: &str) {
    if unit == "count" {
        println!("RESULT {name} {value:.6} {unit}");
    } else if unit == "percent" {
        println!("RESULT {name} {value:.3} {unit}");
    } else {
        println!("RESULT {name} {value:.1} {unit}");
    }
}

fn ratio(name: &str, value: f64) {
    println!("RATIO {name} {value:.3}");
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Datapoints per second of `pass` (which handles `points` datapoints),
/// as the median of `reps` timed passes after one warm-up pass.
fn rate(reps: usize, points: usize, mut pass: impl FnMut()) -> f64 {
    pass();
    let rates = (0..reps)
        .map(|_| {
            let start = Instant::now();
            pass();
            points as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    median(rates)
}

/// The bare loop: copy each name, format each value with zmij or itoa and
/// each timestamp with itoa, into a buffer reused for every 1,000 lines.
fn baseline_pass(workload: &[Datapoint], buf: &mut Vec<u8>) -> usize {
    let mut total = 0;
    let mut ints = itoa::Buffer::new();
    let mut floats = zmij::Buffer::new();
    for chunk in workload.chunks(1_000) {
        buf.clear();
        for dp in chunk {
            buf.extend_from_slice(dp.path.as_bytes());
            buf.push(b' ');
            match dp.value {
                Value::Int(v) => buf.extend_from_slice(ints.format(v).as_bytes()),
                Value::UInt(v) => buf.extend_from_slice(ints.format(v).as_bytes()),
                Value::Float(v) => buf.extend_from_slice(floats.format_finite(v).as_bytes()),
            }
            buf.push(b' ');
            buf.extend_from_slice(ints.format(dp.timestamp).as_bytes());
            buf.push(b'\n');
        }
        total += buf.len();
    }
    total
}

fn plaintext_pass(workload: &[Datapoint], buf: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for chunk in workload.chunks(1_000) {
        buf.clear();
        for dp in chunk {
            plaintext::encode(dp, buf).expect("a Vec grows");
        }
        total += buf.len();
    }
    total
}

fn pickle_pass(workload: &[Datapoint], buf: &mut Vec<u8>, encoder: &PickleEncoder) -> usize {
    let mut total = 0;
    for chunk in workload.chunks(1_000) {
        buf.clear();
        encoder.encode_batch(chunk, buf).expect("fits a frame");
        total += buf.len();
    }
    total
}

fn udp_pass(workload: &[Datapoint], packer: &mut DatagramPacker) -> usize {
    let mut total = 0;
    for dp in workload {
        if let Some(datagram) = packer.push(dp).expect("fits a datagram") {
            total += datagram.len();
        }
    }
    total + packer.finish().map_or(0, |d| d.len())
}

/// Allocations per datapoint over `passes` passes of `pass`, after warm-up.
fn allocs_per_datapoint(points: usize, passes: usize, mut pass: impl FnMut()) -> f64 {
    pass();
    let before = alloc::allocations();
    for _ in 0..passes {
        pass();
    }
    (alloc::allocations() - before) as f64 / (points * passes) as f64
}

fn encoding(plan: &Plan, workload: &[Datapoint]) -> f64 {
    let n = workload.len();
    let mut buf = Vec::with_capacity(256 << 10);
    let baseline = rate(plan.reps, n, || {
        black_box(baseline_pass(workload, &mut buf));
    });
    let plain = rate(plan.reps, n, || {
        black_box(plaintext_pass(workload, &mut buf));
    });
    let encoder = PickleEncoder::new();
    let pickle = rate(plan.reps, n, || {
        black_box(pickle_pass(workload, &mut buf, &encoder));
    });
    let mut packer = DatagramPacker::new();
    let udp = rate(plan.reps, n, || {
        black_box(udp_pass(workload, &mut packer));
    });
    result("baseline_format", baseline, "datapoints/s");
    result("plaintext_encode", plain, "datapoints/s");
    result("pickle_encode", pickle, "datapoints/s");
    result("udp_pack", udp, "datapoints/s");
    ratio("plaintext_vs_baseline", plain / baseline);
    ratio("pickle_vs_plaintext", pickle / plain);
    ratio("udp_vs_plaintext", udp / plain);
    let allocs = [
        (
            "plaintext",
            allocs_per_datapoint(n, 3, || {
                black_box(plaintext_pass(workload, &mut buf));
            }),
        ),
        (
            "pickle",
            allocs_per_datapoint(n, 3, || {
                black_box(pickle_pass(workload, &mut buf, &encoder));
            }),
        ),
        (
            "udp",
            allocs_per_datapoint(n, 3, || {
                black_box(udp_pass(workload, &mut packer));
            }),
        ),
    ];
    for (name, allocs) in allocs {
        result(
            &format!("allocs_per_datapoint_{name}_encode"),
            allocs,
            "count",
        );
    }
    plain
}

/// Writes pre-encoded plaintext to the sink as fast as one thread can: the
/// practical limit of the socket path, in datapoints per second.
fn raw_write(stream: &[Datapoint], reps: usize) -> f64 {
    let mut wire = Vec::new();
    for dp in stream {
        plaintext::encode(dp, &mut wire).expect("a Vec grows");
    }
    let sink = DiscardSink::start();
    let mut conn = TcpStream::connect(sink.addr()).expect("connect to the sink");
    rate(reps, stream.len(), || {
        let target = sink.received() + wire.len() as u64;
        for chunk in wire.chunks(64 << 10) {
            conn.write_all(chunk).expect("write to the sink");
        }
        assert!(
            sink.wait_for(target, Duration::from_secs(60)),
            "sink stalled"
        );
    })
}

/// A fresh discard sink and `runtime`'s Sender pointed at it, with room in
/// its buffer for a whole run: the figures are throughput and cost, not
/// overflow policy.
fn sender_to_sink(
    runtime: Runtime,
    protocol: Protocol,
    spool: Option<&std::path::Path>,
) -> (DiscardSink, AnySender) {
    let sink = DiscardSink::start();
    let mut config = SenderConfig::new(protocol).with_buffer_capacity(512 << 20);
    if let Some(dir) = spool {
        config = config.with_spool(graphite_proto::sender::Spool::new(dir, 1 << 30));
    }
    let sender = AnySender::spawn(runtime, "127.0.0.1", sink.addr().port(), config).expect("spawn");
    (sink, sender)
}

/// How the application hands datapoints to the Sender.
#[derive(Clone, Copy)]
enum Handover {
    /// `push_many` of 1,000 at a time, as aiographite's `send_multiple`.
    Batches,
    /// One `push` per datapoint.
    OneByOne,
}

/// Datapoints per second from the first datapoint handed over until the
/// sink has every byte, through `runtime`'s Sender (with a `flush` at the
/// end, as an application that wants its data out now would do); also the
/// allocations per datapoint.
fn end_to_end(
    runtime: Runtime,
    protocol: Protocol,
    stream: &[Datapoint],
    reps: usize,
    handover: Handover,
    spool: Option<&std::path::Path>,
) -> (f64, f64) {
    let (sink, sender) = sender_to_sink(runtime, protocol, spool);
    let mut pass = || {
        match handover {
            Handover::Batches => {
                for chunk in stream.chunks(1_000) {
                    sender.push_many(chunk).expect("room in the buffer");
                }
            }
            Handover::OneByOne => {
                for dp in stream {
                    sender.push(dp).expect("room in the buffer");
                }
            }
        }
        let stats = sender.flush(Duration::from_secs(60));
        assert!(
            sink.wait_for(stats.written_bytes, Duration::from_secs(60)),
            "{}: the sink got {} of {} bytes; {stats:?}",
            runtime.name(),
            sink.received(),
            stats.written_bytes,
        );
    };
    let rate = rate(reps, stream.len(), &mut pass);
    let allocs = allocs_per_datapoint(stream.len(), 2, &mut pass);
    let stats = sender.close(Duration::from_secs(30));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    (rate, allocs)
}

/// The median of `values` and their spread (min, max).
fn median_spread(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

/// One pass of the yardstick: one thread encodes 1,000 datapoints at a
/// time into a buffer it owns and writes each chunk to the sink, what an
/// application would do without a Sender. Returns the seconds it took
/// until the sink had every byte.
fn encode_and_write_pass(
    stream: &[Datapoint],
    buf: &mut Vec<u8>,
    conn: &mut TcpStream,
    sink: &DiscardSink,
) -> f64 {
    encode_and_write_timed(stream, buf, conn, sink).0
}

/// [`encode_and_write_pass`], with the thread's CPU time from the start
/// until the last write returned (the wait for the sink excluded).
fn encode_and_write_timed(
    stream: &[Datapoint],
    buf: &mut Vec<u8>,
    conn: &mut TcpStream,
    sink: &DiscardSink,
) -> (f64, Option<u64>) {
    // The previous pass waited for every byte: this is where this one starts.
    let mut target = sink.received();
    let cpu = thread_cpu_ns();
    let start = Instant::now();
    for chunk in stream.chunks(1_000) {
        buf.clear();
        for dp in chunk {
            plaintext::encode(dp, buf).expect("a Vec grows");
        }
        conn.write_all(buf).expect("write to the sink");
        target += buf.len() as u64;
    }
    let cpu = cpu.and_then(|at| thread_cpu_ns()?.checked_sub(at));
    assert!(
        sink.wait_for(target, Duration::from_secs(60)),
        "sink stalled"
    );
    (start.elapsed().as_secs_f64(), cpu)
}

/// The end-to-end ratio against the yardstick from `pairs` interleaved
/// repetitions (yardstick, candidate, yardstick, candidate, ...), so that
/// both sides see the same moment of a noisy machine: the median of the
/// pairs' ratios and their spread; also the hand-over's lock acquisitions,
/// driver wake-ups and loop turns per 1,000 datapoints.
fn interleaved_ratio(
    runtime: Runtime,
    stream: &[Datapoint],
    pairs: usize,
    handover: Handover,
) -> ((f64, f64, f64), [f64; 3]) {
    let yard_sink = DiscardSink::start();
    let mut conn = TcpStream::connect(yard_sink.addr()).expect("connect to the sink");
    let mut buf = Vec::with_capacity(256 << 10);
    let (sink, sender) = sender_to_sink(runtime, Protocol::Plaintext, None);
    let candidate = || {
        let cpu = thread_cpu_ns();
        let start = Instant::now();
        match handover {
            Handover::Batches => {
                for chunk in stream.chunks(1_000) {
                    sender.push_many(chunk).expect("room in the buffer");
                }
            }
            Handover::OneByOne => {
                for dp in stream {
                    sender.push(dp).expect("room in the buffer");
                }
            }
        }
        // The hand-over is done: what the caller spent on it.
        let cpu = cpu.and_then(|at| thread_cpu_ns()?.checked_sub(at));
        let stats = sender.flush(Duration::from_secs(60));
        assert!(
            sink.wait_for(stats.written_bytes, Duration::from_secs(60)),
            "sink stalled"
        );
        (start.elapsed().as_secs_f64(), cpu)
    };
    // Warm both paths once.
    encode_and_write_pass(stream, &mut buf, &mut conn, &yard_sink);
    candidate();
    let before = sender.driver_counters();
    let mut ratios = Vec::with_capacity(pairs);
    let (mut yard_cpu, mut cand_cpu) = (Vec::new(), Vec::new());
    let per_datapoint = |ns: Option<u64>| ns.map(|ns| ns as f64 / stream.len() as f64);
    for _ in 0..pairs {
        let (yard, cpu) = encode_and_write_timed(stream, &mut buf, &mut conn, &yard_sink);
        yard_cpu.extend(per_datapoint(cpu));
        let (cand, cpu) = candidate();
        cand_cpu.extend(per_datapoint(cpu));
        ratios.push(yard / cand);
    }
    let after = sender.driver_counters();
    let per_1000 = |n: u64| n as f64 * 1_000.0 / (stream.len() * pairs) as f64;
    let counts = [
        per_1000(after.locks - before.locks),
        per_1000(after.wakeups - before.wakeups),
        per_1000(after.turns - before.turns),
    ];
    sender.close(Duration::from_secs(30));
    if !yard_cpu.is_empty() && !cand_cpu.is_empty() {
        // CPU time depends much less on the machine's load than the rates:
        // what the calling thread itself spends, waiting excluded.
        let (yard, _, _) = median_spread(&mut yard_cpu);
        let (cand, _, _) = median_spread(&mut cand_cpu);
        println!(
            "# {}: the calling thread's CPU per datapoint until it has handed everything over, median of {pairs}: \
             one thread that encodes and writes {yard:.1} ns, the Sender's caller {cand:.1} ns",
            runtime.name()
        );
    }
    (median_spread(&mut ratios), counts)
}

/// Nanoseconds the calling thread has run (Linux `schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Allocations per datapoint made by the application's thread while it
/// hands datapoints over in steady state: `push_many` of 1,000, a flush
/// every 10,000 so the buffer does not grow (a growing buffer needs memory
/// by definition). The I/O side runs on other threads and is not counted.
fn hot_path_allocs(runtime: Runtime, stream: &[Datapoint]) -> f64 {
    let (_sink, sender) = sender_to_sink(runtime, Protocol::Plaintext, None);
    let mut counted = 0;
    let mut points = 0;
    let mut per_round = Vec::new();
    for (round, part) in stream.chunks(10_000).enumerate() {
        let before = alloc::thread_allocations();
        for chunk in part.chunks(1_000) {
            sender.push_many(chunk).expect("room in the buffer");
        }
        for dp in part.iter().take(1_000) {
            sender.push(dp).expect("room in the buffer");
        }
        let made = alloc::thread_allocations() - before;
        per_round.push(made);
        // The first rounds warm the buffer pool: memory the sender keeps,
        // allocated once.
        if round >= 15 {
            counted += made;
            points += part.len() + part.len().min(1_000);
        }
        sender.flush(Duration::from_secs(60));
    }
    let stats = sender.close(Duration::from_secs(30));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    println!(
        "# {}: {counted} allocations in the sending thread over {points} datapoints; \
         per round of 11,000: {per_round:?}",
        runtime.name()
    );
    counted as f64 / points.max(1) as f64
}

/// Nanoseconds `Instant::now()` pairs add to a timed call.
fn clock_overhead_ns() -> f64 {
    let samples = (0..10_000)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as f64
        })
        .collect();
    median(samples)
}

/// Median and p99 of one `send` call, in nanoseconds, with `threads` threads
/// calling at once; each call timed on its own, clock cost subtracted.
fn send_cost(runtime: Runtime, workload: &[Datapoint], calls: usize, threads: usize) -> (f64, f64) {
    let (_sink, sender) = sender_to_sink(runtime, Protocol::Plaintext, None);
    let overhead = clock_overhead_ns();
    let barrier = Barrier::new(threads);
    let per_thread = calls / threads;
    let mut samples: Vec<f64> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (sender, barrier) = (&sender, &barrier);
                s.spawn(move || {
                    let mut ns = Vec::with_capacity(per_thread);
                    barrier.wait();
                    for dp in workload.iter().cycle().skip(t * 997).take(per_thread) {
                        let start = Instant::now();
                        send_one(sender, dp);
                        ns.push((start.elapsed().as_nanos() as f64 - overhead).max(0.0));
                    }
                    ns
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("sending thread"))
            .collect()
    });
    let stats = sender.close(Duration::from_secs(60));
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    if std::env::var_os("SEND_QUANTILES").is_some() {
        println!(
            "# {} {threads}t: p10 {} p25 {} p50 {} p75 {} p90 {}",
            runtime.name(),
            at(0.1),
            at(0.25),
            at(0.5),
            at(0.75),
            at(0.9)
        );
    }
    (at(0.5), at(0.99))
}

/// One `Sender::send(&MetricPath, value, Some(timestamp))`, the call an
/// application makes with a name it validated once.
fn send_one(sender: &AnySender, dp: &Datapoint) {
    sender
        .send_path(&dp.path, dp.value, dp.timestamp)
        .expect("room in the buffer");
}

/// CPU time the whole process spends while `runtimes`' senders, each
/// connected to a sink, have nothing to send: a percentage of one core
/// over `quiet` (Linux: the sum of every thread's `schedstat`; `None`
/// elsewhere). The senders are measured together, so each one costs less
/// than the figure.
fn idle_cpu_percent(runtimes: &[Runtime], stream: &[Datapoint], quiet: Duration) -> Option<f64> {
    let senders: Vec<_> = runtimes
        .iter()
        .map(|&runtime| {
            let (sink, sender) = sender_to_sink(runtime, Protocol::Plaintext, None);
            sender
                .push_many(&stream[..1_000])
                .expect("room in the buffer");
            let stats = sender.flush(Duration::from_secs(10));
            assert!(sink.wait_for(stats.written_bytes, Duration::from_secs(10)));
            (sink, sender)
        })
        .collect();
    // Let the batch timer and the first send-queue samples pass.
    thread::sleep(Duration::from_millis(500));
    let before = process_cpu_ns()?;
    let start = Instant::now();
    thread::sleep(quiet);
    let spent = process_cpu_ns()?.saturating_sub(before);
    let elapsed = start.elapsed();
    for (_sink, sender) in senders {
        sender.close(Duration::from_secs(10));
    }
    Some(spent as f64 / elapsed.as_nanos() as f64 * 100.0)
}

/// Nanoseconds every live thread of this process has run (Linux).
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The pipeline's figures only (`--only-pipeline`): the interleaved
/// ratios with their hand-over counts, the sending thread's allocations,
/// the cost of `send`, and the idle cost.
fn pipeline(plan: &Plan) {
    let stream = data::workload(plan.e2e_points / data::SERIES);
    let workload = data::workload(plan.ticks);
    interleaved_ratios(&stream, 5);
    hot_path_allocs_all(&stream);
    send_costs(&workload, plan.send_calls);
    idle_cost(&stream);
}

fn idle_cost(stream: &[Datapoint]) {
    match idle_cpu_percent(&RUNTIMES, stream, Duration::from_secs(10)) {
        Some(percent) => result(
            "idle_cpu_percent_of_a_core_all_4_senders",
            percent,
            "percent",
        ),
        None => println!("# idle cost not measured: no /proc/self/task"),
    }
}

fn interleaved_ratios(stream: &[Datapoint], pairs: usize) {
    for runtime in RUNTIMES {
        let name = runtime.name().replace('-', "_");
        for (handover, suffix) in [(Handover::Batches, ""), (Handover::OneByOne, "_one_by_one")] {
            let ((median, low, high), [locks, wakeups, turns]) =
                interleaved_ratio(runtime, stream, pairs, handover);
            ratio(&format!("e2e_{name}{suffix}_vs_encode"), median);
            println!(
                "# e2e_{name}{suffix}_vs_encode: median of {pairs} interleaved pairs, spread {low:.3}..{high:.3}; \
                 per 1,000 datapoints: {locks:.1} lock acquisitions, {wakeups:.2} driver wake-ups, {turns:.2} loop turns"
            );
        }
    }
}

fn hot_path_allocs_all(stream: &[Datapoint]) {
    let mut hot_worst: f64 = 0.0;
    for runtime in RUNTIMES {
        let name = runtime.name().replace('-', "_");
        let allocs = hot_path_allocs(runtime, stream);
        result(&format!("allocs_per_datapoint_{name}"), allocs, "count");
        hot_worst = hot_worst.max(allocs);
    }
    result("allocs_per_datapoint", hot_worst, "count");
}

fn send_costs(workload: &[Datapoint], calls: usize) {
    for runtime in RUNTIMES {
        let name = runtime.name().replace('-', "_");
        for threads in [1, 4] {
            let (p50, p99) = send_cost(runtime, workload, calls, threads);
            result(&format!("send_ns_median_{name}_{threads}t"), p50, "ns");
            result(&format!("send_ns_p99_{name}_{threads}t"), p99, "ns");
        }
    }
}

const RUNTIMES: [Runtime; 4] = [
    Runtime::Tokio,
    Runtime::AsyncStd,
    Runtime::Smol,
    Runtime::Blocking,
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let plan = Plan::new(quick);
    // `--profile-e2e <runtime>`: only the end-to-end run of one adapter,
    // repeated, for a profiler to look at.
    if let Some(at) = args.iter().position(|a| a == "--profile-e2e") {
        let runtime = RUNTIMES
            .into_iter()
            .find(|r| args.get(at + 1).is_some_and(|a| a == r.name()))
            .expect("--profile-e2e tokio|async-std|smol|blocking");
        let stream = data::workload(plan.e2e_points / data::SERIES);
        let (rate, _) = end_to_end(
            runtime,
            Protocol::Plaintext,
            &stream,
            20,
            Handover::Batches,
            None,
        );
        result(&format!("e2e_{}", runtime.name()), rate, "datapoints/s");
        return;
    }
    // `--spool-e2e`: the end-to-end figure with a disk spool configured
    // (carbon up, so it is never used) against without, alternating runs.
    if args.iter().any(|a| a == "--spool-e2e") {
        spool_e2e(&plan);
        return;
    }
    // `--only-ratios`: only the interleaved end-to-end ratios, for quick
    // before-and-after checks of the hand-over.
    if args.iter().any(|a| a == "--only-ratios") {
        let stream = data::workload(plan.e2e_points / data::SERIES);
        interleaved_ratios(&stream, plan.pairs);
        return;
    }
    // `--only-send`: only the `send` call's cost, one and four threads.
    if args.iter().any(|a| a == "--only-send") {
        send_costs(&data::workload(plan.ticks), plan.send_calls);
        return;
    }
    if args.iter().any(|a| a == "--only-pipeline") {
        pipeline(&plan);
        return;
    }
    if args.iter().any(|a| a == "--only-otel") {
        otel::run(quick);
        return;
    }
    if args.iter().any(|a| a == "--only-metrics") {
        exporters::run(quick);
        return;
    }
    let started = Instant::now();
    println!(
        "# graphite-rs compare ({} mode), {} series",
        if quick { "quick" } else { "full" },
        data::SERIES
    );

    let workload = data::workload(plan.ticks);
    let plain = encoding(&plan, &workload);

    let stream = data::workload(plan.e2e_points / data::SERIES);
    let e2e_reps = if quick { 3 } else { 5 };
    // The loopback path is bimodal (whether writer and reader share a core):
    // many short runs make its median stable.
    let raw = raw_write(&stream, 15);
    // The serial limit for one thread that must both encode and write.
    let encode_then_write = 1.0 / (1.0 / plain + 1.0 / raw);
    result("raw_write_preencoded", raw, "datapoints/s");
    result("encode_then_write", encode_then_write, "datapoints/s");
    let mut e2e = Vec::new();
    let mut allocs_worst: f64 = 0.0;
    for runtime in RUNTIMES {
        let name = runtime.name().replace('-', "_");
        let (rate, allocs) = end_to_end(
            runtime,
            Protocol::Plaintext,
            &stream,
            e2e_reps,
            Handover::Batches,
            None,
        );
        result(&format!("e2e_{name}"), rate, "datapoints/s");
        result(
            &format!("allocs_per_datapoint_burst_all_threads_{name}"),
            allocs,
            "count",
        );
        let (single, single_allocs) = end_to_end(
            runtime,
            Protocol::Plaintext,
            &stream,
            e2e_reps,
            Handover::OneByOne,
            None,
        );
        result(&format!("e2e_{name}_one_by_one"), single, "datapoints/s");
        result(
            &format!("allocs_per_datapoint_burst_all_threads_{name}_one_by_one"),
            single_allocs,
            "count",
        );
        allocs_worst = allocs_worst.max(allocs).max(single_allocs);
        e2e.push((name, rate, single));
    }
    // Pickle through tokio, to compare with aiographite's pickle protocol.
    let (e2e_pickle, _) = end_to_end(
        Runtime::Tokio,
        Protocol::Pickle,
        &stream,
        e2e_reps,
        Handover::Batches,
        None,
    );
    result("e2e_tokio_pickle", e2e_pickle, "datapoints/s");
    for (name, rate, _) in &e2e {
        ratio(&format!("e2e_{name}_vs_raw_write"), rate / raw);
    }
    // The targets' ratios: interleaved with the yardstick, median of the
    // pairs, with their spread and the hand-over's costs.
    interleaved_ratios(&stream, plan.pairs);
    result(
        "allocs_per_datapoint_burst_all_threads",
        allocs_worst,
        "count",
    );
    hot_path_allocs_all(&stream);
    send_costs(&workload, plan.send_calls);
    idle_cost(&stream);

    exporters::run(quick);

    let e2e_rate = |name: &str| e2e.iter().find(|e| e.0 == name).map_or(0.0, |e| e.1);
    let python = &stream[..plan.python_points.min(stream.len())];
    let min_bytes = python.len() as u64 * 30; // every line is longer than this
    let peers = [
        (
            "aiographite_plaintext",
            "vs_aiographite_plaintext",
            e2e_rate("tokio"),
        ),
        ("aiographite_pickle", "vs_aiographite_pickle", e2e_pickle),
        ("graphyte", "vs_graphyte", e2e_rate("blocking")),
    ];
    for (peer, ratio_name, ours) in peers {
        match python_peers::rate(peer, python, min_bytes) {
            Ok(theirs) => {
                result(peer, theirs, "datapoints/s");
                ratio(ratio_name, ours / theirs);
            }
            Err(why) => println!("# {peer} not measured: {why}"),
        }
    }
    println!("# finished in {:.1} s", started.elapsed().as_secs_f64());
}

/// The end-to-end figure through tokio with and without a spool, in
/// alternating rounds (the loopback path is noisy): the spool must cost
/// nothing until it is needed.
fn spool_e2e(plan: &Plan) {
    let stream = data::workload(plan.e2e_points / data::SERIES);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let run = |spool| {
            end_to_end(
                Runtime::Tokio,
                Protocol::Plaintext,
                &stream,
                3,
                Handover::Batches,
                spool,
            )
            .0
        };
        without.push(run(None));
        with.push(run(Some(dir.path())));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (without, with) = (median(&mut without), median(&mut with));
    result("e2e_tokio_no_spool", without, "datapoints/s");
    result("e2e_tokio_with_spool", with, "datapoints/s");
    ratio("e2e_tokio_with_spool_vs_no_spool", with / without);
}
