//! The disk spool's files: what the core's [`SpoolOp`]s do on disk. The
//! core decides what to spill, read back and remove (see
//! [`graphite_proto::sender::spool`]); this only keeps records safe.
//!
//! # Format
//!
//! The spool directory holds a `lock` file (locked while a sender uses the
//! directory), a `head` file (the newest removed record's id and its
//! CRC-32) and segment files named after their first record's id,
//! `00000000000000000001.spool`, each a run of records:
//!
//! ```text
//! magic "GSR1" | len u32 | datapoints u32 | crc32 u32 | id u64 | len bytes of one batch
//! ```
//!
//! little-endian; the CRC-32 covers the id, the length, the count and the
//! batch. Appends go to the newest segment; a segment is deleted once all
//! its records are removed. A new segment starts past [`segment_bytes`].
//!
//! # Crashes and power loss
//!
//! A record is appended with one `write` call to the page cache. A process
//! killed in the middle of it (SIGKILL, a panic that aborts) leaves a torn
//! record at the end of the newest segment: on the next start its length
//! or checksum does not match, so it is cut off (the file is truncated
//! there), counted in [`Stats::spool_torn`](graphite_proto::sender::Stats::spool_torn),
//! and never sent. Everything before it is intact: the kernel keeps what
//! was written when a process dies.
//!
//! Data is fsynced when a segment is finished (before the next one starts)
//! and at close (`SpoolOp::Sync`), not after each append: an fsync per batch
//! would cost the spool most of its write rate just when it is needed. A
//! power loss or kernel crash can therefore cost what was appended to the
//! newest segment since the last sync (at most one segment, and in
//! practice only what the kernel had not written back yet, by default
//! under 30 s), and `head` may come back older than it was: records
//! already sent are then sent again, which carbon-cache stores once.
//!
//! # Why not `queue-file`
//!
//! `queue-file` (a port of Square's Tape) commits each operation by
//! rewriting its header last: a write cut short is simply invisible after
//! a restart, so it can be neither detected nor counted, which this spool
//! must do. Its 1.x line has had no release since 2023; 2.0, which adds
//! checksums, is a new file format with little use behind it yet. Its
//! ring buffer also grows by doubling and copying the file, a pause of
//! seconds at a spool of gigabytes. An append-only segment log with a
//! per-record checksum is short (this file) and has none of these
//! properties.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use graphite_proto::sender::{Spool, SpoolDone, SpoolOp, SpoolRecord};

const MAGIC: &[u8; 4] = b"GSR1";
const HEADER_LEN: usize = 24;
/// A record longer than this is corruption (a batch is at most a pickle
/// frame, carbon's limit being 1 MiB; allow for much larger ones).
const MAX_RECORD_LEN: u32 = 64 << 20;
const SEGMENT_SUFFIX: &str = ".spool";

/// How large a segment grows before the next one starts: an eighth of the
/// spool, between 64 KiB and 64 MiB, so that removing records gives disk
/// space back in reasonable steps.
pub(crate) fn segment_bytes(max_bytes: u64) -> u64 {
    (max_bytes / 8).clamp(64 << 10, 64 << 20)
}

/// Why a spool directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// The directory cannot be created, or its lock file written.
    #[error("spool directory {dir} is not usable: {source}")]
    Unusable {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// Another sender (in this process or another) uses the directory.
    #[error("spool directory {dir} is in use by another sender")]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
}

/// Where a live record is.
#[derive(Clone, Copy, Debug)]
struct Place {
    id: u64,
    segment: u64,
    offset: u64,
    len: u32,
    datapoints: u32,
}

/// One segment file: its first record's id.
#[derive(Debug)]
struct Segment {
    first_id: u64,
}

