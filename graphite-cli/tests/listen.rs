//! `graphite listen` under bad input: a run of refusals is one line saying
//! how many and why the first was refused; `--verbose` gives one line each.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use graphite_tests::process;

const DEADLINE: Duration = Duration::from_secs(60);

/// A `graphite listen` on an ephemeral loopback port, and that port (read
/// from its announcement, so nothing is sent before it listens).
fn listen(protocol: &str, count: usize, verbose: bool) -> (Child, u16) {
    let mut args = vec![
        "listen".to_owned(),
        "--protocol".to_owned(),
        protocol.to_owned(),
        "--bind".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--count".to_owned(),
        count.to_string(),
    ];
    if verbose {
        args.push("--verbose".to_owned());
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_graphite"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("graphite listen starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stderr).read_line(&mut line);
        let _ = tx.send(line);
    });
    let announced = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
        process::kill(child.id());
        panic!("graphite listen announced no address")
    });
    let port = announced
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {announced:?}"));
    (child, port)
}

/// Sends `payload` on one connection and returns what the listener printed
/// on stdout before it exited (it exits after its `--count`).
fn send_and_collect(mut child: Child, port: u16, payload: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(payload).expect("write");
    drop(stream);
    let mut stdout = child.stdout.take().expect("piped stdout");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = child.wait();
        let _ = tx.send(text);
    });
    rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
        process::kill(pid);
        panic!("graphite listen did not reach its --count")
    })
}

/// One pickle frame (with its length prefix).
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// `[(name, (1, 2)), ...]` in protocol 2.
fn pickle_of(names: &[String]) -> Vec<u8> {
    let mut p = b"\x80\x02](".to_vec();
    for name in names {
        p.push(b'X');
        p.extend_from_slice(&(name.len() as u32).to_le_bytes());
        p.extend_from_slice(name.as_bytes());
        p.extend_from_slice(b"K\x01K\x02\x86\x86");
    }
    p.extend_from_slice(b"e.");
    p
}

const JUNK: usize = 20_000;

/// A frame of `JUNK` items whose names carbon would refuse, then one good
/// item; then a frame of 300,000 items (one item referenced again and
/// again), which is refused whole.
fn junk_frames() -> Vec<u8> {
    let mut names: Vec<String> = (0..JUNK).map(|i| format!("bad name.{i}")).collect();
    names.push("good.name".to_owned());
    let mut wire = frame(&pickle_of(&names));
    let mut repeated = b"\x80\x02]q\x00(X\x01\x00\x00\x00aK\x01K\x02\x86\x86q\x01".to_vec();
    for _ in 1..300_000 {
        repeated.extend_from_slice(b"h\x01");
    }
    repeated.extend_from_slice(b"e.");
    wire.extend(frame(&repeated));
    wire
}

#[test]
fn a_frame_of_junk_is_one_line() {
    let (child, port) = listen("pickle", 3, false);
    let text = send_and_collect(child, port, &junk_frames());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "good.name 2 1");
    assert!(
        lines[1].starts_with("error: error from 127.0.0.1:")
            && lines[1].contains(&format!("{JUNK} of {} items refused", JUNK + 1))
            && lines[1].contains("the first: item 0: path: whitespace ' '"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("memory budget"),
        "the 300,000-item frame is refused whole: {}",
        lines[2]
    );
}

#[test]
fn verbose_gives_every_item() {
    let (child, port) = listen("pickle", JUNK + 1, true);
    let text = send_and_collect(child, port, &junk_frames());
    let errors = text
        .lines()
        .filter(|l| l.starts_with("error: ") && l.contains("path: whitespace"))
        .count();
    assert_eq!(errors, JUNK, "one line per refused item");
    assert_eq!(text.lines().count(), JUNK + 1, "and the good datapoint");
}

#[test]
fn bad_lines_in_a_row_are_one_line_in_order() {
    let mut input = b"a.b 1 10\n".to_vec();
    for i in 0..5_000 {
        input.extend_from_slice(format!("not a valid line {i}\n").as_bytes());
    }
    input.extend_from_slice(b"c 2.5 20\nlone bad line\nd 3 30\n");
    let (child, port) = listen("plaintext", 5, false);
    let text = send_and_collect(child, port, &input);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], "a.b 1 10");
    assert!(
        lines[1].contains("5000 lines refused in a row; the first: "),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "c 2.5 20");
    assert!(
        lines[3].starts_with("error: error from ") && !lines[3].contains("refused in a row"),
        "a lone bad line reads as it always did: {}",
        lines[3]
    );
    assert_eq!(lines[4], "d 3 30");
}

#[test]
fn bad_lines_from_a_quiet_peer_are_reported_without_waiting_for_more() {
    let (mut child, port) = listen("plaintext", 1, false);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(b"bad 1\nbad 2\nbad 3\n").expect("write");
    // The connection stays open and quiet: the listener reports the run on
    // its own, within about a second, and exits after that one line.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = child.wait();
        let _ = tx.send(text);
    });
    let text = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
        process::kill(pid);
        panic!("the run of bad lines was never reported")
    });
    drop(stream);
    assert!(
        text.contains("3 lines refused in a row; the first: "),
        "{text}"
    );
}
