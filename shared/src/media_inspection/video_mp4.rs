//! MP4 and QuickTime: walks the box tree reading only box headers and the few small boxes that
//! hold duration, size, codec and timing. The media data is seeked over, never read, so a `moov`
//! after the `mdat` costs one extra read, and memory does not grow with the number of samples.

use std::io::{self, Read};

use super::sniff::Format;
use super::{
    Container, Findings, InspectError, Rejection, SourceReader, invalid, io_failure, seek_to,
};

const PART: &str = "video data";

/// One box: where it starts, where its content starts, where it ends.
struct Mp4Box {
    kind: [u8; 4],
    body: u64,
    end: u64,
}

#[derive(Default)]
struct Movie {
    timescale: u32,
    duration: u64,
    fragment_duration: u64,
    video: Option<Track>,
}

#[derive(Default)]
struct Track {
    handler: [u8; 4],
    width: u32,
    height: u32,
    rotation: u16,
    timescale: u32,
    duration: u64,
    codec: Option<[u8; 4]>,
    coded_width: u32,
    coded_height: u32,
    samples: u64,
    sample_time: u64,
}

pub(crate) fn inspect(reader: &mut SourceReader, format: Format) -> Result<Findings, InspectError> {
    let name = format.name();
    let movie = match walk(reader) {
        Ok(Walk::Movie(movie)) => movie,
        Ok(Walk::Cut) => {
            return Err(Rejection::Truncated {
                format: name,
                part: PART,
            }
            .into());
        }
        Ok(Walk::NoMovie) => {
            return Err(Rejection::corrupt(
                name,
                "its index (the moov box) is missing, as when a recording is interrupted",
            )
            .into());
        }
        Err(e) => return Err(io_failure(reader, name, PART, e)),
    };
    let Some(track) = movie.video else {
        return Err(Rejection::NoVideoTrack { format: name }.into());
    };

    let duration = ticks_to_ms(movie.duration, movie.timescale)
        .or_else(|| ticks_to_ms(track.duration, track.timescale))
        .or_else(|| ticks_to_ms(movie.fragment_duration, movie.timescale));
    let frame_rate =
        (track.samples > 0 && track.sample_time > 0 && track.timescale > 0).then(|| {
            let fps = track.samples as f64 * f64::from(track.timescale) / track.sample_time as f64;
            (fps * 1000.0).round() / 1000.0
        });
    let (width, height) = if track.width > 0 && track.height > 0 {
        (track.width, track.height)
    } else {
        (track.coded_width, track.coded_height)
    };
    Ok(Findings {
        width: (width > 0).then_some(width),
        height: (height > 0).then_some(height),
        duration_ms: duration,
        container: Some(if format == Format::QuickTime {
            Container::Mov
        } else {
            Container::Mp4
        }),
        video_codec: track
            .codec
            .map(|c| String::from_utf8_lossy(&c).trim().to_owned()),
        frame_rate,
        rotation: Some(track.rotation),
        ..Findings::default()
    })
}

/// `None` for a zero timescale, and for a duration of zero or all ones (both mean "unknown").
fn ticks_to_ms(ticks: u64, timescale: u32) -> Option<u64> {
    if timescale == 0 || ticks == 0 || ticks == u64::from(u32::MAX) || ticks == u64::MAX {
        return None;
    }
    u64::try_from(u128::from(ticks) * 1000 / u128::from(timescale)).ok()
}

enum Walk {
    Movie(Movie),
    /// A top-level box runs past the end of the file.
    Cut,
    NoMovie,
}

/// Visits every top-level box (so that a cut file is noticed wherever it is cut) and parses the
/// first `moov`.
fn walk(r: &mut SourceReader) -> io::Result<Walk> {
    let len = r.len();
    let mut movie = None;
    let mut at = 0;
    // Fewer than 8 bytes cannot hold a box: some writers pad the end with zeros.
    while len - at >= 8 {
        let b = read_box(r, at, len)?;
        if b.end > len {
            return Ok(Walk::Cut);
        }
        if &b.kind == b"moov" && movie.is_none() {
            movie = Some(parse_movie(r, &b)?);
        }
        at = b.end;
    }
    Ok(movie.map_or(Walk::NoMovie, Walk::Movie))
}

/// The box header at `at`; a size of 0 means "to the end of `parent_end`".
fn read_box(r: &mut SourceReader, at: u64, parent_end: u64) -> io::Result<Mp4Box> {
    seek_to(r, at)?;
    let mut head = [0u8; 8];
    r.read_exact(&mut head)?;
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let kind = [head[4], head[5], head[6], head[7]];
    let (body, end) = match size {
        0 => (at + 8, parent_end),
        1 => {
            let mut large = [0u8; 8];
            r.read_exact(&mut large)?;
            (at + 16, at.saturating_add(u64::from_be_bytes(large)))
        }
        n => (at + 8, at + u64::from(n)),
    };
    if end < body {
        return Err(invalid(format!(
            "the {} box is smaller than its own header",
            String::from_utf8_lossy(&kind)
        )));
    }
    Ok(Mp4Box { kind, body, end })
}

/// Calls `visit` for each child of `parent`.
fn children(
    r: &mut SourceReader,
    parent: &Mp4Box,
    mut visit: impl FnMut(&mut SourceReader, &Mp4Box) -> io::Result<()>,
) -> io::Result<()> {
    let mut at = parent.body;
    while parent.end.saturating_sub(at) >= 8 {
        let b = read_box(r, at, parent.end)?;
        if b.end > parent.end {
            return Err(invalid(format!(
                "the {} box runs past the {} box it is in",
                String::from_utf8_lossy(&b.kind),
                String::from_utf8_lossy(&parent.kind)
            )));
        }
        visit(r, &b)?;
        at = b.end;
    }
    Ok(())
}

