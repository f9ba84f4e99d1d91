//! Arbitrary bytes, in arbitrary chunks, through the streaming plaintext decoder.
#![no_main]

use bytes::BytesMut;
use graphite_proto::plaintext::PlaintextDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else { return };
    let mut decoder = PlaintextDecoder::with_max_line_len(256);
    let mut src = BytesMut::new();
    for piece in data.chunks(usize::from(chunk).max(1)) {
        src.extend_from_slice(piece);
        while let Some(result) = decoder.decode(&mut src) {
            if let Ok(dp) = result {
                assert!(!dp.path.as_str().contains(char::is_whitespace));
            }
        }
        assert!(src.len() <= 256 + piece.len(), "decoder kept more than one line");
    }
    while decoder.decode_eof(&mut src).is_some() {}
});
