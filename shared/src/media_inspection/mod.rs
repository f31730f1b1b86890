//! Media inspection for asset intake: what an uploaded file really is, its checksum, dimensions,
//! duration and thumbnail, read in bounded memory; or why it is refused. No AWS, no HTTP.
//!
//! The intake service calls [`inspect`] (CPU-bound: run it in `spawn_blocking`) on an
//! [`ObjectSource`] and records the [`Inspection`] or the [`Rejection`]. Memory stays at about one
//! read chunk plus [`Limits::decode_budget`] whatever the file size; the SHA-256 is taken in one
//! sequential pass, shared with the decoders where they read forward.

mod image_gif;
mod image_jpeg;
mod image_png;
mod image_webp;
mod rejection;
mod sniff;
mod source;
mod thumbnail;
mod video_mp4;
mod video_webm;

#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures;
#[cfg(test)]
mod tests;

use std::fmt::Display;
use std::io::{self, BufRead, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use rejection::{InspectError, Rejection};
pub use sniff::{canonical_extension, kind_of};
pub use source::{FileSource, ObjectSource, SourceReader};
pub use thumbnail::Thumbnail;

use crate::domain::MediaKind;
use sniff::Format;

/// What inspection may spend, and what it refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes; checked against the object's length before any read.
    pub max_bytes: u64,
    /// Largest image, in pixels (width x height), checked from the header before decoding.
    pub max_pixels: u64,
    /// Longest image side, in pixels: bounds the one row a streaming decoder holds.
    pub max_side: u32,
    /// Longest side of a thumbnail.
    pub thumbnail_max_side: u32,
    /// JPEG quality of thumbnails, 1-100.
    pub thumbnail_quality: u8,
    /// Most a decoder may hold at once for a thumbnail (a progressive JPEG's coefficients, a
    /// WebP's frame). Above it the file is still accepted, without a thumbnail.
    pub decode_budget: usize,
    /// Size of each read from the source (one ranged GET on S3); also the reader's one buffer.
    pub read_chunk: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 4 << 30,
            max_pixels: 100_000_000,
            max_side: 65_535,
            thumbnail_max_side: 512,
            thumbnail_quality: 80,
            decode_budget: 40 << 20,
            read_chunk: 4 << 20,
        }
    }
}

/// The containers of the videos the library takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Mov,
    Webm,
}

impl Container {
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::Webm => "webm",
        }
    }
}

/// Everything inspection learned about an accepted file.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub kind: MediaKind,
    /// Sniffed from the bytes, e.g. `image/jpeg`; never taken from the name or the uploader.
    pub content_type: &'static str,
    /// The canonical extension for `content_type`, for `library/{brand}/{asset_id}.{ext}`.
    pub extension: &'static str,
    pub size: u64,
    /// SHA-256 of every byte, lowercase hex.
    pub sha256: String,
    /// Pixels as stored in the file (photos), or the video track's size when the container says.
    /// See [`Inspection::display_size`] for the upright size.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// EXIF orientation 1-8 (JPEG, PNG `eXIf`), where present.
    pub orientation: Option<u8>,
    /// Videos, and animated GIFs (the sum of their frame delays).
    pub duration_ms: Option<u64>,
    pub container: Option<Container>,
    /// The codec as a four-character code where the container names it: `avc1`, `hvc1`, `vp09`,
    /// `av01`..., or the Matroska codec ID when there is no usual code.
    pub video_codec: Option<String>,
    /// Frames per second, where the container says (MP4 sample timing, WebM default duration).
    pub frame_rate: Option<f64>,
    /// Clockwise rotation a player applies to the video (0, 90, 180, 270), from the MP4 track matrix.
    pub rotation: Option<u16>,
    /// Photos and GIFs; `None` for videos (no frame is decoded), and for photos too costly to
    /// decode within [`Limits::decode_budget`] or in a variant the decoder does not support (see
    /// `notes`).
    pub thumbnail: Option<Thumbnail>,
    /// Things worth telling the uploader that are not reasons to refuse the file.
    pub notes: Vec<String>,
}

impl Inspection {
    /// Width and height as the photo is shown, after its EXIF orientation (5-8 swap the sides).
    pub fn display_size(&self) -> Option<(u32, u32)> {
        let (w, h) = (self.width?, self.height?);
        Some(match self.orientation {
            Some(5..=8) => (h, w),
            _ => (w, h),
        })
    }
}

/// What a format's module found; [`inspect`] adds what is common to every file.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    width: Option<u32>,
    height: Option<u32>,
    orientation: Option<u8>,
    duration_ms: Option<u64>,
    container: Option<Container>,
    video_codec: Option<String>,
    frame_rate: Option<f64>,
    rotation: Option<u16>,
    thumbnail: Option<Thumbnail>,
    notes: Vec<String>,
}

