//! Carbon's pickle protocol.
//!
//! A frame is a 4-byte big-endian payload length, then a pickle of
//! `[(path, (timestamp, value)), ...]` (note the inner order: timestamp
//! first). Carbon refuses frames whose payload is longer than
//! `PICKLE_RECEIVER_MAX_LENGTH` (1 MiB by default) by dropping the
//! connection, so the encoder splits batches into as many frames as needed.
//!
//! We write protocol 2 without memo opcodes: floats travel as 8-byte binary
//! (no text formatting), and CPython's `pickle.loads` and carbon's restricted
//! unpickler read it. The decoder reads that, and what CPython's pickler makes
//! at protocols 0 to 5 for this data (memo, text and binary forms).

mod decode;
pub(crate) mod encode;

pub use decode::{
    Frame, FrameError, ItemError, ItemErrorKind, MEMORY_FLOOR, MEMORY_MULTIPLE, MalformedReason,
    PickleDecoder, decode_payload, memory_budget,
};
pub use encode::{PickleEncodeError, PickleEncoder};

/// Carbon's default `PICKLE_RECEIVER_MAX_LENGTH`: the longest payload (after
/// the 4-byte length) carbon accepts.
pub const DEFAULT_MAX_FRAME_LEN: usize = 1 << 20;

/// Opcodes of the pickle virtual machine used here (names as in CPython's
/// `pickle.py`).
mod op {
    pub(super) const MARK: u8 = b'(';
    pub(super) const STOP: u8 = b'.';
    pub(super) const INT: u8 = b'I';
    pub(super) const BININT: u8 = b'J';
    pub(super) const BININT1: u8 = b'K';
    pub(super) const LONG: u8 = b'L';
    pub(super) const BININT2: u8 = b'M';
    pub(super) const NONE: u8 = b'N';
    pub(super) const STRING: u8 = b'S';
    pub(super) const BINSTRING: u8 = b'T';
    pub(super) const SHORT_BINSTRING: u8 = b'U';
    pub(super) const UNICODE: u8 = b'V';
    pub(super) const BINUNICODE: u8 = b'X';
    pub(super) const APPEND: u8 = b'a';
    pub(super) const APPENDS: u8 = b'e';
    pub(super) const GET: u8 = b'g';
    pub(super) const BINGET: u8 = b'h';
    pub(super) const LONG_BINGET: u8 = b'j';
    pub(super) const LIST: u8 = b'l';
    pub(super) const EMPTY_LIST: u8 = b']';
    pub(super) const PUT: u8 = b'p';
    pub(super) const BINPUT: u8 = b'q';
    pub(super) const LONG_BINPUT: u8 = b'r';
    pub(super) const TUPLE: u8 = b't';
    pub(super) const EMPTY_TUPLE: u8 = b')';
    pub(super) const FLOAT: u8 = b'F';
    pub(super) const BINFLOAT: u8 = b'G';
    pub(super) const PROTO: u8 = 0x80;
    pub(super) const TUPLE1: u8 = 0x85;
    pub(super) const TUPLE2: u8 = 0x86;
    pub(super) const TUPLE3: u8 = 0x87;
    pub(super) const NEWTRUE: u8 = 0x88;
    pub(super) const NEWFALSE: u8 = 0x89;
    pub(super) const LONG1: u8 = 0x8a;
    pub(super) const LONG4: u8 = 0x8b;
    pub(super) const SHORT_BINUNICODE: u8 = 0x8c;
    pub(super) const BINUNICODE8: u8 = 0x8d;
    pub(super) const MEMOIZE: u8 = 0x94;
    pub(super) const FRAME: u8 = 0x95;
}
