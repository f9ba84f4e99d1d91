//! Reading pickle frames: a small, bounded pickle virtual machine.
//!
//! Only data opcodes exist here (numbers, strings, tuples, lists, memo); any
//! opcode that would import or call something is an error, so no input can do
//! more than build data. Every object is backed by input bytes already
//! received: lengths in the input are checked against the bytes present
//! before anything is read, so working memory grows linearly with the frame
//! and never with what a length field claims.
//!
//! # Memory
//!
//! Linear is not enough: one byte of pickle can make a stack entry and an
//! object of 20 bytes, and a memo reference of two bytes can put the same
//! item in the list again, each becoming a decoded datapoint of
//! `size_of::<Result<Datapoint, ItemError>>()` bytes. So the decoder keeps
//! account of every buffer it grows (their capacities, the decoded frame
//! included) and refuses a frame whose decoding would take more than
//! [`MEMORY_MULTIPLE`] times its length plus [`MEMORY_FLOOR`], with
//! [`FrameError::OverBudget`]. A frame of carbon's 1 MiB maximum can
//! therefore hold at most 16 MiB and 64 KiB while it is decoded (the test
//! `tests/pickle_memory.rs` measures it with a counting allocator). Real
//! frames need well under half of that (measured at the maximum size: 4.2
//! times their length for CPython's protocol 2 with memo, 6.5 for this
//! crate's encoder), so none is refused.

use bytes::{Buf, Bytes, BytesMut};

use super::{DEFAULT_MAX_FRAME_LEN, op};
use crate::datapoint::{Datapoint, timestamp_from_f64};
use crate::path::{MetricPath, NameError};
use crate::plaintext::parse_value;
use crate::value::{Value, ValueError};

/// Working memory a frame may take while it is decoded, per byte of its
/// payload: see the module's notes on memory.
pub const MEMORY_MULTIPLE: usize = 16;

/// Working memory any frame may take, however short: small frames are
/// allowed their fixed costs.
pub const MEMORY_FLOOR: usize = 64 * 1024;

/// The working memory a frame of `len` payload bytes may take while it is
/// decoded: `MEMORY_MULTIPLE * len + MEMORY_FLOOR`.
///
/// ```
/// use graphite_proto::pickle::{DEFAULT_MAX_FRAME_LEN, memory_budget};
/// assert_eq!(memory_budget(DEFAULT_MAX_FRAME_LEN), 16 * (1 << 20) + 64 * 1024);
/// ```
pub const fn memory_budget(len: usize) -> usize {
    len.saturating_mul(MEMORY_MULTIPLE)
        .saturating_add(MEMORY_FLOOR)
}

/// A frame that cannot be read at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix is over the limit. Carbon drops the connection
    /// here; the stream cannot be resynchronised, so nothing was consumed.
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The announced payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not a pickle of a list. The frame was consumed;
    /// decoding can go on with the next one.
    #[error("malformed pickle at byte {offset}: {reason}")]
    Malformed {
        /// Offset in the payload.
        offset: usize,
        /// What was wrong.
        reason: MalformedReason,
    },
    /// Decoding the payload would take more memory than its
    /// [`memory_budget`]: a pickle built to inflate (many tiny objects,
    /// memo references repeated, a memo key far out). The frame was
    /// consumed; decoding can go on with the next one.
    #[error(
        "pickle of {len} bytes needs more than its {budget}-byte memory budget (at byte {offset})"
    )]
    OverBudget {
        /// Offset in the payload where the budget ran out.
        offset: usize,
        /// The payload's length.
        len: usize,
        /// The budget, [`memory_budget`] of `len`.
        budget: usize,
    },
}

/// Why a payload is not a usable pickle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedReason {
    /// The payload ended inside an opcode or before `STOP`.
    #[error("payload ends too early")]
    Truncated,
    /// An opcode this decoder does not run (imports, calls, dicts, ...).
    #[error("opcode {0:#04x} is not allowed")]
    UnsupportedOpcode(u8),
    /// An opcode needed more stack items than there were.
    #[error("stack underflow")]
    StackUnderflow,
    /// An opcode needed a mark and none was set.
    #[error("no mark on the stack")]
    NoMark,
    /// A memo lookup of a key never stored.
    #[error("memo key {0} was never stored")]
    MissingMemo(u64),
    /// `APPEND`/`APPENDS` on something that is not a list.
    #[error("append to a value that is not a list")]
    NotAList,
    /// A text-form number, string or memo key that does not parse.
    #[error("bad text argument")]
    BadText,
    /// The pickled value is not a list or tuple of items.
    #[error("top-level value is not a list of datapoints")]
    NotASequence,
}