/// An open, locked spool directory.
#[derive(Debug)]
pub(crate) struct SpoolLog {
    dir: PathBuf,
    /// Held for the lock; released when dropped.
    _lock: File,
    segment_bytes: u64,
    /// Oldest first.
    segments: VecDeque<Segment>,
    /// The newest segment, open for appending, and its length.
    active: Option<(File, u64)>,
    /// Live records, oldest first.
    places: VecDeque<Place>,
    /// The newest removed id.
    head: u64,
    head_file: Option<File>,
    /// A reader on the segment of the oldest record.
    reader: Option<(u64, File)>,
}

impl SpoolLog {
    /// Opens (creating) and locks `spool.dir`. Cheap: records are read
    /// back by [`recover`](Self::recover), on the driver's task.
    pub(crate) fn open(spool: &Spool) -> Result<Self, SpoolError> {
        let dir = spool.dir.clone();
        let unusable = |source| SpoolError::Unusable {
            dir: dir.clone(),
            source,
        };
        fs::create_dir_all(&dir).map_err(unusable)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(unusable)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(SpoolError::Locked { dir }),
            Err(fs::TryLockError::Error(e)) => return Err(unusable(e)),
        }
        Ok(Self {
            segment_bytes: segment_bytes(spool.max_bytes),
            dir,
            _lock: lock,
            segments: VecDeque::new(),
            active: None,
            places: VecDeque::new(),
            head: 0,
            head_file: None,
            reader: None,
        })
    }

    fn segment_path(&self, first_id: u64) -> PathBuf {
        self.dir.join(format!("{first_id:020}{SEGMENT_SUFFIX}"))
    }

    /// Reads every segment: the live records, oldest first, and how many
    /// torn or corrupt stretches were cut off. A torn end of the newest
    /// segment is truncated away so that appends go on after the last
    /// whole record.
    pub(crate) fn recover(&mut self) -> (Vec<SpoolRecord>, u64) {
        self.head = read_head(&self.dir.join("head")).unwrap_or(0);
        let mut firsts: Vec<u64> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                name.to_str()?.strip_suffix(SEGMENT_SUFFIX)?.parse().ok()
            })
            .collect();
        firsts.sort_unstable();
        let mut records = Vec::new();
        let mut torn = 0;
        let count = firsts.len();
        for (i, first) in firsts.into_iter().enumerate() {
            let path = self.segment_path(first);
            let newest = i + 1 == count;
            let (places, end, stretches) = scan(&path, first);
            torn += stretches;
            // Records at or below the head were removed; ids must keep
            // rising across segments too.
            let floor = records
                .last()
                .map_or(self.head, |r: &SpoolRecord| r.id.max(self.head));
            let live: Vec<Place> = places.into_iter().filter(|p| p.id > floor).collect();
            if live.is_empty() && !newest {
                let _ = fs::remove_file(&path);
                continue;
            }
            for place in &live {
                records.push(SpoolRecord {
                    id: place.id,
                    len: u64::from(place.len),
                    datapoints: u64::from(place.datapoints),
                });
            }
            self.places.extend(live);
            self.segments.push_back(Segment { first_id: first });
            if newest {
                let file = OpenOptions::new().write(true).open(&path).and_then(|f| {
                    f.set_len(end)?;
                    Ok(f)
                });
                if let Ok(mut file) = file
                    && file.seek(SeekFrom::Start(end)).is_ok()
                {
                    self.active = Some((file, end));
                }
            }
        }
        if records.is_empty() && self.head != 0 {
            // Nothing live: numbering starts again at 1, so the head must
            // not claim those ids as removed.
            self.head = 0;
            if let Err(e) = self.write_head() {
                tracing::warn!(target: "graphite", "graphite spool: cannot reset its head: {e}");
            }
        }
        (records, torn)
    }

    /// Does `op`.
    pub(crate) fn apply(&mut self, op: SpoolOp) -> io::Result<SpoolDone> {
        match op {
            SpoolOp::Append {
                id,
                bytes,
                datapoints,
            } => self.append(id, &bytes, datapoints).map(|()| SpoolDone::Ok),
            SpoolOp::Read { id } => self.read(id).map(SpoolDone::Read),
            SpoolOp::Remove { through } => self.remove(through).map(|()| SpoolDone::Ok),
            SpoolOp::Sync => self.sync().map(|()| SpoolDone::Ok),
            _ => Err(io::Error::other("unknown spool operation")),
        }
    }

    fn append(&mut self, id: u64, batch: &[u8], datapoints: u64) -> io::Result<()> {
        let len = u32::try_from(batch.len())
            .ok()
            .filter(|&l| l <= MAX_RECORD_LEN)
            .ok_or_else(|| io::Error::other("batch too large for the spool"))?;
        let full = self
            .active
            .as_ref()
            .is_some_and(|(_, size)| *size >= self.segment_bytes);
        if full && let Some((file, _)) = self.active.take() {
            // A finished segment is made durable before the next starts.
            file.sync_data()?;
        }
        if self.active.is_none() {
            let path = self.segment_path(id);
            let file = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&path)?;
            self.segments.push_back(Segment { first_id: id });
            self.active = Some((file, 0));
        }
        let Some((file, size)) = self.active.as_mut() else {
            return Err(io::Error::other("no segment"));
        };
        let datapoints = u32::try_from(datapoints).unwrap_or(u32::MAX);
        let mut record = Vec::with_capacity(HEADER_LEN + batch.len());
        record.extend_from_slice(MAGIC);
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&datapoints.to_le_bytes());
        record.extend_from_slice(&checksum(id, len, datapoints, batch).to_le_bytes());
        record.extend_from_slice(&id.to_le_bytes());
        record.extend_from_slice(batch);
        // One write call: a crash leaves the record whole or torn at the end.
        if let Err(e) = file.write_all(&record) {
            // Cut a partial record off so that later appends stay readable.
            let _ = file.set_len(*size);
            let _ = file.seek(SeekFrom::Start(*size));
            return Err(e);
        }
        let segment = self.segments.back().map_or(id, |s| s.first_id);
        self.places.push_back(Place {
            id,
            segment,
            offset: *size,
            len,
            datapoints,
        });
        *size += record.len() as u64;
        Ok(())
    }

    fn read(&mut self, id: u64) -> io::Result<Bytes> {
        let place = *self
            .places
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| io::Error::other(format!("record {id} is not in the spool")))?;
        if self
            .reader
            .as_ref()
            .is_none_or(|(s, _)| *s != place.segment)
        {
            let file = File::open(self.segment_path(place.segment))?;
            self.reader = Some((place.segment, file));
        }
        let Some((_, file)) = self.reader.as_mut() else {
            return Err(io::Error::other("no reader"));
        };
        file.seek(SeekFrom::Start(place.offset))?;
        let mut header = [0; HEADER_LEN];
        file.read_exact(&mut header)?;
        let (len, datapoints, crc, found) = parse_header(&header)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad record header"))?;
        let mut batch = vec![0; len as usize];
        file.read_exact(&mut batch)?;
        if found != id || len != place.len || checksum(id, len, datapoints, &batch) != crc {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("record {id}: checksum mismatch"),
            ));
        }
        Ok(Bytes::from(batch))
    }

    fn remove(&mut self, through: u64) -> io::Result<()> {
        while self.places.front().is_some_and(|p| p.id <= through) {
            self.places.pop_front();
        }
        self.head = self.head.max(through);
        self.write_head()?;
        // Delete segments none of whose records are live any more.
        while let Some(first) = self.segments.front().map(|s| s.first_id) {
            let next_live = self.places.front().map(|p| p.segment);
            let is_active = self.segments.len() == 1;
            let dead = match next_live {
                Some(segment) => segment != first,
                None => true,
            };
            if !dead {
                break;
            }
            if is_active {
                // The newest segment, empty now: start afresh on the next append.
                self.active = None;
            }
            if self.reader.as_ref().is_some_and(|(s, _)| *s == first) {
                self.reader = None;
            }
            self.segments.pop_front();
            fs::remove_file(self.segment_path(first))?;
        }
        Ok(())
    }

    fn write_head(&mut self) -> io::Result<()> {
        if self.head_file.is_none() {
            self.head_file = Some(
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(self.dir.join("head"))?,
            );
        }
        let Some(file) = self.head_file.as_mut() else {
            return Err(io::Error::other("no head file"));
        };
        let mut bytes = [0; 12];
        bytes[..8].copy_from_slice(&self.head.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..8]);
        bytes[8..].copy_from_slice(&crc.to_le_bytes());
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        if let Some((file, _)) = &self.active {
            file.sync_data()?;
        }
        if let Some(file) = &self.head_file {
            file.sync_data()?;
        }
        // New and deleted segment files: the directory's entries.
        File::open(&self.dir)?.sync_all()
    }
}