/// Up to `max` bytes of a box's content (the boxes read whole are a few dozen bytes).
fn content(r: &mut SourceReader, b: &Mp4Box, max: u64) -> io::Result<Vec<u8>> {
    seek_to(r, b.body)?;
    let n = (b.end - b.body).min(max) as usize;
    let mut bytes = vec![0u8; n];
    r.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn be32(b: &[u8], at: usize) -> io::Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| invalid("a header box is too short"))
}

fn be64(b: &[u8], at: usize) -> io::Result<u64> {
    Ok(u64::from(be32(b, at)?) << 32 | u64::from(be32(b, at + 4)?))
}

/// Timescale and duration from `mvhd` or `mdhd`, which share their first fields.
fn time_header(b: &[u8]) -> io::Result<(u32, u64)> {
    match b.first() {
        Some(1) => Ok((be32(b, 20)?, be64(b, 24)?)),
        _ => Ok((be32(b, 12)?, u64::from(be32(b, 16)?))),
    }
}

fn parse_movie(r: &mut SourceReader, moov: &Mp4Box) -> io::Result<Movie> {
    let mut movie = Movie::default();
    children(r, moov, |r, b| {
        match &b.kind {
            b"mvhd" => (movie.timescale, movie.duration) = time_header(&content(r, b, 32)?)?,
            b"trak" if movie.video.is_none() => {
                let track = parse_track(r, b)?;
                if &track.handler == b"vide" {
                    movie.video = Some(track);
                }
            }
            b"mvex" => children(r, b, |r, b| {
                if &b.kind == b"mehd" {
                    let c = content(r, b, 12)?;
                    movie.fragment_duration = match c.first() {
                        Some(1) => be64(&c, 4)?,
                        _ => u64::from(be32(&c, 4)?),
                    };
                }
                Ok(())
            })?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(movie)
}

fn parse_track(r: &mut SourceReader, trak: &Mp4Box) -> io::Result<Track> {
    let mut track = Track::default();
    children(r, trak, |r, b| {
        match &b.kind {
            b"tkhd" => read_track_header(&content(r, b, 96)?, &mut track)?,
            b"mdia" => children(r, b, |r, b| {
                match &b.kind {
                    b"mdhd" => {
                        (track.timescale, track.duration) = time_header(&content(r, b, 32)?)?
                    }
                    b"hdlr" => {
                        let c = content(r, b, 12)?;
                        track.handler = be32(&c, 8)?.to_be_bytes();
                    }
                    b"minf" => children(r, b, |r, b| {
                        if &b.kind == b"stbl" {
                            children(r, b, |r, b| {
                                match &b.kind {
                                    b"stsd" => {
                                        read_sample_description(&content(r, b, 44)?, &mut track)
                                    }
                                    b"stts" => read_sample_times(r, b, &mut track)?,
                                    _ => {}
                                }
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })?,
                    _ => {}
                }
                Ok(())
            })?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(track)
}

/// Display size (16.16 fixed point) and the rotation in the transformation matrix.
fn read_track_header(c: &[u8], track: &mut Track) -> io::Result<()> {
    let matrix = if c.first() == Some(&1) { 52 } else { 40 };
    let m = |i: usize| be32(c, matrix + i * 4).map(|v| v as i32);
    let (a, b, cc, d) = (m(0)?, m(1)?, m(3)?, m(4)?);
    track.rotation = match (a.signum(), b.signum(), cc.signum(), d.signum()) {
        (0, 1, -1, 0) => 90,
        (-1, 0, 0, -1) => 180,
        (0, -1, 1, 0) => 270,
        _ => 0,
    };
    track.width = be32(c, matrix + 36)? >> 16;
    track.height = be32(c, matrix + 40)? >> 16;
    Ok(())
}

/// The first sample entry's four-character code and, for a visual entry, its coded size.
fn read_sample_description(c: &[u8], track: &mut Track) {
    // version/flags, entry count, then the entry: size, type, 6 reserved, data reference index,
    // 16 bytes of pre-defined/reserved, width, height.
    let Some(kind) = c.get(12..16) else {
        return;
    };
    if kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        track.codec = Some([kind[0], kind[1], kind[2], kind[3]]);
    }
    if let (Some(w), Some(h)) = (c.get(40..42), c.get(42..44)) {
        track.coded_width = u32::from(u16::from_be_bytes([w[0], w[1]]));
        track.coded_height = u32::from(u16::from_be_bytes([h[0], h[1]]));
    }
}

/// Sums the time-to-sample table without keeping it: (sample count, delta) pairs.
fn read_sample_times(r: &mut SourceReader, b: &Mp4Box, track: &mut Track) -> io::Result<()> {
    let head = content(r, b, 8)?;
    let declared = u64::from(be32(&head, 4)?);
    // The count cannot claim more entries than the box holds.
    let entries = declared.min((b.end - b.body).saturating_sub(8) / 8);
    let mut entry = [0u8; 8];
    for _ in 0..entries {
        r.read_exact(&mut entry)?;
        let count = u64::from(u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]));
        let delta = u64::from(u32::from_be_bytes([entry[4], entry[5], entry[6], entry[7]]));
        track.samples = track.samples.saturating_add(count);
        track.sample_time = track
            .sample_time
            .saturating_add(count.saturating_mul(delta));
    }
    Ok(())
}