/// Inspects an uploaded object: sniffs its type (the name only decides how a refusal is worded),
/// checks size and declared dimensions before decoding anything, reads metadata, makes a photo's
/// thumbnail, and hashes every byte.
///
/// `Err(InspectError::Rejected)` is final for this file; `Err(InspectError::Read)` means the
/// source failed and the same object may be inspected again.
pub fn inspect(
    source: &dyn ObjectSource,
    filename: &str,
    limits: &Limits,
) -> Result<Inspection, InspectError> {
    let size = source.len();
    if size == 0 {
        return Err(Rejection::Empty.into());
    }
    if size > limits.max_bytes {
        return Err(Rejection::TooLarge {
            size,
            max: limits.max_bytes,
        }
        .into());
    }
    let mut reader = SourceReader::hashing(source, limits.read_chunk);
    let sniffed = match reader.fill_buf() {
        Ok(head) => sniff::sniff(&head[..head.len().min(sniff::SNIFF_BYTES)]),
        Err(e) => return Err(read_failure(&mut reader, e)),
    };
    let (format, note) = sniff::judge(filename, sniffed)?;

    // A decoder bug must cost this file, not the process. That needs panics to unwind, as the
    // release profile does (kept so by a test in tests.rs:
    // the_release_build_unwinds_so_a_panic_while_decoding_is_caught_in_lambda_too).
    let found = catch_unwind(AssertUnwindSafe(|| match format {
        Format::Jpeg => image_jpeg::inspect(&mut reader, limits),
        Format::Png => image_png::inspect(&mut reader, limits),
        Format::Gif => image_gif::inspect(&mut reader, limits),
        Format::Webp => image_webp::inspect(&mut reader, limits),
        Format::Mp4 | Format::QuickTime => video_mp4::inspect(&mut reader, format),
        Format::Webm => video_webm::inspect(&mut reader),
    }))
    .unwrap_or_else(|_| {
        Err(Rejection::corrupt(format.name(), "the decoder failed on it").into())
    })?;

    let digest = reader
        .finish_sha256()
        .map_err(|e| read_failure(&mut reader, e))?;
    let mut notes: Vec<String> = note.into_iter().collect();
    notes.extend(found.notes);
    Ok(Inspection {
        kind: kind_of(format.content_type()).unwrap_or(MediaKind::Image),
        content_type: format.content_type(),
        extension: canonical_extension(format.content_type()),
        size,
        sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        width: found.width,
        height: found.height,
        orientation: found.orientation,
        duration_ms: found.duration_ms,
        container: found.container,
        video_codec: found.video_codec,
        frame_rate: found.frame_rate,
        rotation: found.rotation,
        thumbnail: found.thumbnail,
        notes,
    })
}

/// The source's own failure if there was one (retry), else `e` as it is.
fn read_failure(reader: &mut SourceReader, e: io::Error) -> InspectError {
    InspectError::Read(reader.take_source_error().unwrap_or(e))
}

/// How a decoder's error reads: a failure of the source itself comes first (the file may be fine);
/// then running out of bytes (`truncated`); anything else is damage.
pub(crate) fn decode_failure(
    reader: &mut SourceReader,
    format: &'static str,
    part: &'static str,
    truncated: bool,
    detail: impl Display,
) -> InspectError {
    if let Some(e) = reader.take_source_error() {
        return InspectError::Read(e);
    }
    if truncated {
        Rejection::Truncated { format, part }.into()
    } else {
        Rejection::corrupt(format, detail.to_string()).into()
    }
}

/// [`decode_failure`] for our own parsers, which speak `io::Error`: `UnexpectedEof` means the
/// file ran out, `InvalidData` carries what is wrong with it.
pub(crate) fn io_failure(
    reader: &mut SourceReader,
    format: &'static str,
    part: &'static str,
    e: io::Error,
) -> InspectError {
    let eof = e.kind() == io::ErrorKind::UnexpectedEof;
    decode_failure(reader, format, part, eof, e)
}

/// An `InvalidData` error for our own parsers.
pub(crate) fn invalid(detail: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, detail.into())
}

/// Refuses images whose header declares more than the limits allow, before a pixel is decoded.
pub(crate) fn check_dimensions(
    format: &'static str,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(), Rejection> {
    if width == 0 || height == 0 {
        return Err(Rejection::corrupt(
            format,
            format!("its header declares {width} x {height} pixels"),
        ));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Rejection::DecompressionBomb {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    if width > limits.max_side || height > limits.max_side {
        return Err(Rejection::DimensionsTooLarge {
            width,
            height,
            max_side: limits.max_side,
        });
    }
    Ok(())
}

/// The EXIF orientation (1-8) in raw EXIF data (a TIFF header and its IFDs). A damaged EXIF block
/// is ignored: it does not make the photo unusable.
pub(crate) fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    let field = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let value = field.value.get_uint(0)?;
    u8::try_from(value).ok().filter(|v| (1..=8).contains(v))
}

/// Moves the reader to `offset`.
pub(crate) fn seek_to(reader: &mut SourceReader, offset: u64) -> io::Result<()> {
    reader.seek(SeekFrom::Start(offset)).map(|_| ())
}
