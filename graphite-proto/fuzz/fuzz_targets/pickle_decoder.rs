//! Arbitrary bytes as pickle frames: no panic, and what decodes re-encodes.
#![no_main]

use bytes::BytesMut;
use graphite_proto::pickle::{PickleDecoder, PickleEncoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = PickleDecoder::with_max_frame_len(1 << 16);
    let mut src = BytesMut::from(data);
    while let Ok(Some(frame)) = decoder.decode(&mut src) {
        let good: Vec<_> = frame.into_iter().filter_map(Result::ok).collect();
        let mut wire = BytesMut::new();
        PickleEncoder::new().encode_batch(&good, &mut wire).expect("decoded datapoints encode");
    }
});
