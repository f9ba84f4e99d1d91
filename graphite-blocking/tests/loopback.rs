//! graphite-blocking over loopback: delivery, and a close deadline that holds
//! against a peer that never reads.

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use graphite_blocking::{Datapoint, MetricPath, Protocol, Sender, SenderConfig};

fn points(n: i64) -> Vec<Datapoint> {
    let path = MetricPath::new("loopback.series").expect("valid");
    (0..n)
        .map(|i| Datapoint::new(path.clone(), i, 1_700_000_000 + i))
        .collect()
}

#[test]
fn client_and_sender_deliver_every_line() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for _ in 0..2 {
            let (mut conn, _) = listener.accept().expect("accept");
            conn.read_to_string(&mut text).expect("read");
        }
        text
    });
    let mut client =
        graphite_blocking::connect("127.0.0.1", port, Protocol::Plaintext).expect("connect");
    client.send_multiple(points(1_000), None).expect("sent");
    client.close().expect("closed");
    let sender = Sender::spawn(
        graphite_blocking::runtime(),
        "127.0.0.1",
        port,
        SenderConfig::new(Protocol::Plaintext),
    )
    .expect("spawn");
    sender.push_many(&points(1_000)).expect("room");
    let stats = sender.close_blocking(Duration::from_secs(10));
    assert_eq!(stats.written, 1_000, "{stats:?}");
    let text = reader.join().expect("reader");
    assert_eq!(text.lines().count(), 2_000);
}

#[test]
fn a_close_deadline_holds_against_a_peer_that_never_reads() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let holder = std::thread::spawn(move || listener.accept().map(|(conn, _)| conn));
    let sender = Sender::spawn(
        graphite_blocking::runtime(),
        "127.0.0.1",
        port,
        SenderConfig::new(Protocol::Plaintext),
    )
    .expect("spawn");
    for chunk in points(500_000).chunks(10_000) {
        let _ = sender.push_many(chunk);
    }
    let start = Instant::now();
    let stats = sender.close_blocking(Duration::from_secs(1));
    let took = start.elapsed();
    eprintln!("blocking: close(1 s) against a stalled peer returned after {took:?}: {stats:?}");
    assert!(took < Duration::from_millis(1_500), "{took:?}");
    assert_eq!(stats.buffered, 0);
    assert!(
        stats.dropped.deadline > 0,
        "unsent datapoints are counted: {stats:?}"
    );
    assert!(stats.is_consistent());
    assert_eq!(stats.pushed(), 500_000);
    drop(holder);
}
