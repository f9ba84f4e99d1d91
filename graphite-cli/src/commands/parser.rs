//! `graphite send`'s input parsed on a thread of its own: parsing runs on
//! one core while the sender encodes and writes on the other. Datapoints
//! cross over in batches on a bounded channel (one hand-over per batch, not
//! per line), and the vectors come back, datapoints and all, to be emptied
//! and filled again: a few vectors serve the whole input, and each
//! datapoint is dropped on the thread that made it (its name shares the
//! count of its block, which stays on one core).

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::{self, JoinHandle};

use graphite_cli::blocks::LineBlocks;
use graphite_cli::input;
use graphite_proto::Datapoint;

use super::send::unix_now;

/// Datapoints per batch, at least (whole blocks are parsed at once): enough
/// that a hand-over (a thread woken, a lock taken) is rare next to the work
/// it hands over.
const BATCH: usize = 8_192;

/// Batches parsed ahead of the sender: bounds the memory when carbon is
/// slower than the input (the parser then waits, and so does the input).
const AHEAD: usize = 2;

/// Vectors in circulation: those parsed ahead, the one being handed over
/// and the one being filled. The parser waits for one to come back rather
/// than allocate more.
const VECTORS: usize = AHEAD + 2;

/// One batch of parsed input.
pub(crate) struct Parsed {
    /// The valid datapoints, in input order.
    pub(crate) batch: Vec<Datapoint>,
    /// Lines read that were not blank, valid or not.
    pub(crate) lines: u64,
    /// Lines refused (each reported on stderr with its number).
    pub(crate) invalid: u64,
}

impl Parsed {
    fn new(batch: Vec<Datapoint>) -> Self {
        Self {
            batch,
            lines: 0,
            invalid: 0,
        }
    }
}

/// The parsing thread, and the two ends of its channels.
pub(crate) struct Parser {
    parsed: Receiver<Parsed>,
    empties: SyncSender<Vec<Datapoint>>,
    thread: JoinHandle<io::Result<()>>,
}

impl Parser {
    /// Starts parsing `reader` on a new thread.
    pub(crate) fn spawn(reader: Box<dyn Read + Send>) -> io::Result<Self> {
        let (tx, parsed) = mpsc::sync_channel(AHEAD);
        let (empties, returned) = mpsc::sync_channel(VECTORS);
        let thread = thread::Builder::new()
            .name("graphite-parse".into())
            .spawn(move || parse_all(reader, &tx, &returned))?;
        Ok(Self {
            parsed,
            empties,
            thread,
        })
    }

    /// The next batch, or `None` once the input is done.
    pub(crate) fn next(&self) -> Option<Parsed> {
        self.parsed.recv().ok()
    }

    /// Gives a handed-over batch back, to be emptied (on the parsing
    /// thread) and filled again.
    pub(crate) fn recycle(&self, batch: Vec<Datapoint>) {
        // Never full (it holds every vector there is); once the parser
        // has stopped, the batch is dropped here.
        let _ = self.empties.try_send(batch);
    }

    /// Waits for the thread: an error reading the input, if there was one.
    pub(crate) fn finish(self) -> io::Result<()> {
        drop(self.parsed);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the input's parsing thread panicked")))
    }
}

fn parse_all(
    reader: Box<dyn Read + Send>,
    tx: &SyncSender<Parsed>,
    empties: &Receiver<Vec<Datapoint>>,
) -> io::Result<()> {
    let mut blocks = LineBlocks::new(reader);
    let mut made = 1;
    let mut out = Parsed::new(Vec::with_capacity(BATCH));
    let mut first_line = 1;
    while let Some(block) = blocks.next_block()? {
        // One clock read per block: its lines arrived together.
        let counts = input::parse_block(&block, first_line, unix_now(), &mut out.batch, |e| {
            eprintln!("graphite: {e}");
        });
        first_line += counts.read;
        out.lines += counts.lines;
        out.invalid += counts.invalid;
        if out.batch.len() >= BATCH {
            let full = std::mem::replace(&mut out, Parsed::new(Vec::new()));
            let Some(empty) = (tx.send(full).is_ok())
                .then(|| next_empty(empties, &mut made))
                .flatten()
            else {
                // The sending side stopped: nothing more is wanted.
                return Ok(());
            };
            out.batch = empty;
        }
    }
    let _ = tx.send(out);
    Ok(())
}

/// A vector to fill: one handed back (emptied here), a new one while fewer
/// than [`VECTORS`] exist, or else the next one handed back. `None` once
/// the sending side has stopped.
fn next_empty(empties: &Receiver<Vec<Datapoint>>, made: &mut usize) -> Option<Vec<Datapoint>> {
    let mut batch = match empties.try_recv() {
        Ok(batch) => batch,
        Err(TryRecvError::Empty) if *made < VECTORS => {
            *made += 1;
            Vec::with_capacity(BATCH)
        }
        Err(_) => empties.recv().ok()?,
    };
    batch.clear();
    Some(batch)
}
