//! The shared behaviour suite: the same tests against every adapter
//! (tokio, async-std, smol, blocking), over real loopback sockets to an
//! in-process sink. The same suite against real carbon is in
//! `carbon_adapters.rs` and `carbon_resilience.rs`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use graphite_proto::client::{ClientConfig, SendError};
use graphite_proto::sender::{OverflowPolicy, PushError, SenderConfig};
use graphite_proto::{Datapoint, MetricPath, Protocol, Value};
use graphite_tests::runtime::{
    AnyClient as TestClient, AnySender as TestSender, Runtime as Adapter, RuntimeError,
};
use graphite_tests::sink::Sink;

fn batch(prefix: &str, n: i64) -> Vec<Datapoint> {
    (0..n)
        .map(|i| {
            let value = if i % 2 == 0 {
                Value::Int(i * 1_000_003)
            } else {
                Value::Float(i as f64 / 7.0)
            };
            Datapoint::new(
                MetricPath::new(&format!("{prefix}.m{}", i % 13)).expect("valid"),
                value,
                1_700_000_000 + i,
            )
        })
        .collect()
}

fn sink_for(protocol: Protocol) -> Sink {
    if protocol == Protocol::Udp {
        Sink::udp()
    } else {
        Sink::tcp()
    }
}

fn same_points(got: &[Datapoint], want: &[Datapoint]) {
    assert_eq!(
        got.len(),
        want.len(),
        "datapoint count (first: {:?})",
        want.first()
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            (g.path.as_str(), g.timestamp),
            (w.path.as_str(), w.timestamp)
        );
        assert_eq!(
            g.value.as_f64().to_bits(),
            w.value.as_f64().to_bits(),
            "{}",
            g.path
        );
    }
}

fn client_delivers_every_protocol(adapter: Adapter) {
    for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
        let sink = sink_for(protocol);
        let config = ClientConfig::new(protocol).with_max_frame_len(4096);
        let mut client =
            TestClient::connect(adapter, "127.0.0.1", sink.addr().port(), config).expect("connect");
        let want = batch("client", 500);
        client
            .send(
                want[0].path.as_str(),
                want[0].value,
                Some(want[0].timestamp),
            )
            .expect("send");
        client
            .send_multiple(want[1..].to_vec())
            .expect("send_multiple");
        client.close().expect("close");
        sink.wait_for_bytes(500 * 20, Duration::from_secs(10));
        let deadline = Instant::now() + Duration::from_secs(10);
        let (got, bad) = loop {
            let (got, bad) = sink.datapoints(protocol == Protocol::Pickle);
            if got.len() >= want.len() || Instant::now() > deadline {
                break (got, bad);
            }
            std::thread::park_timeout(Duration::from_millis(20));
        };
        assert_eq!(bad, 0, "{protocol}");
        same_points(&got, &want);
    }
}

fn hostile_names_are_refused_before_writing(adapter: Adapter) {
    let sink = Sink::tcp();
    let mut client = TestClient::connect(
        adapter,
        "127.0.0.1",
        sink.addr().port(),
        ClientConfig::default(),
    )
    .expect("connect");
    for name in [
        "a b",
        "a\tb",
        "a\rb",
        "a\nevil 1 2",
        "a\u{a0}b",
        "a\u{2028}b",
        "a\0b",
        "a;b",
        "a..b",
        ".a",
        "a.",
        "",
    ] {
        let err = client.send(name, Value::Int(1), Some(1)).expect_err(name);
        assert!(matches!(err, SendError::Name(_)), "{name:?}: {err}");
    }
    let err = client.send("ok", Value::Float(1.0), Some(1)).map(|()| 0);
    assert!(err.is_ok());
    client.close().expect("close");
    sink.wait_for_bytes(b"ok 1.0 1\n".len(), Duration::from_secs(10));
    let (got, bad) = sink.datapoints(false);
    assert_eq!(
        (got.len(), bad),
        (1, 0),
        "only the valid datapoint was written"
    );
}

fn connection_refused_is_a_typed_error(adapter: Adapter) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let err = TestClient::connect(adapter, "127.0.0.1", port, ClientConfig::default())
        .map(|_| ())
        .expect_err("refused");
    assert!(
        matches!(err, RuntimeError::Send(SendError::Connect { .. })),
        "{err:?}"
    );
}

fn write_timeout_reports_progress_and_never_duplicates(adapter: Adapter) {
    let sink = Sink::tcp();
    sink.set_reading(false);
    let config = ClientConfig::default().with_write_timeout(Duration::from_millis(500));
    let mut client =
        TestClient::connect(adapter, "127.0.0.1", sink.addr().port(), config).expect("connect");
    // Far more than the kernel's socket buffers hold.
    let want = batch("stall", 300_000);
    let err = client
        .send_multiple(want.clone())
        .expect_err("the peer does not read");
    let (written, total) = match err {
        SendError::WriteTimeout { written, total, .. } => (written, total),
        other => panic!("{other}"),
    };
    assert_eq!(total, want.len());
    assert!(written < total);
    sink.set_reading(true);
    drop(client);
    // The closed socket's queue drains at the kernel's zero-window probe
    // pace, with pauses of 200 ms and more: wait for what was reported
    // written to arrive (or the deadline), then check it all.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.datapoints(false).0.len() < written && Instant::now() < deadline {
        std::thread::park_timeout(Duration::from_millis(50));
    }
    let (got, _) = sink.datapoints(false);
    assert!(
        got.len() >= written,
        "{} received, {written} reported written",
        got.len()
    );
    let mut seen: HashMap<(String, i64), usize> = HashMap::new();
    for dp in &got {
        *seen
            .entry((dp.path.as_str().to_owned(), dp.timestamp))
            .or_default() += 1;
    }
    assert!(seen.values().all(|&n| n == 1), "a datapoint arrived twice");
}

