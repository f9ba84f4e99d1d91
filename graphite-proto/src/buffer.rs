//! Checks for caller-owned output buffers.

use bytes::BufMut;

/// The output buffer had too little room; nothing was written to it.
///
/// Growable buffers (`Vec<u8>`, `BytesMut`) never produce this. Fixed ones
/// (`&mut [u8]`) do, where `bytes` would otherwise panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("output buffer too small: {required} bytes needed, {available} available")]
pub struct InsufficientSize {
    /// Bytes the encoding needs.
    pub required: usize,
    /// Bytes the buffer had room for.
    pub available: usize,
}

/// Fails unless `buf` can take `required` more bytes.
pub(crate) fn ensure_room(buf: &impl BufMut, required: usize) -> Result<(), InsufficientSize> {
    let available = buf.remaining_mut();
    if available < required {
        Err(InsufficientSize {
            required,
            available,
        })
    } else {
        Ok(())
    }
}
