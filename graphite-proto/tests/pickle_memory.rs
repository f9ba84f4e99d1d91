//! The pickle decoder's memory, measured by the allocator: decoding a frame
//! of carbon's maximum size never takes more than its `memory_budget`
//! (`MEMORY_MULTIPLE` times its length plus `MEMORY_FLOOR`), whatever the
//! frame is built to do; real frames decode well inside it.
//!
//! One test in this binary, so that no other test allocates while it
//! measures.
// A global allocator cannot be written without `unsafe`; it only forwards
// to the system allocator and counts. The library itself forbids unsafe.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use graphite_proto::pickle::{
    DEFAULT_MAX_FRAME_LEN, FrameError, MEMORY_MULTIPLE, PickleEncoder, decode_payload,
    memory_budget,
};
use graphite_proto::{Datapoint, MetricPath, Value};

/// Counts the bytes allocated now and the most at any moment since reset.
struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = NOW.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters do
// not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the change in size: the allocator may grow in place.
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            NOW.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Decodes `payload` and returns the result with the most bytes held at
/// once during the call, the decoded frame included.
fn measured(payload: &Bytes) -> (Result<usize, FrameError>, usize) {
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = decode_payload(payload);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    (result.map(|frame| frame.len()), peak)
}

const MAX: usize = DEFAULT_MAX_FRAME_LEN;

/// `head`, then `unit` repeated to fill a frame of the maximum size less
/// `tail`, then `tail`.
fn filled(head: &[u8], unit: &[u8], tail: &[u8]) -> Bytes {
    let mut p = head.to_vec();
    while p.len() + unit.len() + tail.len() <= MAX {
        p.extend_from_slice(unit);
    }
    p.extend_from_slice(tail);
    Bytes::from(p)
}

/// A real frame from this crate's encoder, as large as carbon takes.
fn encoded_frame(name: &str) -> Bytes {
    let path = MetricPath::new(name).expect("valid name");
    let batch: Vec<Datapoint> = (0..200_000)
        .map(|i| {
            let value = Value::try_from(i as f64 / 7.0).expect("finite");
            Datapoint::new(path.clone(), value, 1_700_000_000 + i)
        })
        .collect();
    let mut wire = BytesMut::new();
    PickleEncoder::new()
        .encode_batch(&batch, &mut wire)
        .expect("encodes");
    let len = u32::from_be_bytes([wire[0], wire[1], wire[2], wire[3]]) as usize;
    wire.split_to(4 + len).freeze().slice(4..)
}

/// What CPython's `pickle.dumps(items, protocol=2)` makes: the name and
/// both tuples of each item memoised.
fn cpython_protocol_2() -> Bytes {
    let mut item = Vec::new();
    let mut key = 1_u32;
    let mut body = Vec::new();
    while body.len() + 64 < MAX {
        item.clear();
        let name = format!("servers.web{}.cpu", key % 100);
        item.push(b'X');
        item.extend_from_slice(&(name.len() as u32).to_le_bytes());
        item.extend_from_slice(name.as_bytes());
        item.push(b'r');
        item.extend_from_slice(&key.to_le_bytes());
        item.push(b'J');
        item.extend_from_slice(&1_700_000_000_i32.to_le_bytes());
        item.push(b'G');
        item.extend_from_slice(&1.5_f64.to_be_bytes());
        item.push(0x86);
        item.push(b'r');
        item.extend_from_slice(&(key + 1).to_le_bytes());
        item.push(0x86);
        item.push(b'r');
        item.extend_from_slice(&(key + 2).to_le_bytes());
        key += 3;
        body.extend_from_slice(&item);
    }
    let mut p = b"\x80\x02]q\x00(".to_vec();
    p.extend_from_slice(&body);
    p.extend_from_slice(b"e.");
    Bytes::from(p)
}

#[test]
fn no_frame_takes_more_than_its_budget() {
    // What the allocator does besides the accounted buffers (a few small
    // allocations of the error or the frame).
    const SLACK: usize = 4096;
    let item = b"X\x01\x00\x00\x00aK\x01K\x02\x86\x86q\x01";
    let hostile: [(&str, Bytes); 9] = [
        ("None, over and over", filled(b"", b"N", b".")),
        ("empty lists", filled(b"", b"]", b".")),
        ("empty tuples", filled(b"", b")", b".")),
        ("marks", filled(b"", b"(", b".")),
        ("small ints", filled(b"", b"K\x01", b".")),
        (
            "one item referenced again and again",
            filled(&[&b"\x80\x02]q\x00("[..], item].concat(), b"h\x01", b"e."),
        ),
        (
            "a memo key far out",
            Bytes::from_static(b"Nr\xff\xff\xff\x7f."),
        ),
        (
            "tagged names, rewritten",
            filled(
                b"\x80\x02](",
                b"X\x0b\x00\x00\x00b;z=1;a=2;cK\x01K\x02\x86\x86",
                b"e.",
            ),
        ),
        (
            "latin-1 text",
            filled(b"(lp0\n(V", b"\xff", b"\np1\n(I10\nF2.5\ntp2\ntp3\na."),
        ),
    ];
    for (what, payload) in &hostile {
        let budget = memory_budget(payload.len());
        let (result, peak) = measured(payload);
        println!(
            "{what}: {} bytes, peak {peak} ({:.1} per byte), {result:?}",
            payload.len(),
            peak as f64 / payload.len() as f64
        );
        assert!(
            peak <= budget + SLACK,
            "{what}: {peak} bytes held, budget {budget}"
        );
    }
    let over = |p: &Bytes| matches!(measured(p).0, Err(FrameError::OverBudget { .. }));
    assert!(over(&hostile[0].1), "None flood refused");
    assert!(over(&hostile[1].1), "list flood refused");
    assert!(over(&hostile[5].1), "memo references refused");
    assert!(over(&hostile[6].1), "far memo key refused");

    // Real frames are nowhere near the budget.
    let real = [
        ("this crate's encoder", encoded_frame("servers.web1.cpu")),
        (
            "this crate's encoder, tagged",
            encoded_frame("cpu;dc=eu;host=web1"),
        ),
        ("CPython protocol 2, memo", cpython_protocol_2()),
    ];
    for (what, payload) in &real {
        let (result, peak) = measured(payload);
        let per_byte = peak as f64 / payload.len() as f64;
        println!(
            "{what}: {} bytes, peak {peak} ({per_byte:.1} per byte), {result:?}",
            payload.len()
        );
        assert!(
            result.as_ref().is_ok_and(|&items| items > 1000),
            "{what}: {result:?}"
        );
        assert!(
            per_byte < MEMORY_MULTIPLE as f64 / 2.0,
            "{what}: {per_byte:.1} bytes per byte leaves too little margin"
        );
    }
}