fn bring_your_own_stream(adapter: Adapter) {
    let sink = Sink::tcp();
    let mut client =
        TestClient::from_stream(adapter, sink.addr(), ClientConfig::new(Protocol::Pickle))
            .expect("connect");
    let want = batch("byo", 50);
    client.send_multiple(want.clone()).expect("send");
    client.close().expect("close");
    sink.wait_for_bytes(1000, Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.datapoints(true).0.len() < 50 && Instant::now() < deadline {
        std::thread::park_timeout(Duration::from_millis(20));
    }
    same_points(&sink.datapoints(true).0, &want);
}

fn sender_delivers_everything_once(adapter: Adapter) {
    for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
        let sink = sink_for(protocol);
        let sender = TestSender::spawn(
            adapter,
            "127.0.0.1",
            sink.addr().port(),
            SenderConfig::new(protocol),
        )
        .expect("spawn");
        // UDP has no flow control: a burst larger than the receiver's socket
        // buffer is lost by the kernel, so UDP gets a burst that fits.
        let count = if protocol == Protocol::Udp {
            2_000
        } else {
            20_000
        };
        let want = batch("sender", count);
        for dp in &want {
            sender.push(dp).expect("room");
        }
        let stats = sender.close(Duration::from_secs(20));
        assert_eq!(stats.written, count as u64, "{protocol}: {stats:?}");
        assert!(stats.is_consistent());
        let deadline = Instant::now() + Duration::from_secs(10);
        while sink.datapoints(protocol == Protocol::Pickle).0.len() < want.len()
            && Instant::now() < deadline
        {
            std::thread::park_timeout(Duration::from_millis(20));
        }
        let (got, bad) = sink.datapoints(protocol == Protocol::Pickle);
        assert_eq!(bad, 0);
        same_points(&got, &want);
        assert_eq!(
            sender.send("late", Value::Int(1), None),
            Err(PushError::Closed)
        );
        assert_eq!(sender.stats().dropped.closed, 1, "the refusal is counted");
    }
}

fn sender_never_waits_for_a_stalled_peer(adapter: Adapter) {
    let sink = Sink::tcp();
    sink.set_reading(false);
    let capacity = 1 << 20;
    let config = SenderConfig::new(Protocol::Plaintext)
        .with_buffer_capacity(capacity)
        .with_write_timeout(Duration::from_secs(60))
        .with_overflow(OverflowPolicy::DropNewest);
    let sender =
        TestSender::spawn(adapter, "127.0.0.1", sink.addr().port(), config).expect("spawn");
    let points = batch("flood", 400_000);
    let mut slowest = Duration::ZERO;
    for dp in &points {
        let started = Instant::now();
        let _ = sender.push(dp);
        slowest = slowest.max(started.elapsed());
    }
    let stats = sender.stats();
    assert!(stats.buffered_bytes <= capacity, "{stats:?}");
    assert!(stats.dropped.buffer_full > 0, "{stats:?}");
    assert!(stats.is_consistent(), "{stats:?}");
    assert_eq!(stats.pushed(), points.len() as u64);
    // Generous for a shared 2-core machine; typical is well under 10 µs.
    assert!(
        slowest < Duration::from_millis(100),
        "a push took {slowest:?}"
    );
    sink.set_reading(true);
    let stats = sender.close(Duration::from_secs(20));
    assert_eq!(stats.buffered, 0);
    assert!(stats.is_consistent());
}

macro_rules! suite {
    ($($module:ident => $adapter:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn client_delivers_every_protocol() { super::client_delivers_every_protocol($adapter) }
            #[test] fn hostile_names_are_refused_before_writing() { super::hostile_names_are_refused_before_writing($adapter) }
            #[test] fn connection_refused_is_a_typed_error() { super::connection_refused_is_a_typed_error($adapter) }
            #[test] fn write_timeout_reports_progress_and_never_duplicates() { super::write_timeout_reports_progress_and_never_duplicates($adapter) }
            #[test] fn bring_your_own_stream() { super::bring_your_own_stream($adapter) }
            #[test] fn sender_delivers_everything_once() { super::sender_delivers_everything_once($adapter) }
            #[test] fn sender_never_waits_for_a_stalled_peer() { super::sender_never_waits_for_a_stalled_peer($adapter) }
        }
    )*};
}

suite! {
    tokio => Adapter::Tokio,
    async_std => Adapter::AsyncStd,
    smol => Adapter::Smol,
    blocking => Adapter::Blocking,
}
