//! Every adapter against Graphite's own carbon-cache: values read back from
//! whisper, exactly; hostile names never stored; faults give typed errors.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphite_proto::client::{ClientConfig, SendError};
use graphite_proto::sender::{PushError, SenderConfig};
use graphite_proto::{Datapoint, MetricPath, Protocol, Value};
use graphite_tests::carbon::{Carbon, CarbonOptions};
use graphite_tests::process;
use graphite_tests::runtime::{AnyClient, AnySender, Runtime, RuntimeError};

const STORE_TIMEOUT: Duration = Duration::from_secs(60);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn port_for(carbon: &Carbon, protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Plaintext => carbon.line_port,
        Protocol::Pickle => carbon.pickle_port,
        _ => carbon.udp_port,
    }
}

/// Distinct series with integer and float values and explicit timestamps.
fn points(prefix: &str, n: i64, base: i64) -> Vec<Datapoint> {
    (0..n)
        .map(|i| {
            let value = if i % 2 == 0 {
                Value::Int(i * 1_000_003 - 7)
            } else {
                Value::Float(i as f64 * 0.1)
            };
            let path = MetricPath::new(&format!("{prefix}.m{i}")).expect("valid");
            Datapoint::new(path, value, base + i)
        })
        .collect()
}

fn expected(points: &[Datapoint]) -> Vec<(String, i64, f64)> {
    points
        .iter()
        .map(|d| (d.path.as_str().to_owned(), d.timestamp, d.value.as_f64()))
        .collect()
}

fn whisper_file(name: &str) -> PathBuf {
    PathBuf::from(format!("{}.wsp", name.replace('.', "/")))
}

fn delivers_every_protocol_exactly(runtime: Runtime) {
    let carbon = Carbon::start();
    let base = now() - 600;
    let mut all = Vec::new();
    for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
        let port = port_for(&carbon, protocol);
        let direct = points(
            &format!("it.{}.client.{protocol}", runtime.name().replace('-', "_")),
            40,
            base,
        );
        let mut client =
            AnyClient::connect(runtime, "127.0.0.1", port, ClientConfig::new(protocol))
                .expect("connect");
        client
            .send(
                direct[0].path.as_str(),
                direct[0].value,
                Some(direct[0].timestamp),
            )
            .expect("send");
        client
            .send_multiple(direct[1..].to_vec())
            .expect("send_multiple");
        client.close().expect("close");

        let background = points(
            &format!("it.{}.sender.{protocol}", runtime.name().replace('-', "_")),
            40,
            base,
        );
        let sender = AnySender::spawn(runtime, "127.0.0.1", port, SenderConfig::new(protocol))
            .expect("spawn");
        for dp in &background {
            sender.push(dp).expect("room");
        }
        let stats = sender.close(Duration::from_secs(10));
        assert_eq!(stats.written, 40, "{protocol}: {stats:?}");
        all.extend(direct);
        all.extend(background);
    }
    carbon
        .wait_for(&expected(&all), STORE_TIMEOUT)
        .unwrap_or_else(|e| panic!("{}: {e}", runtime.name()));
}

fn hostile_names_never_reach_carbon(runtime: Runtime) {
    let carbon = Carbon::start();
    let hostile = [
        "it.a b",
        "it.a\tb",
        "it.a\r\nevil.metric 1 1",
        "it.a\u{a0}b",
        "it.a\u{2028}b",
        "it.a\0b",
        "it.a;b",
        "it..b",
        ".it.b",
        "it.b.",
        "it.b;x",
        "it.b;x=~y",
        "",
    ];
    let good = format!("it.good.{}", runtime.name().replace('-', "_"));
    let ts = now() - 60;
    for protocol in [Protocol::Plaintext, Protocol::Pickle, Protocol::Udp] {
        let port = port_for(&carbon, protocol);
        let mut client =
            AnyClient::connect(runtime, "127.0.0.1", port, ClientConfig::new(protocol))
                .expect("connect");
        let sender = AnySender::spawn(runtime, "127.0.0.1", port, SenderConfig::new(protocol))
            .expect("spawn");
        for name in hostile {
            let err = client.send(name, Value::Int(1), Some(ts)).expect_err(name);
            assert!(
                matches!(err, SendError::Name(_)),
                "client accepted {name:?}: {err}"
            );
            let err = sender.send(name, Value::Int(1), Some(ts)).expect_err(name);
            assert!(
                matches!(err, PushError::Name(_)),
                "sender accepted {name:?}: {err}"
            );
        }
        client.send(&good, Value::Int(7), Some(ts)).expect("valid");
        client.close().expect("close");
        sender.close(Duration::from_secs(5));
    }
    carbon
        .wait_for(&[(good.clone(), ts, 7.0)], STORE_TIMEOUT)
        .expect("stored");
    assert_eq!(
        carbon.stored_files(),
        vec![whisper_file(&good)],
        "carbon stored something else"
    );
}