/// One item of a frame that is not `(path, (timestamp, value))`. Carbon
/// skips such items one by one; so does this decoder, reporting each.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("item {index}: {kind}")]
pub struct ItemError {
    /// Index of the item in the frame's list.
    pub index: usize,
    /// What is wrong with it.
    pub kind: ItemErrorKind,
}

/// What is wrong with a pickled item.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ItemErrorKind {
    /// Not a pair `(path, (timestamp, value))`.
    #[error("not of the form (path, (timestamp, value))")]
    Shape,
    /// The path is not a string.
    #[error("path is not a string")]
    PathNotString,
    /// The path is not a valid metric name.
    #[error("path: {0}")]
    Name(#[from] NameError),
    /// The timestamp is not a number that fits in `i64` seconds.
    #[error("timestamp is not a number of seconds")]
    Timestamp,
    /// The value is not a number.
    #[error("value is not a number")]
    Value,
    /// The value is NaN or infinite.
    #[error("value: {0}")]
    NonFinite(#[from] ValueError),
}

/// The result of decoding one frame: one entry per item, in order.
pub type Frame = Vec<Result<Datapoint, ItemError>>;

/// A streaming decoder of carbon pickle frames.
///
/// ```
/// use bytes::BytesMut;
/// use graphite_proto::{pickle::{PickleDecoder, PickleEncoder}, Datapoint, MetricPath};
///
/// let dp = Datapoint::new(MetricPath::new("a.b")?, 1, 1_700_000_000);
/// let mut wire = BytesMut::new();
/// PickleEncoder::new().encode_batch(&[dp.clone()], &mut wire)?;
/// let mut decoder = PickleDecoder::new();
/// let frame = decoder.decode(&mut wire)?.expect("complete frame");
/// assert_eq!(frame, vec![Ok(dp)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct PickleDecoder {
    max_frame_len: usize,
}

impl Default for PickleDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl PickleDecoder {
    /// A decoder with carbon's default limit.
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A decoder refusing payloads longer than `max_frame_len`.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        Self { max_frame_len }
    }

    /// Decodes the next complete frame in `src`, consuming it.
    ///
    /// `Ok(None)`: `src` does not yet hold a whole frame. An oversized length
    /// prefix is an error at once, before its payload arrives.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let Some(header) = src.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > self.max_frame_len {
            return Err(FrameError::TooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        if src.len() < 4 + len {
            return Ok(None);
        }
        src.advance(4);
        let payload = src.split_to(len).freeze();
        decode_payload(&payload).map(Some)
    }
}

/// Unpickles one frame's payload (without the length prefix), within its
/// [`memory_budget`].
pub fn decode_payload(payload: &Bytes) -> Result<Frame, FrameError> {
    let mut vm = Machine::new(payload);
    let failed = |(offset, stop)| match stop {
        Stop::Malformed(reason) => FrameError::Malformed { offset, reason },
        Stop::OverBudget => FrameError::OverBudget {
            offset,
            len: payload.len(),
            budget: memory_budget(payload.len()),
        },
    };
    let root = vm.run().map_err(failed)?;
    // What the machine left of the budget pays for the decoded frame.
    let mut budget = std::mem::replace(&mut vm.budget, Budget { left: 0 });
    let Some(items) = vm.sequence(root) else {
        return Err(FrameError::Malformed {
            offset: payload.len(),
            reason: MalformedReason::NotASequence,
        });
    };
    let over = || failed((payload.len(), Stop::OverBudget));
    budget
        .charge(
            items
                .len()
                .saturating_mul(size_of::<Result<Datapoint, ItemError>>()),
        )
        .ok_or_else(over)?;
    let mut frame = Vec::with_capacity(items.len());
    for (index, &item) in items.iter().enumerate() {
        // A path that is copied rather than sliced (tagged, or protocol-0
        // text) costs its bytes again, and a little more.
        let copied = vm.copied_path_len(item);
        if copied > 0 {
            budget
                .charge(copied.saturating_mul(2).saturating_add(COPY_OVERHEAD))
                .ok_or_else(over)?;
        }
        frame.push(vm.datapoint(item).map_err(|kind| ItemError { index, kind }));
    }
    Ok(frame)
}

