//! WebM: walks the EBML elements of the segment up to the first cluster, reading only the Info
//! (timescale, duration) and Tracks (codec, size, frame duration) elements; clusters are skipped.

use std::io::{self, Read};

use super::sniff::vint;
use super::{
    Container, Findings, InspectError, Rejection, SourceReader, invalid, io_failure, seek_to,
};

const FORMAT: &str = "WebM";
const PART: &str = "video data";

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const CODEC_ID: u32 = 0x86;
const DEFAULT_DURATION: u32 = 0x23_E383;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;

/// One element: its ID, where its content starts, and where it ends (`None`: unknown size, as
/// live recordings write the segment and its clusters).
struct Element {
    id: u32,
    body: u64,
    end: Option<u64>,
}

#[derive(Default)]
struct VideoTrack {
    codec: Option<String>,
    width: u32,
    height: u32,
    /// Nanoseconds per frame.
    frame_ns: u64,
}

pub(crate) fn inspect(reader: &mut SourceReader) -> Result<Findings, InspectError> {
    match walk(reader) {
        Ok(Some((timescale_ns, duration, Some(track)))) => {
            let duration_ms = duration
                .map(|d| d * timescale_ns as f64 / 1e6)
                .filter(|ms| ms.is_finite() && *ms > 0.0 && *ms < u64::MAX as f64)
                .map(|ms| ms.round() as u64);
            Ok(Findings {
                width: (track.width > 0).then_some(track.width),
                height: (track.height > 0).then_some(track.height),
                duration_ms,
                container: Some(Container::Webm),
                video_codec: track.codec.map(|id| codec_fourcc(&id)),
                frame_rate: (track.frame_ns > 0)
                    .then(|| (1e12 / track.frame_ns as f64).round() / 1000.0),
                ..Findings::default()
            })
        }
        Ok(Some((_, _, None))) => Err(Rejection::NoVideoTrack { format: FORMAT }.into()),
        Ok(None) => Err(Rejection::Truncated {
            format: FORMAT,
            part: PART,
        }
        .into()),
        Err(e) => Err(io_failure(reader, FORMAT, PART, e)),
    }
}

/// The usual four-character code for a Matroska codec ID, or the ID itself.
fn codec_fourcc(codec_id: &str) -> String {
    match codec_id {
        "V_VP8" => "vp08",
        "V_VP9" => "vp09",
        "V_AV1" => "av01",
        "V_MPEG4/ISO/AVC" => "avc1",
        "V_MPEGH/ISO/HEVC" => "hvc1",
        other => other,
    }
    .to_owned()
}

/// `Ok(None)` when the segment claims to run past the end of the file.
#[allow(clippy::type_complexity)]
fn walk(r: &mut SourceReader) -> io::Result<Option<(u64, Option<f64>, Option<VideoTrack>)>> {
    let len = r.len();
    let header = read_element(r, 0)?;
    if header.id != EBML {
        return Err(invalid("it does not start with an EBML header"));
    }
    let mut at = header
        .end
        .ok_or_else(|| invalid("its EBML header has no size"))?;
    // Void or other top-level elements may come before the segment.
    let segment = loop {
        if at >= len {
            return Err(invalid("it has no segment"));
        }
        let e = read_element(r, at)?;
        if e.id == SEGMENT {
            break e;
        }
        at = e
            .end
            .ok_or_else(|| invalid("a top-level element has no size"))?;
    };
    let segment_end = match segment.end {
        Some(end) if end > len => return Ok(None),
        Some(end) => end,
        None => len,
    };

    let mut timescale_ns = 1_000_000;
    let mut duration = None;
    let mut track = None;
    let (mut seen_info, mut seen_tracks) = (false, false);
    let mut at = segment.body;
    while at < segment_end && !(seen_info && seen_tracks) {
        let e = read_element(r, at)?;
        let Some(end) = e.end else {
            // Only clusters may have an unknown size, and Info and Tracks come before them.
            break;
        };
        if end > segment_end {
            return Ok(None);
        }
        match e.id {
            INFO => {
                seen_info = true;
                children(r, &e, end, |r, c, c_end| {
                    match c.id {
                        TIMESTAMP_SCALE => timescale_ns = read_uint(r, c, c_end)?.max(1),
                        DURATION => duration = Some(read_float(r, c, c_end)?),
                        _ => {}
                    }
                    Ok(())
                })?;
            }
            TRACKS => {
                seen_tracks = true;
                children(r, &e, end, |r, c, c_end| {
                    if c.id == TRACK_ENTRY && track.is_none() {
                        track = read_track(r, c, c_end)?;
                    }
                    Ok(())
                })?;
            }
            _ => {}
        }
        at = end;
    }
    Ok(Some((timescale_ns, duration, track)))
}