fn faults_are_typed_errors(runtime: Runtime) {
    let mut carbon = Carbon::start();
    let ts = now() - 60;
    // Carbon stopped between two sends: the second is an error, never a silent success.
    let mut client = AnyClient::connect(
        runtime,
        "127.0.0.1",
        carbon.line_port,
        ClientConfig::default(),
    )
    .expect("connect");
    client
        .send("it.fault.before", Value::Int(1), Some(ts))
        .expect("carbon is up");
    carbon.stop();
    let err = client
        .send("it.fault.after", Value::Int(1), Some(ts))
        .expect_err("carbon is down");
    assert!(
        matches!(
            err,
            SendError::Connect { .. } | SendError::Write { .. } | SendError::PeerClosed
        ),
        "{err:?}"
    );
    // Connection refused at connect time.
    let err = AnyClient::connect(
        runtime,
        "127.0.0.1",
        carbon.line_port,
        ClientConfig::default(),
    )
    .map(|_| ())
    .expect_err("refused");
    assert!(
        matches!(err, RuntimeError::Send(SendError::Connect { .. })),
        "{err:?}"
    );
    // A carbon that stops reading: the write times out with its progress.
    carbon.restart();
    let pid = carbon.pid().expect("running");
    let config = ClientConfig::default().with_write_timeout(Duration::from_secs(1));
    let mut client =
        AnyClient::connect(runtime, "127.0.0.1", carbon.line_port, config).expect("connect");
    process::signal(pid, "STOP");
    let flood = points("it.stall", 300_000, ts - 300_000);
    let err = client
        .send_multiple(flood)
        .expect_err("carbon stopped reading");
    process::signal(pid, "CONT");
    match err {
        SendError::WriteTimeout { written, total, .. } => assert!(written < total),
        other => panic!("{other}"),
    }
}

fn tagged_series_land_under_tagged(runtime: Runtime) {
    let carbon = Carbon::start_with(CarbonOptions {
        tags: true,
        ..CarbonOptions::default()
    });
    let ts = now() - 60;
    let name = format!(
        "it.tagged.{};host=web1;dc=eu",
        runtime.name().replace('-', "_")
    );
    for protocol in [Protocol::Plaintext, Protocol::Pickle] {
        let mut client = AnyClient::connect(
            runtime,
            "127.0.0.1",
            port_for(&carbon, protocol),
            ClientConfig::new(protocol),
        )
        .expect("connect");
        let stamp = if protocol == Protocol::Pickle {
            ts + 1
        } else {
            ts
        };
        client
            .send(&name, Value::Float(2.5), Some(stamp))
            .expect("send");
        client.close().expect("close");
    }
    carbon
        .wait_for(
            &[(name.clone(), ts, 2.5), (name, ts + 1, 2.5)],
            STORE_TIMEOUT,
        )
        .expect("tagged series stored");
    let files = carbon.stored_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("_tagged"), "{files:?}");
}

macro_rules! suite {
    ($($module:ident => $runtime:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn delivers_every_protocol_exactly() { super::delivers_every_protocol_exactly($runtime) }
            #[test] fn hostile_names_never_reach_carbon() { super::hostile_names_never_reach_carbon($runtime) }
            #[test] fn faults_are_typed_errors() { super::faults_are_typed_errors($runtime) }
            #[test] fn tagged_series_land_under_tagged() { super::tagged_series_land_under_tagged($runtime) }
        }
    )*};
}

suite! {
    tokio => Runtime::Tokio,
    async_std => Runtime::AsyncStd,
    smol => Runtime::Smol,
    blocking => Runtime::Blocking,
}
