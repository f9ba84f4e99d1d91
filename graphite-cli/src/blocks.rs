//! Input read a block of whole lines at a time, so that a datapoint's name
//! can be a slice of the block (a reference count, not a copy) and no line
//! costs an allocation of its own.

use std::io::{self, Read};
use std::ops::Range;

use bytes::{Bytes, BytesMut};

/// Bytes asked of the reader at once. Large enough that a block holds
/// thousands of lines; small enough to stay in the cache.
const READ_SIZE: usize = 256 * 1024;

/// Splits a reader into blocks that end at a line end.
///
/// ```
/// use graphite_cli::blocks::{LineBlocks, lines};
///
/// let mut blocks = LineBlocks::new(&b"a 1\nb 2\nc 3"[..]);
/// let mut all = Vec::new();
/// while let Some(block) = blocks.next_block()? {
///     all.extend(lines(&block).map(|r| block[r].to_vec()));
/// }
/// assert_eq!(all, [b"a 1".to_vec(), b"b 2".to_vec(), b"c 3".to_vec()]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct LineBlocks<R> {
    reader: R,
    /// Read but not yet handed out: the start of a line whose end has not
    /// arrived.
    pending: BytesMut,
    done: bool,
}

impl<R: Read> LineBlocks<R> {
    /// Reads `reader` a block at a time.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            pending: BytesMut::new(),
            done: false,
        }
    }

    /// The next block: whole lines, each ending in `\n` except perhaps the
    /// input's last. `None` at the end of the input.
    pub fn next_block(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(last) = memchr::memrchr(b'\n', &self.pending) {
                return Ok(Some(self.pending.split_to(last + 1).freeze()));
            }
            if self.done {
                return Ok((!self.pending.is_empty()).then(|| self.pending.split().freeze()));
            }
            // A fresh buffer each time: the previous block is shared with the
            // datapoints made from it until they are handed over.
            let filled = self.pending.len();
            self.pending.resize(filled + READ_SIZE, 0);
            let n = loop {
                match self.reader.read(&mut self.pending[filled..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            };
            let n = n.inspect_err(|_| self.pending.truncate(filled))?;
            self.pending.truncate(filled + n);
            self.done = n == 0;
        }
    }
}

/// The lines of a block, without their `\n`, as ranges of it.
pub fn lines(block: &[u8]) -> Lines<'_> {
    Lines {
        block,
        start: 0,
        ends: memchr::memchr_iter(b'\n', block),
    }
}

/// The lines of a block, as ranges: see [`lines`].
#[derive(Debug)]
pub struct Lines<'a> {
    block: &'a [u8],
    start: usize,
    ends: memchr::Memchr<'a>,
}

impl Iterator for Lines<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let end = match self.ends.next() {
            Some(end) => end,
            // The input's last line, without its `\n`.
            None if self.start < self.block.len() => self.block.len(),
            None => return None,
        };
        let line = self.start..end;
        self.start = end + 1;
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out a few bytes at a time, as a pipe may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn all_lines(input: &[u8], step: usize) -> Vec<Vec<u8>> {
        let mut blocks = LineBlocks::new(Trickle(input, step));
        let mut all = Vec::new();
        while let Some(block) = blocks.next_block().expect("read") {
            all.extend(lines(&block).map(|r| block[r].to_vec()));
        }
        all
    }

    #[test]
    fn every_line_once_whatever_the_reads() {
        let mut input = Vec::new();
        for i in 0..10_000 {
            input.extend_from_slice(format!("line.{i} {i}\n").as_bytes());
        }
        input.extend_from_slice(b"\n\nlast 1");
        for step in [1, 7, 4096, READ_SIZE + 3] {
            let lines = all_lines(&input, step);
            assert_eq!(lines.len(), 10_003, "{step}");
            assert_eq!(lines[9_999], b"line.9999 9999");
            assert_eq!(lines[10_000], b"");
            assert_eq!(lines[10_002], b"last 1");
        }
        assert!(all_lines(b"", 10).is_empty());
        assert_eq!(all_lines(b"\n", 10), [b"".to_vec()]);
        let long = vec![b'x'; 3 * READ_SIZE];
        assert_eq!(all_lines(&long, READ_SIZE), [long]);
    }
}
