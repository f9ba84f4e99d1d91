//! Our pickle frames against CPython's pickle, carbon's restricted
//! unpickler and aiographite's frames; our tag canonicalisation against
//! carbon's own `TaggedSeries`.

use bytes::{Bytes, BytesMut};
use graphite_proto::pickle::{PickleDecoder, PickleEncoder, decode_payload};
use graphite_proto::{Datapoint, MetricPath, Value};
use graphite_tests::python::Venv;
use serde_json::{Value as Json, json};

/// A batch that exercises every encoding branch: small/large/negative
/// integers, u64 beyond i64, floats of every magnitude, -0.0, Unicode and
/// tagged names, timestamps beyond 2038.
fn varied_batch() -> Vec<Datapoint> {
    let names = [
        "servers.web1.cpu",
        "München.temp",
        "日本.東京.load",
        "cpu.load;dc=eu;host=a",
        "a",
        "x/y.z~w",
    ];
    let values = [
        Value::Int(0),
        Value::Int(255),
        Value::Int(256),
        Value::Int(65_536),
        Value::Int(-1),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::UInt(u64::MAX),
        Value::Float(0.1),
        Value::Float(-0.0),
        Value::Float(1e-300),
        Value::Float(f64::MAX),
        Value::Float(123_456.789),
    ];
    let stamps = [
        0,
        1,
        255,
        70_000,
        1_700_000_000,
        4_102_444_800,
        -5,
        i64::MAX,
    ];
    let mut batch = Vec::new();
    for (i, value) in values.iter().enumerate() {
        for (j, stamp) in stamps.iter().enumerate() {
            let name = names[(i + j) % names.len()];
            batch.push(Datapoint::new(
                MetricPath::new(name).expect("valid"),
                *value,
                *stamp,
            ));
        }
    }
    batch
}

/// JSON form `[path, timestamp, value]` with the value's Python type kept.
fn as_json(dp: &Datapoint) -> Json {
    let value = match dp.value {
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
    };
    json!([dp.path.as_str(), dp.timestamp, value])
}

const LOAD_FRAMES: &str = r#"
import json, pickle, struct, sys
from carbon.util import get_unpickler
data = sys.stdin.buffer.read()
plain, restricted, i = [], [], 0
while i < len(data):
    (n,) = struct.unpack("!L", data[i:i+4])
    payload = data[i+4:i+4+n]
    i += 4 + n
    plain.extend(pickle.loads(payload))
    restricted.extend(get_unpickler().loads(payload))
def flat(items):
    out = []
    for path, (ts, value) in items:
        assert isinstance(path, str), path
        out.append([path, ts, value])
    return out
json.dump({"plain": flat(plain), "restricted": flat(restricted)}, sys.stdout)
"#;

#[test]
fn cpython_and_carbon_read_our_frames() {
    let batch = varied_batch();
    let mut wire = Vec::new();
    // A small limit forces several frames.
    let frames = PickleEncoder::with_max_frame_len(512)
        .encode_batch(&batch, &mut wire)
        .expect("fits");
    assert!(frames > 3);
    let out = Venv::get().run(LOAD_FRAMES, &wire);
    let loaded: Json = serde_json::from_slice(&out).expect("JSON");
    let expected: Vec<Json> = batch.iter().map(as_json).collect();
    assert_eq!(loaded["plain"].as_array().expect("list"), &expected);
    assert_eq!(loaded["restricted"].as_array().expect("list"), &expected);
    // Python keeps int and float apart: -0.0 stays a float, ints stay ints.
    let zero = expected
        .iter()
        .position(|e| e[2].is_f64() && e[2].as_f64() == Some(0.0));
    assert!(zero.is_some());
}

const DUMP_FRAMES: &str = r#"
import json, pickle, struct, sys
from aiographite.protocol import PickleProtocol
items = json.load(sys.stdin)
tuples = [(p, (t, v)) for p, t, v in items]
out = sys.stdout.buffer
for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
    payload = pickle.dumps(tuples, protocol=proto)
    out.write(struct.pack("!L", len(payload)) + payload)
