//! aiographite 0.2.0 and graphyte 1.7.1, run from the test venv against the
//! same sink with the same data.

use std::process::Command;
use std::time::Duration;

use graphite_proto::{Datapoint, Value};
use graphite_tests::process;
use graphite_tests::python::Venv;
use serde_json::json;

use crate::sink::DiscardSink;

/// Reads `{"peer", "port", "points": [[name, value, ts], ...]}` from stdin,
/// sends every point, and prints the wall-clock time just before the first
/// send (before `connect` for aiographite, since connecting is part of using
/// it). The bench takes the time the last byte reached the sink from there:
/// aiographite's `close` does not wait for its buffer to drain, so its own
/// elapsed time would leave the delivery out.
const SCRIPT: &str = r#"
import asyncio, json, sys, time
req = json.load(sys.stdin)
points = [tuple(p) for p in req["points"]]
port = req["port"]

def graphyte_run():
    import graphyte
    sender = graphyte.Sender("127.0.0.1", port, interval=0.1,
                             queue_size=len(points) + 1, batch_size=1000)
    start = time.time()
    for name, value, ts in points:
        sender.send(name, value, ts)
    sender.stop()  # joins the thread once everything queued is sent
    return start

async def aiographite_run(protocol):
    from aiographite import connect
    from aiographite.protocol import PlaintextProtocol, PickleProtocol
    proto = PlaintextProtocol() if protocol == "plaintext" else PickleProtocol()
    start = time.time()
    conn = await connect("127.0.0.1", port, proto)
    for i in range(0, len(points), 1000):
        await conn.send_multiple(points[i:i + 1000])
    await conn.close()
    return start

peer = req["peer"]
if peer == "graphyte":
    start = graphyte_run()
else:
    start = asyncio.run(aiographite_run(peer.split("_")[1]))
print(json.dumps({"start": start}))
"#;

/// The Python peer's throughput in datapoints per second, after checking the
/// sink received at least `min_bytes`.
pub(crate) fn rate(peer: &str, points: &[Datapoint], min_bytes: u64) -> Result<f64, String> {
    let venv = std::panic::catch_unwind(Venv::get).map_err(|_| "no Python venv".to_owned())?;
    let sink = DiscardSink::start();
    let list: Vec<serde_json::Value> = points
        .iter()
        .map(|dp| {
            let value = match dp.value {
                Value::Int(v) => json!(v),
                Value::UInt(v) => json!(v),
                Value::Float(v) => json!(v),
            };
            json!([dp.path.as_str(), value, dp.timestamp])
        })
        .collect();
    let request = json!({"peer": peer, "port": sink.addr().port(), "points": list});
    let out = process::run_ok(
        Command::new(venv.python()).arg("-c").arg(SCRIPT),
        request.to_string().as_bytes(),
        Duration::from_secs(300),
    );
    let reply: serde_json::Value =
        serde_json::from_slice(&out).map_err(|e| format!("{peer} printed no result: {e}"))?;
    let start = reply["start"]
        .as_f64()
        .ok_or_else(|| format!("{peer}: bad reply {reply}"))?;
    let received = sink.settle(Duration::from_millis(200), Duration::from_secs(30));
    if received < min_bytes {
        return Err(format!(
            "{peer}: the sink received {received} bytes, expected at least {min_bytes}"
        ));
    }
    let seconds = sink.last_arrival_unix() - start;
    if seconds <= 0.0 {
        return Err(format!("{peer}: clock went backwards ({seconds} s)"));
    }
    Ok(points.len() as f64 / seconds)
}