/// The track if it is a video track.
fn read_track(r: &mut SourceReader, entry: &Element, end: u64) -> io::Result<Option<VideoTrack>> {
    let mut kind = 0;
    let mut track = VideoTrack::default();
    children(r, entry, end, |r, c, c_end| {
        match c.id {
            TRACK_TYPE => kind = read_uint(r, c, c_end)?,
            CODEC_ID => track.codec = Some(read_string(r, c, c_end)?),
            DEFAULT_DURATION => track.frame_ns = read_uint(r, c, c_end)?,
            VIDEO => children(r, c, c_end, |r, v, v_end| {
                match v.id {
                    PIXEL_WIDTH => {
                        track.width = u32::try_from(read_uint(r, v, v_end)?).unwrap_or(0)
                    }
                    PIXEL_HEIGHT => {
                        track.height = u32::try_from(read_uint(r, v, v_end)?).unwrap_or(0)
                    }
                    _ => {}
                }
                Ok(())
            })?,
            _ => {}
        }
        Ok(())
    })?;
    // Track type 1 is video.
    Ok((kind == 1).then_some(track))
}

/// Calls `visit` for each child of `parent` (which ends at `end`), with the child's end.
fn children(
    r: &mut SourceReader,
    parent: &Element,
    end: u64,
    mut visit: impl FnMut(&mut SourceReader, &Element, u64) -> io::Result<()>,
) -> io::Result<()> {
    let mut at = parent.body;
    while at < end {
        let c = read_element(r, at)?;
        let c_end = c
            .end
            .filter(|e| *e <= end)
            .ok_or_else(|| invalid("an element runs past the one it is in"))?;
        visit(r, &c, c_end)?;
        at = c_end;
    }
    Ok(())
}

/// The element header at `at`.
fn read_element(r: &mut SourceReader, at: u64) -> io::Result<Element> {
    seek_to(r, at)?;
    let mut first = [0u8; 1];
    r.read_exact(&mut first)?;
    let id_len = first[0].leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(invalid("an element ID is malformed"));
    }
    let mut id = u32::from(first[0]);
    let mut byte = [0u8; 1];
    for _ in 1..id_len {
        r.read_exact(&mut byte)?;
        id = id << 8 | u32::from(byte[0]);
    }
    r.read_exact(&mut first)?;
    let size_len = first[0].leading_zeros() as usize + 1;
    if size_len > 8 {
        return Err(invalid("an element size is malformed"));
    }
    let mut raw = [0u8; 8];
    raw[0] = first[0];
    r.read_exact(&mut raw[1..size_len])?;
    let (size, _) =
        vint(&raw[..size_len]).ok_or_else(|| invalid("an element size is malformed"))?;
    let body = at + (id_len + size_len) as u64;
    // All value bits set means "unknown size".
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    Ok(Element {
        id,
        body,
        end: if unknown {
            None
        } else {
            body.checked_add(size)
        },
    })
}

fn read_body(r: &mut SourceReader, e: &Element, end: u64, max: u64) -> io::Result<Vec<u8>> {
    let size = end - e.body;
    if size > max {
        return Err(invalid(format!(
            "an element is {size} bytes where at most {max} make sense"
        )));
    }
    seek_to(r, e.body)?;
    let mut bytes = vec![0u8; size as usize];
    r.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn read_uint(r: &mut SourceReader, e: &Element, end: u64) -> io::Result<u64> {
    Ok(read_body(r, e, end, 8)?
        .iter()
        .fold(0, |n, b| n << 8 | u64::from(*b)))
}

fn read_float(r: &mut SourceReader, e: &Element, end: u64) -> io::Result<f64> {
    let b = read_body(r, e, end, 8)?;
    match b.len() {
        0 => Ok(0.0),
        4 => Ok(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        8 => Ok(f64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ])),
        _ => Err(invalid("a duration is neither 4 nor 8 bytes")),
    }
}

fn read_string(r: &mut SourceReader, e: &Element, end: u64) -> io::Result<String> {
    let b = read_body(r, e, end, 64)?;
    let text = b.split(|c| *c == 0).next().unwrap_or_default();
    Ok(String::from_utf8_lossy(text).into_owned())
}