fn checksum(id: u64, len: u32, datapoints: u32, batch: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&id.to_le_bytes());
    hasher.update(&len.to_le_bytes());
    hasher.update(&datapoints.to_le_bytes());
    hasher.update(batch);
    hasher.finalize()
}

/// `(len, datapoints, crc, id)`, or `None` without the magic.
fn parse_header(header: &[u8; HEADER_LEN]) -> Option<(u32, u32, u32, u64)> {
    let u32_at = |i: usize| header[i..i + 4].try_into().ok().map(u32::from_le_bytes);
    if &header[..4] != MAGIC {
        return None;
    }
    let id = header[16..24].try_into().ok().map(u64::from_le_bytes)?;
    let len = u32_at(4)?;
    (len <= MAX_RECORD_LEN).then_some(())?;
    Some((len, u32_at(8)?, u32_at(12)?, id))
}

fn read_head(path: &Path) -> Option<u64> {
    let bytes = fs::read(path).ok()?;
    let id = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let crc = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
    (crc32fast::hash(&bytes[..8]) == crc).then_some(id)
}

/// The whole records of a segment, the offset after the last one, and
/// how many torn or corrupt stretches lie between or after them. A
/// corrupt stretch costs only itself: the scan resumes at the next record
/// whose magic, checksum and rising id all hold. Ids must rise.
fn scan(path: &Path, segment: u64) -> (Vec<Place>, u64, u64) {
    let Ok(data) = fs::read(path) else {
        return (Vec::new(), 0, 1);
    };
    let mut places: Vec<Place> = Vec::new();
    let mut offset = 0usize;
    let mut end = 0usize;
    let mut stretches = 0;
    while offset < data.len() {
        let after = places.last().map_or(0, |p| p.id);
        if let Some(place) = record_at(&data, offset, after, segment) {
            offset += HEADER_LEN + place.len as usize;
            end = offset;
            places.push(place);
            continue;
        }
        stretches += 1;
        let resume = (offset + 1..data.len())
            .filter(|&at| data[at..].starts_with(MAGIC))
            .find(|&at| record_at(&data, at, after, segment).is_some());
        tracing::warn!(
            target: "graphite",
            "graphite spool: {} has {} torn or corrupt bytes at offset {offset}; they are not sent",
            path.display(),
            resume.unwrap_or(data.len()) - offset,
        );
        match resume {
            Some(at) => offset = at,
            None => break,
        }
    }
    (places, end as u64, stretches)
}

/// The whole record at `offset`, if its magic and checksum hold and its id
/// is above `after`.
fn record_at(data: &[u8], offset: usize, after: u64, segment: u64) -> Option<Place> {
    let header = data
        .get(offset..offset + HEADER_LEN)
        .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())?;
    let (len, datapoints, crc, id) = parse_header(header)?;
    let start = offset + HEADER_LEN;
    let batch = data.get(start..start + len as usize)?;
    (id > after && checksum(id, len, datapoints, batch) == crc).then_some(Place {
        id,
        segment,
        offset: offset as u64,
        len,
        datapoints,
    })
}
