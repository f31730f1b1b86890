//! Random access to an uploaded object, and the one buffered reader every parser reads it through,
//! which also hashes the bytes as they go by so that most files are read only once.

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

/// An uploaded object that can be read at any offset: a local file, or an S3 object through ranged
/// GETs. Inspection reads it in large chunks (see [`super::Limits::read_chunk`]), so an
/// implementation may issue one request per `read_at`.
pub trait ObjectSource: Send + Sync {
    /// The object's length in bytes, as the store reported it when it was opened.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads up to `buf.len()` bytes starting at `offset`; returns how many were read. `Ok(0)`
    /// before `len()` is treated as the object having changed underneath (a read error).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// A local file as an [`ObjectSource`] (the local runner's bucket folder, tests, benchmarks).
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::new(File::open(path)?)
    }

    pub fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self { file, len })
    }
}

impl ObjectSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    #[cfg(unix)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.file, buf, offset)
    }
}

impl ObjectSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// So that a byte slice can be passed as `&dyn ObjectSource` (as `&bytes`).
impl ObjectSource for &[u8] {
    fn len(&self) -> u64 {
        (**self).len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }
}

impl ObjectSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// The smallest chunk the reader asks a source for; below this, ranged GETs cost more than they save.
const MIN_CHUNK: usize = 64 * 1024;

/// A buffered `Read + BufRead + Seek` view of an [`ObjectSource`] that reads it in chunks of a
/// fixed size and, when created with [`SourceReader::hashing`], feeds every chunk that continues
/// the bytes hashed so far into a SHA-256. Parsers that read forward therefore hash the file as a
/// side effect; [`SourceReader::finish_sha256`] reads whatever they skipped.
pub struct SourceReader<'a> {
    source: &'a dyn ObjectSource,
    len: u64,
    chunk: usize,
    buf: Vec<u8>,
    /// Offset of `buf[0]` in the object, and how many bytes of `buf` are valid.
    buf_start: u64,
    filled: usize,
    pos: u64,
    hasher: Option<Sha256>,
    /// Every byte before this offset has been hashed, in order.
    hashed: u64,
    /// The first failure of the source itself, kept so that a decoder's error that merely wraps it
    /// is reported as a read failure (worth retrying), not as a damaged file.
    source_error: Option<io::Error>,
}

impl<'a> SourceReader<'a> {
    /// A reader that does not hash.
    pub fn new(source: &'a dyn ObjectSource, chunk: usize) -> Self {
        Self {
            source,
            len: source.len(),
            chunk: chunk.max(MIN_CHUNK),
            buf: Vec::new(),
            buf_start: 0,
            filled: 0,
            pos: 0,
            hasher: None,
            hashed: 0,
            source_error: None,
        }
    }

    /// A reader that computes the SHA-256 of the whole object (see [`Self::finish_sha256`]).
    pub fn hashing(source: &'a dyn ObjectSource, chunk: usize) -> Self {
        Self {
            hasher: Some(Sha256::new()),
            ..Self::new(source, chunk)
        }
    }

    /// The object's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The current position.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Takes the source's own read failure, if there was one since the last call.
    pub fn take_source_error(&mut self) -> Option<io::Error> {
        self.source_error.take()
    }

    /// Reads the rest of the object that has not been hashed yet and returns the digest of all of
    /// it. Errors if the reader was not created with [`Self::hashing`].
    pub fn finish_sha256(&mut self) -> io::Result<[u8; 32]> {
        if self.hasher.is_none() {
            return Err(io::Error::other("this reader does not hash"));
        }
        while self.hashed < self.len {
            self.fill(self.hashed)?;
        }
        let hasher = self.hasher.take().unwrap_or_default();
        Ok(hasher.finalize().into())
    }

    /// Loads the chunk that starts at `at` (which must be before `len`).
    fn fill(&mut self, at: u64) -> io::Result<()> {
        let want = usize::try_from((self.len - at).min(self.chunk as u64)).unwrap_or(self.chunk);
        if self.buf.len() < want {
            // Grown once to the chunk size (or the object's size, if smaller) and then reused.
            self.buf.resize(want, 0);
        }
        // Marked empty first so a failed read never leaves stale bytes that look valid.
        self.filled = 0;
        let mut got = 0;
        while got < want {
            match self
                .source
                .read_at(at + got as u64, &mut self.buf[got..want])
            {
                Ok(0) => {
                    return Err(self.remember(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the object ended at byte {} although its length is {}",
                            at + got as u64,
                            self.len
                        ),
                    )));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.remember(e)),
            }
        }
        self.buf_start = at;
        self.filled = want;
        if let Some(hasher) = self.hasher.as_mut()
            && self.hashed >= at
            && self.hashed < at + want as u64
        {
            let from = (self.hashed - at) as usize;
            hasher.update(&self.buf[from..want]);
            self.hashed = at + want as u64;
        }
        Ok(())
    }

    /// Keeps the source's error for [`Self::take_source_error`] and returns a copy for the caller.
    fn remember(&mut self, e: io::Error) -> io::Error {
        let copy = io::Error::new(e.kind(), e.to_string());
        if self.source_error.is_none() {
            self.source_error = Some(e);
        }
        copy
    }

    fn in_buffer(&self, at: u64) -> bool {
        at >= self.buf_start && at < self.buf_start + self.filled as u64
    }
}

