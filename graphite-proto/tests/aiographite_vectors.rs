//! Every public vector produced by running aiographite 0.2.0 under CPython.

use graphite_proto::{clean_and_join_metric_parts, decode_metric_part, encode_metric_part};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("data/aiographite_encoder_vectors.json");
    serde_json::from_str(text).expect("vector file is JSON")
}

fn as_str(v: &Value) -> &str {
    v.as_str().expect("string in vector file")
}

#[test]
fn encode_matches_aiographite_and_decodes_back() {
    let vectors = vectors();
    let cases = vectors["encode"].as_array().expect("encode cases");
    assert!(cases.len() >= 50, "vector file lost its cases");
    for case in cases {
        let input = as_str(&case["input"]);
        let encoded = as_str(&case["encoded"]);
        assert_eq!(encode_metric_part(input), encoded, "encode({input:?})");
        assert_eq!(
            decode_metric_part(encoded).as_deref(),
            Ok(input),
            "decode({encoded:?})"
        );
    }
}

#[test]
fn clean_and_join_matches_aiographite() {
    let vectors = vectors();
    let cases = vectors["clean_and_join_metric_parts"]
        .as_array()
        .expect("join cases");
    assert!(cases.len() >= 20, "vector file lost its cases");
    for case in cases {
        let parts: Vec<&str> = case["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .map(as_str)
            .collect();
        assert_eq!(
            clean_and_join_metric_parts(&parts),
            as_str(&case["joined"]),
            "{parts:?}"
        );
    }
}

#[test]
fn long_parts_encode_like_cpython() {
    // CPython: a 4,100-byte ASCII run then U+10FFFF; u32 punycode overflows here.
    let input = "a".repeat(4100) + "\u{10FFFF}";
    let encoded = encode_metric_part(&input);
    assert!(encoded.starts_with(&"a".repeat(4100)));
    assert_eq!(decode_metric_part(&encoded).as_deref(), Ok(input.as_str()));
}