/// What a copied path costs beyond twice its length: the allocations'
/// headers and the tag list made while it is checked.
const COPY_OVERHEAD: usize = 128;

/// A pickled object, 16 bytes. Strings are ranges of the payload;
/// containers hold indices into [`Machine::objects`].
#[derive(Clone, Copy, Debug)]
enum Obj {
    Int(i64),
    /// Above `i64::MAX`, up to `u64::MAX`.
    UInt(u64),
    /// Beyond 64 bits but within 128: used as a float, as before.
    Wide(f64),
    BigInt,
    Float(f64),
    /// Text or bytes: `start..start + len` of the payload.
    Str {
        start: u32,
        len: u32,
    },
    /// `children[start..start + len]`.
    Tuple {
        start: u32,
        len: u32,
    },
    /// Index into [`Machine::lists`] (lists are mutable).
    List(u32),
    /// Index into [`Machine::texts`]: protocol-0 text that had escapes.
    Text(u32),
    None,
}

impl Obj {
    fn int(i: i128) -> Self {
        i64::try_from(i)
            .map(Self::Int)
            .or_else(|_| u64::try_from(i).map(Self::UInt))
            .unwrap_or(Self::Wide(i as f64))
    }
}

/// Why the machine stopped.
#[derive(Clone, Copy, Debug)]
enum Stop {
    Malformed(MalformedReason),
    OverBudget,
}

type Fail = (usize, Stop);

/// Bytes of working memory left to a frame.
#[derive(Debug)]
struct Budget {
    left: usize,
}

impl Budget {
    /// Takes `bytes` from what is left; `None` when there is not enough.
    #[must_use]
    fn charge(&mut self, bytes: usize) -> Option<()> {
        self.left = self.left.checked_sub(bytes)?;
        Some(())
    }

    /// Makes room in `v` for `additional` more elements, charging what its
    /// capacity grows by. Growth doubles, as `Vec` does, but never past
    /// what is left: the capacities never add up to more than the budget.
    #[must_use]
    fn reserve<T>(&mut self, v: &mut Vec<T>, additional: usize) -> Option<()> {
        let needed = v.len().checked_add(additional)?;
        let old = v.capacity();
        if needed <= old {
            return Some(());
        }
        let size = size_of::<T>().max(1);
        let affordable = old.saturating_add(self.left / size);
        if needed > affordable {
            return None;
        }
        let target = needed.max(old.saturating_mul(2)).max(4).min(affordable);
        v.reserve_exact(target - v.len());
        self.charge((v.capacity() - old).saturating_mul(size))
    }
}

/// Stack entries are object indices; `MARK` is kept apart, as CPython's
/// metastack does.
struct Machine<'a> {
    input: &'a Bytes,
    pos: usize,
    budget: Budget,
    objects: Vec<Obj>,
    children: Vec<u32>,
    lists: Vec<Vec<u32>>,
    texts: Vec<String>,
    stack: Vec<u32>,
    marks: Vec<u32>,
    /// Memo key to object; [`NO_MEMO`] where no key was stored. Dense, as
    /// picklers number their memo from 0; a key far out is paid for.
    memo: Vec<u32>,
    /// Keys stored, for `MEMOIZE` (CPython's `len(memo)`).
    memo_len: u64,
}

const NO_MEMO: u32 = u32::MAX;

