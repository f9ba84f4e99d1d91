//! Property tests: every round trip, and no injection through any accepted name.

use bytes::BytesMut;
use graphite_proto::pickle::{PickleDecoder, PickleEncoder};
use graphite_proto::udp::{DatagramPacker, decode_datagram};
use graphite_proto::{
    Datapoint, MetricPath, Value, decode_metric_part, encode_metric_part, plaintext,
    sanitize_metric_part,
};
use proptest::prelude::*;

/// Names built from a mix of safe and hostile characters; only the valid
/// ones survive `MetricPath::new`.
fn any_path() -> impl Strategy<Value = MetricPath> {
    prop_oneof![
        "[a-z0-9_-]{1,12}(\\.[a-zA-Z0-9_~:/-]{1,12}){0,4}",
        "[a-z]{1,8}(;[a-z]{1,6}=[a-z0-9.:-]{1,8}){1,4}",
        "\\PC{1,40}",
    ]
    .prop_filter_map("valid names only", |s| MetricPath::new(&s).ok())
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Value::float(f).ok()),
    ]
}

fn any_datapoint() -> impl Strategy<Value = Datapoint> {
    (any_path(), any_value(), any::<i64>()).prop_map(|(p, v, t)| Datapoint::new(p, v, t))
}

/// Values compare by bits for floats so -0.0 and 0.0 are told apart.
fn same(a: &Datapoint, b: &Datapoint) -> bool {
    let value_eq = match (a.value, b.value) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (x, y) => x == y,
    };
    a.path == b.path && a.timestamp == b.timestamp && value_eq
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn name_encoder_round_trips(s in "\\PC*|.*") {
        let encoded = encode_metric_part(&s);
        prop_assert_eq!(decode_metric_part(&encoded), Ok(s));
        prop_assert!(!encoded.contains(['.', ';', ' ', '\n']));
    }

    #[test]
    fn decode_accepts_exactly_the_encodings(s in "[a-zA-Z0-9%._~/-]{0,24}") {
        if let Ok(decoded) = decode_metric_part(&s) {
            prop_assert_eq!(encode_metric_part(&decoded), s);
        }
    }

    #[test]
    fn plaintext_round_trips(batch in prop::collection::vec(any_datapoint(), 1..20)) {
        let mut wire = BytesMut::new();
        for dp in &batch {
            plaintext::encode(dp, &mut wire).expect("growable buffer");
        }
        let mut decoder = plaintext::PlaintextDecoder::new();
        for dp in &batch {
            let got = decoder.decode(&mut wire).expect("a line").expect("valid line");
            prop_assert!(same(&got, dp), "{got:?} != {dp:?}");
        }
        prop_assert!(wire.is_empty());
    }

    #[test]
    fn plaintext_decodes_any_chunking(batch in prop::collection::vec(any_datapoint(), 1..10), cut in 1usize..64) {
        let mut wire = Vec::new();
        for dp in &batch {
            plaintext::encode(dp, &mut wire).expect("growable buffer");
        }
        let mut decoder = plaintext::PlaintextDecoder::new();
        let mut src = BytesMut::new();
        let mut got = Vec::new();
        for chunk in wire.chunks(cut) {
            src.extend_from_slice(chunk);
            while let Some(r) = decoder.decode(&mut src) {
                got.push(r.expect("valid line"));
            }
        }
        prop_assert_eq!(got.len(), batch.len());
        for (g, dp) in got.iter().zip(&batch) {
            prop_assert!(same(g, dp));
        }
    }

    #[test]
    fn pickle_round_trips(batch in prop::collection::vec(any_datapoint(), 1..40), limit in 200usize..4096) {
        // Generated items are under 200 bytes, so every limit here splits into many frames.
        let encoder = PickleEncoder::with_max_frame_len(limit);
        let mut wire = BytesMut::new();
        let frames = encoder.encode_batch(&batch, &mut wire).expect("fits");
        let mut decoder = PickleDecoder::with_max_frame_len(encoder.max_frame_len());
        let mut got = Vec::new();
        for _ in 0..frames {
            let frame = decoder.decode(&mut wire).expect("well formed").expect("complete");
            got.extend(frame.into_iter().map(|r| r.expect("valid item")));
        }
        prop_assert!(wire.is_empty());
        prop_assert_eq!(got.len(), batch.len());
        for (g, dp) in got.iter().zip(&batch) {
            prop_assert!(same(g, dp));
        }
    }

    #[test]
    fn udp_round_trips(batch in prop::collection::vec(any_datapoint(), 1..40)) {
        let mut packer = DatagramPacker::with_max_datagram_len(16_384);
        let mut datagrams = Vec::new();
        for dp in &batch {
            datagrams.extend(packer.push(dp).expect("fits"));
        }
        datagrams.extend(packer.finish());
        let got: Vec<Datapoint> = datagrams
            .iter()
            .flat_map(|d| decode_datagram(d))
            .map(|r| r.expect("whole line"))
            .collect();
        prop_assert_eq!(got.len(), batch.len());
        for (g, dp) in got.iter().zip(&batch) {
            prop_assert!(same(g, dp));
        }
    }

    /// Whatever text a user passes, an accepted name encodes to exactly one
    /// line that carbon's rule (`line.strip().split()` == 3 fields) and our
    /// decoder both read as that one datapoint.
    #[test]
    fn accepted_names_cannot_inject(name in "(\\PC|[ \t\r\n\u{b}\u{c}\u{85}\u{a0}\u{2028};=.~\0])*", v in any_value(), t in any::<i64>()) {
        let Ok(path) = MetricPath::new(&name) else { return Ok(()) };
        let dp = Datapoint::new(path, v, t);
        let mut wire = Vec::new();
        plaintext::encode(&dp, &mut wire).expect("growable buffer");
        let text = std::str::from_utf8(&wire).expect("UTF-8");
        prop_assert_eq!(text.matches('\n').count(), 1);
        prop_assert!(text.ends_with('\n'));
        prop_assert_eq!(text.split_whitespace().count(), 3);
        let results = plaintext::decode_all(&wire);
        prop_assert_eq!(results.len(), 1);
        prop_assert!(same(results[0].as_ref().expect("one valid line"), &dp));
    }

    #[test]
    fn sanitised_parts_are_always_one_node(part in "\\PC*|.*") {
        let node = sanitize_metric_part(&part);
        let path = MetricPath::from_parts([node.as_str()]);
        prop_assert!(path.is_ok(), "{node:?}: {path:?}");
    }

    /// Smoke of the decoders on arbitrary bytes: no panic, bounded output.
    #[test]
    fn decoders_survive_arbitrary_input(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut src = BytesMut::from(&bytes[..]);
        let mut decoder = plaintext::PlaintextDecoder::with_max_line_len(64);
        let mut items = 0;
        while decoder.decode_eof(&mut src).is_some() {
            items += 1;
        }
        // At most one item (datapoint or error) per line, and all input consumed.
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        prop_assert!(items <= lines, "{items} items from {lines} lines");
        prop_assert!(src.is_empty(), "{} bytes left behind", src.len());
        let mut framed = BytesMut::new();
        framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        framed.extend_from_slice(&bytes);
        // A datapoint takes several bytes of pickle: never more items than bytes.
        if let Ok(Some(frame)) = PickleDecoder::new().decode(&mut framed) {
            prop_assert!(frame.len() <= bytes.len());
        }
        if let Ok(frame) = graphite_proto::pickle::decode_payload(&bytes::Bytes::from(bytes.clone())) {
            prop_assert!(frame.len() <= bytes.len());
        }
        let _ = MetricPath::from_bytes(bytes::Bytes::from(bytes));
    }

    /// Pickles that are well-formed up to a random cut or a flipped byte.
    #[test]
    fn pickle_decoder_survives_corruption(batch in prop::collection::vec(any_datapoint(), 1..8), flip in any::<(usize, u8)>(), cut in any::<usize>()) {
        let mut wire = Vec::new();
        PickleEncoder::new().encode_batch(&batch, &mut wire).expect("fits");
        let mut payload = wire[4..].to_vec();
        let i = flip.0 % payload.len();
        payload[i] ^= flip.1;
        payload.truncate(cut % (payload.len() + 1));
        let _ = graphite_proto::pickle::decode_payload(&bytes::Bytes::from(payload));
    }
}