# aiographite's own frame: (metric, value, timestamp) tuples in, protocol 2 with memo out.
out.write(PickleProtocol().generate_message([(p, v, t) for p, t, v in items]))
"#;

#[test]
fn we_read_cpython_and_aiographite_frames() {
    let batch = varied_batch();
    let input = Json::Array(batch.iter().map(as_json).collect());
    let out = Venv::get().run(DUMP_FRAMES, input.to_string().as_bytes());
    let mut src = BytesMut::from(&out[..]);
    let mut decoder = PickleDecoder::new();
    let mut frames = 0;
    while let Some(frame) = decoder.decode(&mut src).expect("well-formed frame") {
        let got: Vec<Datapoint> = frame.into_iter().map(|r| r.expect("valid item")).collect();
        assert_eq!(got.len(), batch.len(), "frame {frames}");
        for (g, want) in got.iter().zip(&batch) {
            assert_eq!(as_json(g), as_json(want), "frame {frames}");
        }
        frames += 1;
    }
    assert!(src.is_empty());
    // Protocols 0..=5 plus aiographite's frame.
    assert_eq!(frames, 7);
}

const CARBON_CANONICAL: &str = r#"
import json, sys
from carbon.util import TaggedSeries
out = []
for name in json.load(sys.stdin):
    try:
        out.append(TaggedSeries.parse(name).path)
    except Exception as e:
        out.append(None)
json.dump(out, sys.stdout)
"#;

#[test]
fn tags_are_canonical_exactly_as_carbon_makes_them() {
    let names = [
        "cpu;b=2;a=1",
        "cpu;a=1;a-b=2;a.b=3;A=4;_=5",
        "~~cpu.load;host=x;dc=eu",
        "m;z=1;y=2;x=3;w=4",
        "m;k=v=w;k2=o~k",
        "m;é=1;e=2;f=ü",
        "m;a=1;aa=1;a_=1;a0=1",
        "disk.used;mount=/var;host=db1",
    ];
    let input = json!(names).to_string();
    let carbon: Vec<Option<String>> =
        serde_json::from_slice(&Venv::get().run(CARBON_CANONICAL, input.as_bytes())).expect("JSON");
    for (name, canonical) in names.iter().zip(carbon) {
        let ours = MetricPath::new(name).expect("valid");
        assert_eq!(Some(ours.as_str().to_owned()), canonical, "{name}");
    }
    // What carbon refuses, we refuse too.
    let refused = [
        "cpu;=1",
        "cpu;a=",
        "cpu;a!b=1",
        "cpu;a=~x",
        "~~;a=1",
        "cpu;a",
    ];
    let input = json!(refused).to_string();
    let carbon: Vec<Option<String>> =
        serde_json::from_slice(&Venv::get().run(CARBON_CANONICAL, input.as_bytes())).expect("JSON");
    for (name, canonical) in refused.iter().zip(carbon) {
        assert_eq!(canonical, None, "carbon accepts {name}");
        assert!(MetricPath::new(name).is_err(), "we accept {name}");
    }
}

#[test]
fn frames_at_carbon_limit_stay_under_it() {
    // A batch larger than 1 MiB of pickle splits into frames carbon accepts.
    let path = MetricPath::new(&format!("big.{}", "n".repeat(200))).expect("valid");
    let batch: Vec<_> = (0..10_000)
        .map(|i| Datapoint::new(path.clone(), i, i))
        .collect();
    let mut wire = BytesMut::new();
    let frames = PickleEncoder::new()
        .encode_batch(&batch, &mut wire)
        .expect("fits");
    assert!(frames >= 2);
    let mut rest = wire.freeze();
    let mut total = 0;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        assert!(len <= 1 << 20);
        let payload: Bytes = rest.slice(4..4 + len);
        total += decode_payload(&payload).expect("frame").len();
        rest = rest.slice(4 + len..);
    }
    assert_eq!(total, batch.len());
}