impl<'a> Machine<'a> {
    fn new(input: &'a Bytes) -> Self {
        Self {
            input,
            pos: 0,
            budget: Budget {
                left: memory_budget(input.len()),
            },
            objects: Vec::new(),
            children: Vec::new(),
            lists: Vec::new(),
            texts: Vec::new(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Vec::new(),
            memo_len: 0,
        }
    }

    fn fail(&self, reason: MalformedReason) -> Fail {
        (self.pos, Stop::Malformed(reason))
    }

    fn over_budget(&self) -> Fail {
        (self.pos, Stop::OverBudget)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Fail> {
        let input: &'a [u8] = self.input;
        let bytes = self
            .pos
            .checked_add(n)
            .and_then(|end| input.get(self.pos..end))
            .ok_or(self.fail(MalformedReason::Truncated))?;
        self.pos += n;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], Fail> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// A text argument up to its newline (protocol 0).
    fn take_line(&mut self) -> Result<&'a str, Fail> {
        let input: &'a [u8] = self.input;
        let rest = &input[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(self.fail(MalformedReason::Truncated))?;
        let line =
            std::str::from_utf8(&rest[..end]).map_err(|_| self.fail(MalformedReason::BadText))?;
        self.pos += end + 1;
        Ok(line)
    }

    /// Pushes an object index on the stack.
    fn push_index(&mut self, index: u32) -> Result<(), Fail> {
        self.budget
            .reserve(&mut self.stack, 1)
            .ok_or(self.over_budget())?;
        self.stack.push(index);
        Ok(())
    }

    fn push(&mut self, obj: Obj) -> Result<(), Fail> {
        self.budget
            .reserve(&mut self.objects, 1)
            .ok_or(self.over_budget())?;
        let index = self.objects.len() as u32;
        self.objects.push(obj);
        self.push_index(index)
    }

    fn push_str(&mut self, len: usize) -> Result<(), Fail> {
        let start = self.pos;
        self.take(len)?;
        self.push(Obj::Str {
            start: start as u32,
            len: len as u32,
        })
    }

    fn pop(&mut self) -> Result<u32, Fail> {
        if self
            .marks
            .last()
            .is_some_and(|&m| m as usize >= self.stack.len())
        {
            return Err(self.fail(MalformedReason::StackUnderflow));
        }
        self.stack
            .pop()
            .ok_or(self.fail(MalformedReason::StackUnderflow))
    }

    /// Where the innermost mark's items start on the stack (the mark is
    /// popped).
    fn pop_mark(&mut self) -> Result<usize, Fail> {
        self.marks
            .pop()
            .map(|m| m as usize)
            .ok_or(self.fail(MalformedReason::NoMark))
    }

    /// Where the top `n` items start, if they are above the innermost mark.
    fn top_n(&self, n: usize) -> Result<usize, Fail> {
        let floor = self.marks.last().map_or(0, |&m| m as usize);
        if self.stack.len() < floor + n {
            return Err(self.fail(MalformedReason::StackUnderflow));
        }
        Ok(self.stack.len() - n)
    }

    /// Replaces `stack[from..]` by a tuple of them.
    fn make_tuple(&mut self, from: usize) -> Result<(), Fail> {
        let len = self.stack.len() - from;
        self.budget
            .reserve(&mut self.children, len)
            .ok_or(self.over_budget())?;
        let start = self.children.len() as u32;
        self.children.extend_from_slice(&self.stack[from..]);
        self.stack.truncate(from);
        self.push(Obj::Tuple {
            start,
            len: len as u32,
        })
    }

    /// Replaces `stack[from..]` by a list of them.
    fn make_list(&mut self, from: usize) -> Result<(), Fail> {
        self.budget
            .reserve(&mut self.lists, 1)
            .ok_or(self.over_budget())?;
        let mut items = Vec::new();
        self.budget
            .reserve(&mut items, self.stack.len() - from)
            .ok_or(self.over_budget())?;
        items.extend_from_slice(&self.stack[from..]);
        self.stack.truncate(from);
        self.lists.push(items);
        self.push(Obj::List(self.lists.len() as u32 - 1))
    }

    /// Appends `stack[from..]` to the list just below them.
    fn append_from(&mut self, from: usize) -> Result<(), Fail> {
        let Some(&list) = from.checked_sub(1).and_then(|i| self.stack.get(i)) else {
            return Err(self.fail(MalformedReason::StackUnderflow));
        };
        let Obj::List(l) = self.objects[list as usize] else {
            return Err(self.fail(MalformedReason::NotAList));
        };
        let items = &mut self.lists[l as usize];
        self.budget
            .reserve(items, self.stack.len() - from)
            .ok_or((self.pos, Stop::OverBudget))?;
        items.extend_from_slice(&self.stack[from..]);
        self.stack.truncate(from);
        Ok(())
    }

    fn memo_put(&mut self, key: u64) -> Result<(), Fail> {
        let top = *self
            .stack
            .last()
            .ok_or(self.fail(MalformedReason::StackUnderflow))?;
        let slot = usize::try_from(key).map_err(|_| self.over_budget())?;
        if slot >= self.memo.len() {
            let more = slot - self.memo.len() + 1;
            self.budget
                .reserve(&mut self.memo, more)
                .ok_or(self.over_budget())?;
            self.memo.resize(slot + 1, NO_MEMO);
        }
        if self.memo[slot] == NO_MEMO {
            self.memo_len += 1;
        }
        self.memo[slot] = top;
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), Fail> {
        let obj = usize::try_from(key)
            .ok()
            .and_then(|slot| self.memo.get(slot))
            .copied()
            .filter(|&obj| obj != NO_MEMO)
            .ok_or(self.fail(MalformedReason::MissingMemo(key)))?;
        self.push_index(obj)
    }

    fn push_long(&mut self, bytes: &[u8]) -> Result<(), Fail> {
        let obj = if bytes.is_empty() {
            Obj::Int(0)
        } else if bytes.len() <= 16 {
            let fill = if bytes[bytes.len() - 1] & 0x80 != 0 {
                0xff
            } else {
                0
            };
            let mut le = [fill; 16];
            le[..bytes.len()].copy_from_slice(bytes);
            Obj::int(i128::from_le_bytes(le))
        } else {
            Obj::BigInt
        };
        self.push(obj)
    }

    fn text_number(&self, text: &str) -> Result<Obj, Fail> {
        let text = text.strip_suffix('L').unwrap_or(text);
        if let Ok(i) = text.parse::<i128>() {
            return Ok(Obj::int(i));
        }
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !text.is_empty() {
            return Ok(Obj::BigInt);
        }
        Err(self.fail(MalformedReason::BadText))
    }

    /// Protocol 0's `V` argument, up to its newline, decoded and kept.
    fn push_unicode(&mut self) -> Result<(), Fail> {
        let start = self.pos;
        let end = self.input[start..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(self.fail(MalformedReason::Truncated))?;
        let raw = &self.input[start..start + end];
        // Latin-1 bytes take two bytes of UTF-8: at most twice the input.
        let most = raw.len().saturating_mul(2);
        self.budget
            .reserve(&mut self.texts, 1)
            .and_then(|()| self.budget.charge(most))
            .ok_or(self.over_budget())?;
        let text =
            raw_unicode_escape(raw).ok_or((start, Stop::Malformed(MalformedReason::BadText)))?;
        self.budget.left += most.saturating_sub(text.capacity());
        self.pos += end + 1;
        self.texts.push(text);
        self.push(Obj::Text(self.texts.len() as u32 - 1))
    }

    /// Runs to `STOP` and returns the result object.
    fn run(&mut self) -> Result<u32, Fail> {
        loop {
            let [code] = self.take_array::<1>()?;
            match code {
                op::STOP => return self.pop(),
                op::PROTO => {
                    self.take(1)?;
                }
                op::FRAME => {
                    self.take(8)?;
                }
                op::MARK => {
                    self.budget
                        .reserve(&mut self.marks, 1)
                        .ok_or(self.over_budget())?;
                    self.marks.push(self.stack.len() as u32);
                }
                op::EMPTY_LIST => self.make_list(self.stack.len())?,
                op::LIST => {
                    let from = self.pop_mark()?;
                    self.make_list(from)?;
                }
                op::EMPTY_TUPLE => self.make_tuple(self.stack.len())?,
                op::TUPLE => {
                    let from = self.pop_mark()?;
                    self.make_tuple(from)?;
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let from = self.top_n(usize::from(code - op::TUPLE1 + 1))?;
                    self.make_tuple(from)?;
                }
                op::APPEND => {
                    let from = self.top_n(1)?;
                    self.append_from(from)?;
                }
                op::APPENDS => {
                    let from = self.pop_mark()?;
                    self.append_from(from)?;
                }
                op::BININT => {
                    let v = i32::from_le_bytes(self.take_array()?);
                    self.push(Obj::Int(i64::from(v)))?;
                }
                op::BININT1 => {
                    let [v] = self.take_array()?;
                    self.push(Obj::Int(i64::from(v)))?;
                }
                op::BININT2 => {
                    let v = u16::from_le_bytes(self.take_array()?);
                    self.push(Obj::Int(i64::from(v)))?;
                }
                op::LONG1 => {
                    let [n] = self.take_array()?;
                    let bytes = self.take(usize::from(n))?;
                    self.push_long(bytes)?;
                }
                op::LONG4 => {
                    let n = i32::from_le_bytes(self.take_array()?);
                    let n = usize::try_from(n).map_err(|_| self.fail(MalformedReason::BadText))?;
                    let bytes = self.take(n)?;
                    self.push_long(bytes)?;
                }
                op::INT => {
                    let obj = match self.take_line()? {
                        "00" => Obj::Int(0),
                        "01" => Obj::Int(1),
                        text => self.text_number(text)?,
                    };
                    self.push(obj)?;
                }
                op::LONG => {
                    let text = self.take_line()?;
                    let obj = self.text_number(text)?;
                    self.push(obj)?;
                }
                op::FLOAT => {
                    let text = self.take_line()?;
                    let v = text
                        .parse()
                        .map_err(|_| self.fail(MalformedReason::BadText))?;
                    self.push(Obj::Float(v))?;
                }
                op::BINFLOAT => {
                    let v = f64::from_be_bytes(self.take_array()?);
                    self.push(Obj::Float(v))?;
                }
                op::BINUNICODE | op::BINSTRING => {
                    let n = u32::from_le_bytes(self.take_array()?);
                    self.push_str(n as usize)?;
                }
                op::SHORT_BINUNICODE | op::SHORT_BINSTRING => {
                    let [n] = self.take_array()?;
                    self.push_str(usize::from(n))?;
                }
                op::BINUNICODE8 => {
                    let n = u64::from_le_bytes(self.take_array()?);
                    let n =
                        usize::try_from(n).map_err(|_| self.fail(MalformedReason::Truncated))?;
                    self.push_str(n)?;
                }
                op::STRING => {
                    // Protocol 0 `'...'`; Python-2 escapes are refused
                    // rather than guessed.
                    let start = self.pos;
                    let line = self.take_line()?;
                    let body = line
                        .strip_prefix('\'')
                        .and_then(|l| l.strip_suffix('\''))
                        .or_else(|| line.strip_prefix('"').and_then(|l| l.strip_suffix('"')))
                        .filter(|body| !body.contains('\\'))
                        .ok_or((start, Stop::Malformed(MalformedReason::BadText)))?;
                    self.push(Obj::Str {
                        start: (start + 1) as u32,
                        len: body.len() as u32,
                    })?;
                }
                op::UNICODE => self.push_unicode()?,
                op::NONE => self.push(Obj::None)?,
                op::NEWTRUE => self.push(Obj::Int(1))?,
                op::NEWFALSE => self.push(Obj::Int(0))?,
                op::BINPUT => {
                    let [k] = self.take_array()?;
                    self.memo_put(u64::from(k))?;
                }
                op::LONG_BINPUT => {
                    let k = u32::from_le_bytes(self.take_array()?);
                    self.memo_put(u64::from(k))?;
                }
                op::PUT => {
                    let k = self
                        .take_line()?
                        .parse()
                        .map_err(|_| self.fail(MalformedReason::BadText))?;
                    self.memo_put(k)?;
                }
                op::MEMOIZE => self.memo_put(self.memo_len)?,
                op::BINGET => {
                    let [k] = self.take_array()?;
                    self.memo_get(u64::from(k))?;
                }
                op::LONG_BINGET => {
                    let k = u32::from_le_bytes(self.take_array()?);
                    self.memo_get(u64::from(k))?;
                }
                op::GET => {
                    let k = self
                        .take_line()?
                        .parse()
                        .map_err(|_| self.fail(MalformedReason::BadText))?;
                    self.memo_get(k)?;
                }
                other => {
                    return Err((
                        self.pos - 1,
                        Stop::Malformed(MalformedReason::UnsupportedOpcode(other)),
                    ));
                }
            }
        }
    }

    /// The elements of a tuple or list.
    fn sequence(&self, obj: u32) -> Option<&[u32]> {
        match self.objects[obj as usize] {
            Obj::Tuple { start, len } => {
                Some(&self.children[start as usize..(start + len) as usize])
            }
            Obj::List(l) => Some(&self.lists[l as usize]),
            _ => None,
        }
    }

    fn pair(&self, obj: u32) -> Result<(u32, u32), ItemErrorKind> {
        match self.sequence(obj) {
            Some(&[a, b]) => Ok((a, b)),
            _ => Err(ItemErrorKind::Shape),
        }
    }

    /// The length of an item's path if making it copies the path (tagged
    /// names are rewritten, protocol-0 text was decoded); 0 if the path is
    /// a slice of the payload or the item is refused before.
    fn copied_path_len(&self, item: u32) -> usize {
        let Ok((path, _)) = self.pair(item) else {
            return 0;
        };
        match self.objects[path as usize] {
            Obj::Str { start, len } => {
                let bytes = &self.input[start as usize..(start + len) as usize];
                if bytes.contains(&b';') {
                    bytes.len()
                } else {
                    0
                }
            }
            Obj::Text(t) => self.texts[t as usize].len(),
            _ => 0,
        }
    }

    fn number(&self, obj: u32) -> Option<Value> {
        match self.objects[obj as usize] {
            Obj::Int(i) => Some(Value::Int(i)),
            Obj::UInt(u) => Some(Value::UInt(u)),
            Obj::Wide(f) | Obj::Float(f) => Some(Value::Float(f)),
            Obj::Str { start, len } => {
                let text = std::str::from_utf8(&self.input[start as usize..(start + len) as usize])
                    .ok()?;
                parse_value(text.trim()).ok()
            }
            Obj::Text(t) => parse_value(self.texts[t as usize].trim()).ok(),
            Obj::BigInt | Obj::Tuple { .. } | Obj::List(_) | Obj::None => None,
        }
    }

    fn datapoint(&self, item: u32) -> Result<Datapoint, ItemErrorKind> {
        let (path, point) = self.pair(item)?;
        let (stamp, value) = self.pair(point)?;
        let path = match self.objects[path as usize] {
            Obj::Str { start, len } => {
                MetricPath::from_bytes(self.input.slice(start as usize..(start + len) as usize))?
            }
            Obj::Text(t) => MetricPath::new(&self.texts[t as usize])?,
            _ => return Err(ItemErrorKind::PathNotString),
        };
        let timestamp = match self.number(stamp).ok_or(ItemErrorKind::Timestamp)? {
            Value::Int(i) => i,
            Value::Float(f) => timestamp_from_f64(f).ok_or(ItemErrorKind::Timestamp)?,
            Value::UInt(_) => return Err(ItemErrorKind::Timestamp),
        };
        let value = match self.number(value).ok_or(ItemErrorKind::Value)? {
            Value::Float(f) => Value::float(f)?,
            v => v,
        };
        Ok(Datapoint {
            path,
            value,
            timestamp,
        })
    }
}

/// Decodes CPython's `raw-unicode-escape`: bytes are Latin-1, except
/// `\\uXXXX` and `\\UXXXXXXXX`, which name a code point.
fn raw_unicode_escape(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            (b, _) => {
                out.push(char::from(b));
                i += 1;
                continue;
            }
        };
        let hex = std::str::from_utf8(bytes.get(i + 2..i + 2 + digits)?).ok()?;
        out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
        i += 2 + digits;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(payload: &[u8]) -> Result<Frame, FrameError> {
        decode_payload(&Bytes::copy_from_slice(payload))
    }

    #[test]
    fn reads_cpython_protocol_2_with_memo() {
        // pickle.dumps([('a.b', (1700000000, 1.5)), ('c', (5, -3))], protocol=2)
        let payload = b"\x80\x02]q\x00(X\x03\x00\x00\x00a.bq\x01J\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00\x86q\x02\x86q\x03X\x01\x00\x00\x00cq\x04K\x05J\xfd\xff\xff\xff\x86q\x05\x86q\x06e.";
        let frame = decode(payload).expect("valid");
        let got: Vec<_> = frame.into_iter().map(|r| r.expect("item")).collect();
        assert_eq!(got[0].path.as_str(), "a.b");
        assert_eq!(
            (got[0].timestamp, got[0].value),
            (1_700_000_000, Value::Float(1.5))
        );
        assert_eq!((got[1].timestamp, got[1].value), (5, Value::Int(-3)));
    }

    #[test]
    fn reads_protocol_0_text() {
        // pickle.dumps([('a', (10, 2.5))], protocol=0)
        let payload = b"(lp0\n(Va\np1\n(I10\nF2.5\ntp2\ntp3\na.";
        let frame = decode(payload).expect("valid");
        let dp = frame[0].as_ref().expect("item");
        assert_eq!(
            (dp.path.as_str(), dp.timestamp, dp.value),
            ("a", 10, Value::Float(2.5))
        );
    }

    #[test]
    fn reads_protocol_0_escaped_unicode() {
        // pickle.dumps([('Mü\\x日', (10, 2.5))], protocol=0)
        let payload = b"(lp0\n(VM\xfc\\u005cx\\u65e5\np1\n(I10\nF2.5\ntp2\ntp3\na.";
        let frame = decode(payload).expect("valid");
        assert_eq!(frame[0].as_ref().expect("item").path.as_str(), "Mü\\x日");
    }

    #[test]
    fn bad_items_are_skipped_one_by_one() {
        // [('a', (1, 2)), ('b b', (1, 2)), ('c', None), ('d', (1, nan))]
        let mut p = b"\x80\x02](".to_vec();
        p.extend_from_slice(b"X\x01\x00\x00\x00aK\x01K\x02\x86\x86");
        p.extend_from_slice(b"X\x03\x00\x00\x00b bK\x01K\x02\x86\x86");
        p.extend_from_slice(b"X\x01\x00\x00\x00cN\x86");
        p.extend_from_slice(b"X\x01\x00\x00\x00dK\x01G\x7f\xf8\x00\x00\x00\x00\x00\x00\x86\x86");
        p.extend_from_slice(b"e.");
        let frame = decode(&p).expect("valid frame");
        assert!(frame[0].is_ok());
        assert!(matches!(
            frame[1],
            Err(ItemError {
                index: 1,
                kind: ItemErrorKind::Name(_)
            })
        ));
        assert!(matches!(
            frame[2],
            Err(ItemError {
                index: 2,
                kind: ItemErrorKind::Shape
            })
        ));
        assert!(matches!(
            frame[3],
            Err(ItemError {
                index: 3,
                kind: ItemErrorKind::NonFinite(ValueError::NaN)
            })
        ));
    }

    #[test]
    fn hostile_payloads_are_errors() {
        let malformed = |p: &[u8]| match decode(p) {
            Err(FrameError::Malformed { reason, .. }) => reason,
            other => panic!("{p:?}: {other:?}"),
        };
        assert_eq!(malformed(b""), MalformedReason::Truncated);
        assert_eq!(
            malformed(b"X\xff\xff\xff\xffab."),
            MalformedReason::Truncated
        );
        assert_eq!(
            malformed(b"cos\nsystem\n."),
            MalformedReason::UnsupportedOpcode(b'c')
        );
        assert_eq!(malformed(b"."), MalformedReason::StackUnderflow);
        assert_eq!(malformed(b"h\x05."), MalformedReason::MissingMemo(5));
        assert_eq!(malformed(b"K\x01K\x02e."), MalformedReason::NoMark);
        assert_eq!(malformed(b"K\x01."), MalformedReason::NotASequence);
        assert_eq!(malformed(b"(K\x01\x86."), MalformedReason::StackUnderflow);
    }

    #[test]
    fn oversized_frames_are_refused_before_their_payload() {
        let mut decoder = PickleDecoder::with_max_frame_len(100);
        let mut src = BytesMut::from(&[0, 0, 0, 101][..]);
        assert_eq!(
            decoder.decode(&mut src),
            Err(FrameError::TooLarge { len: 101, max: 100 })
        );
        let mut partial = BytesMut::from(&[0, 0, 0, 50, b'.'][..]);
        assert_eq!(decoder.decode(&mut partial), Ok(None));
    }
}