impl Read for SourceReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }

    /// Served straight from the buffer when it holds the bytes: jpeg-decoder reads entropy-coded
    /// data one `read_exact` per byte, and std's default (a loop over `read`, then a `memcpy`
    /// call for the one byte) cost about as much as the decoding itself.
    #[inline]
    fn read_exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        if let Some(from) = self.pos.checked_sub(self.buf_start)
            && from + out.len() as u64 <= self.filled as u64
        {
            let from = from as usize;
            match out {
                [byte] => *byte = self.buf[from],
                _ => out.copy_from_slice(&self.buf[from..from + out.len()]),
            }
            self.pos += out.len() as u64;
            return Ok(());
        }
        let mut rest = out;
        while !rest.is_empty() {
            match self.read(rest) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ));
                }
                Ok(n) => rest = &mut rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl BufRead for SourceReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.len {
            return Ok(&[]);
        }
        if !self.in_buffer(self.pos) {
            self.fill(self.pos)?;
        }
        let from = (self.pos - self.buf_start) as usize;
        Ok(&self.buf[from..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = self.pos.saturating_add(amount as u64);
    }
}

impl Seek for SourceReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        // Seeking past the end is allowed (reads then return 0), as for files.
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the object",
            )
        })?;
        Ok(self.pos)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the calls, to prove the reader asks for large chunks.
    struct Counting {
        bytes: Vec<u8>,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl ObjectSource for Counting {
        fn len(&self) -> u64 {
            self.bytes.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.bytes.read_at(offset, buf)
        }
    }

    #[test]
    fn hashes_everything_once_even_after_skipping_ahead() {
        let bytes: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let expected: [u8; 32] = Sha256::digest(&bytes).into();
        let source = Counting {
            bytes,
            calls: Default::default(),
        };
        let mut reader = SourceReader::hashing(&source, MIN_CHUNK);
        let mut head = [0u8; 10];
        reader.read_exact(&mut head).unwrap();
        // a parser jumping to the end, then back
        reader.seek(SeekFrom::End(-5)).unwrap();
        let mut tail = Vec::new();
        reader.read_to_end(&mut tail).unwrap();
        assert_eq!(tail.len(), 5);
        reader.seek(SeekFrom::Start(3)).unwrap();
        reader.read_exact(&mut head).unwrap();
        assert_eq!(head[0], 3);
        assert_eq!(reader.finish_sha256().unwrap(), expected);
        // 16 chunks for the hash, one for the tail
        let calls = source.calls.load(std::sync::atomic::Ordering::Relaxed);
        assert!(calls <= 18, "{calls} reads");
    }

    #[test]
    fn exact_reads_span_chunks_and_stop_at_the_end() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let mut reader = SourceReader::new(&bytes, MIN_CHUNK);
        // one byte at a time, as jpeg-decoder reads, then across a chunk boundary
        let mut one = [0u8; 1];
        reader.seek(SeekFrom::Start(MIN_CHUNK as u64 - 1)).unwrap();
        reader.read_exact(&mut one).unwrap();
        assert_eq!(one[0], bytes[MIN_CHUNK - 1]);
        reader.seek(SeekFrom::Start(MIN_CHUNK as u64 - 3)).unwrap();
        let mut six = [0u8; 6];
        reader.read_exact(&mut six).unwrap();
        assert_eq!(six, bytes[MIN_CHUNK - 3..MIN_CHUNK + 3]);
        reader.seek(SeekFrom::End(-2)).unwrap();
        let e = reader.read_exact(&mut [0u8; 3]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_source_shorter_than_it_claims_is_a_read_error() {
        struct Liar;
        impl ObjectSource for Liar {
            fn len(&self) -> u64 {
                100
            }
            fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
                [7u8; 50].as_slice().read_at(offset, buf)
            }
        }
        let mut reader = SourceReader::hashing(&Liar, MIN_CHUNK);
        assert!(reader.finish_sha256().is_err());
        assert!(reader.take_source_error().is_some());
    }

    #[test]
    fn seeking_before_the_start_fails_and_past_the_end_reads_nothing() {
        let bytes = vec![1u8; 10];
        let mut reader = SourceReader::new(&bytes, 0);
        assert!(reader.seek(SeekFrom::Current(-1)).is_err());
        reader.seek(SeekFrom::Start(1_000)).unwrap();
        assert_eq!(reader.read(&mut [0u8; 4]).unwrap(), 0);
    }
}
