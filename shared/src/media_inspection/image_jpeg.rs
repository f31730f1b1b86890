//! JPEG: size and EXIF orientation from the markers, a walk to the end marker to find a cut file,
//! then a thumbnail jpeg-decoder decodes at 1/8, 1/4 or 1/2 scale, never at full size.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use super::thumbnail::{self, BoxFilter};
use super::{
    Findings, InspectError, Limits, SourceReader, check_dimensions, decode_failure,
    exif_orientation, invalid, io_failure, seek_to,
};

const FORMAT: &str = "JPEG";
const PART: &str = "image data";

/// The frame header (SOF) and whatever EXIF came before it.
struct Header {
    width: u32,
    height: u32,
    precision: u8,
    /// Sampling factors (horizontal, vertical) of each component.
    sampling: Vec<(u8, u8)>,
    marker: u8,
    exif: Option<Vec<u8>>,
    /// APP2 segments holding a piece of an ICC profile, before the frame header.
    icc_pieces: u32,
}

impl Header {
    fn progressive(&self) -> bool {
        matches!(self.marker, 0xC2 | 0xC6 | 0xCA | 0xCE)
    }

    fn lossless(&self) -> bool {
        self.marker == 0xC3
    }

    /// Why jpeg-decoder cannot make a thumbnail of it, for the kinds it does not support.
    fn unsupported(&self) -> Option<&'static str> {
        match self.marker {
            0xC5..=0xC7 => Some("a hierarchical JPEG"),
            0xC9..=0xCB | 0xCD..=0xCF => Some("an arithmetic-coded JPEG"),
            _ if !matches!(self.sampling.len(), 1 | 3 | 4) => {
                Some("a JPEG with this many colour channels")
            }
            _ if self
                .sampling
                .iter()
                .any(|&(h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v)) =>
            {
                Some("a JPEG with this colour sampling")
            }
            _ => None,
        }
    }
}

pub(crate) fn inspect(
    reader: &mut SourceReader,
    limits: &Limits,
) -> Result<Findings, InspectError> {
    let header = read_header(reader).map_err(|e| io_failure(reader, FORMAT, PART, e))?;
    check_dimensions(FORMAT, header.width, header.height, limits)?;
    // One forward pass over the whole file before decoding (it is also the hashing pass): it
    // finds a cut file whatever the decoder would make of it, and counts the ICC profile pieces,
    // which jpeg-decoder keeps every one of wherever they are.
    let icc_pieces =
        scan_to_end(reader).map_err(|e| io_failure(reader, FORMAT, PART, e))? + header.icc_pieces;
    let orientation = header.exif.as_deref().and_then(exif_orientation);
    let mut found = Findings {
        width: Some(header.width),
        height: Some(header.height),
        orientation,
        ..Findings::default()
    };
    let skip = match header.unsupported() {
        Some(kind) => Some(format!("no thumbnail: {kind} cannot be previewed")),
        // A profile is at most 255 pieces of 64 KB; more is a malformed or hostile file.
        None if icc_pieces > 255 => Some(format!(
            "no thumbnail: its colour profile comes in {icc_pieces} pieces, more than a JPEG can hold"
        )),
        None if decode_cost(&header, limits) > limits.decode_budget as u64 => Some(format!(
            "no thumbnail: this {} JPEG would need more than {} MB to preview",
            if header.progressive() {
                "progressive"
            } else {
                "large"
            },
            limits.decode_budget >> 20
        )),
        None => None,
    };
    let note = match skip {
        Some(note) => Some(note),
        None => match decode_thumbnail(reader, &header, limits, orientation)? {
            Ok(thumbnail) => {
                found.thumbnail = Some(thumbnail);
                None
            }
            Err(note) => Some(note),
        },
    };
    found.notes.extend(note);
    Ok(found)
}

/// Reads markers from the start up to and including the frame header.
fn read_header(r: &mut SourceReader) -> io::Result<Header> {
    seek_to(r, 0)?;
    let mut soi = [0u8; 2];
    r.read_exact(&mut soi)?;
    if soi != [0xFF, 0xD8] {
        return Err(invalid("it does not start with a JPEG marker"));
    }
    let mut exif = None;
    let mut icc_pieces = 0;
    loop {
        let marker = next_marker(r)?;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 => return Err(invalid("it ends before any image")),
            0xDA => return Err(invalid("its image data comes before its header")),
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let length = segment_length(r)?;
                let mut sof = vec![0u8; length];
                r.read_exact(&mut sof)?;
                return parse_frame(marker, &sof, exif, icc_pieces);
            }
            0xE1 if exif.is_none() => {
                let length = segment_length(r)?;
                let mut app1 = vec![0u8; length];
                r.read_exact(&mut app1)?;
                // APP1 also carries XMP; only the one that starts with the Exif signature is EXIF.
                if let Some(tiff) = app1.strip_prefix(b"Exif\0\0") {
                    exif = Some(tiff.to_vec());
                }
            }
            0xE2 => icc_pieces += u32::from(skip_app2(r)?),
            _ => skip_segment(r)?,
        }
    }
}

fn parse_frame(
    marker: u8,
    sof: &[u8],
    exif: Option<Vec<u8>>,
    icc_pieces: u32,
) -> io::Result<Header> {
    let short = || invalid("its frame header is too short");
    let precision = *sof.first().ok_or_else(short)?;
    let height = u16::from_be_bytes([
        *sof.get(1).ok_or_else(short)?,
        *sof.get(2).ok_or_else(short)?,
    ]);
    let width = u16::from_be_bytes([
        *sof.get(3).ok_or_else(short)?,
        *sof.get(4).ok_or_else(short)?,
    ]);
    let count = usize::from(*sof.get(5).ok_or_else(short)?);
    let sampling = (0..count)
        .map(|i| {
            let factors = *sof.get(6 + i * 3 + 1).ok_or_else(short)?;
            Ok((factors >> 4, factors & 0x0F))
        })
        .collect::<io::Result<Vec<_>>>()?;
    if count == 0 {
        return Err(invalid("it has no colour channels"));
    }
    if height == 0 {
        // A height given later by a DNL marker: allowed by the standard, unsupported everywhere.
        return Err(invalid("its header leaves the height to be defined later"));
    }
    Ok(Header {
        width: u32::from(width),
        height: u32::from(height),
        precision,
        sampling,
        marker,
        exif,
        icc_pieces,
    })
}

/// The next marker's code, skipping fill bytes (and any stray bytes between segments, which
/// decoders tolerate).
fn next_marker(r: &mut SourceReader) -> io::Result<u8> {
    let mut byte = [0u8; 1];
    loop {
        r.read_exact(&mut byte)?;
        if byte[0] != 0xFF {
            continue;
        }
        loop {
            r.read_exact(&mut byte)?;
            match byte[0] {
                0xFF => continue,
                0x00 => break,
                code => return Ok(code),
            }
        }
    }
}

/// The length of the segment's payload (its length field counts itself).
fn segment_length(r: &mut SourceReader) -> io::Result<usize> {
    let mut length = [0u8; 2];
    r.read_exact(&mut length)?;
    let length = usize::from(u16::from_be_bytes(length));
    length
        .checked_sub(2)
        .ok_or_else(|| invalid("a segment declares a length under 2 bytes"))
}

/// Skips an APP2 segment; `true` if it holds a piece of an ICC profile.
fn skip_app2(r: &mut SourceReader) -> io::Result<bool> {
    let length = segment_length(r)?;
    let mut signature = [0u8; 12];
    let read = length.min(signature.len());
    r.read_exact(&mut signature[..read])?;
    r.seek(SeekFrom::Current((length - read) as i64))?;
    Ok(&signature == b"ICC_PROFILE\0")
}

fn skip_segment(r: &mut SourceReader) -> io::Result<()> {
    let length = segment_length(r)?;
    r.seek(SeekFrom::Current(length as i64)).map(|_| ())
}

/// Walks segments and image data from the reader's position to the end-of-image marker and
/// returns how many ICC profile pieces it passed; running out of bytes first means the file is cut.
fn scan_to_end(r: &mut SourceReader) -> io::Result<u32> {
    let mut pending = None;
    let mut icc_pieces = 0u32;
    loop {
        let marker = match pending.take() {
            Some(marker) => marker,
            None => next_marker(r)?,
        };
        match marker {
            0xD9 => return Ok(icc_pieces),
            0x01 | 0xD0..=0xD7 => {}
            0xDA => {
                skip_segment(r)?;
                pending = Some(skip_entropy_coded(r)?);
            }
            0xE2 => icc_pieces = icc_pieces.saturating_add(u32::from(skip_app2(r)?)),
            _ => skip_segment(r)?,
        }
    }
}

/// Skips entropy-coded data (where `FF 00` is a data byte and `FF D0`-`FF D7` restart markers)
/// and returns the code of the marker that ends it.
fn skip_entropy_coded(r: &mut SourceReader) -> io::Result<u8> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let Some(i) = buf.iter().position(|b| *b == 0xFF) else {
            let n = buf.len();
            r.consume(n);
            continue;
        };
        match buf.get(i + 1).copied() {
            Some(0x00 | 0xD0..=0xD7) => r.consume(i + 2),
            Some(0xFF) => r.consume(i + 1),
            Some(code) => {
                r.consume(i + 2);
                return Ok(code);
            }
            None => {
                // The FF is the last byte of the chunk: read on byte by byte.
                r.consume(i + 1);
                let mut byte = [0u8; 1];
                loop {
                    r.read_exact(&mut byte)?;
                    if byte[0] != 0xFF {
                        break;
                    }
                }
                if !matches!(byte[0], 0x00 | 0xD0..=0xD7) {
                    return Ok(byte[0]);
                }
            }
        }
    }
}

/// The IDCT size jpeg-decoder picks for a requested size (its `choose_idct_size`): 1 is 1/8 scale.
fn idct_size(width: u32, height: u32, requested: (u32, u32)) -> u32 {
    let scaled = |side: u32, size: u32| (side * size).div_ceil(8);
    [1, 2, 4]
        .into_iter()
        .find(|&size| scaled(width, size) >= requested.0 || scaled(height, size) >= requested.1)
        .unwrap_or(8)
}

/// About how many bytes jpeg-decoder holds to decode this JPEG at thumbnail scale.
fn decode_cost(h: &Header, limits: &Limits) -> u64 {
    let (w, ht) = (u64::from(h.width), u64::from(h.height));
    let channels = h.sampling.len() as u64;
    if h.lossless() {
        // Lossless frames are decoded at full size, as 16-bit samples, then converted.
        return w * ht * channels * 5;
    }
    let max_h = u64::from(h.sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1));
    let max_v = u64::from(h.sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1));
    let mcus = w.div_ceil(8 * max_h) * ht.div_ceil(8 * max_v);
    let blocks: u64 = h
        .sampling
        .iter()
        .map(|&(sh, sv)| mcus * u64::from(sh) * u64::from(sv))
        .sum();
    let size = u64::from(idct_size(
        h.width,
        h.height,
        thumbnail::fit(h.width, h.height, limits.thumbnail_max_side),
    ));
    // Each component's samples at the chosen scale, plus the interleaved output.
    let planes = blocks * size * size;
    let output = w.div_ceil(8 / size) * ht.div_ceil(8 / size) * channels;
    // A progressive JPEG keeps every coefficient of the full image until its last scan.
    let coefficients = if h.progressive() { blocks * 64 * 2 } else { 0 };
    coefficients + planes + output
}

/// Decodes at reduced scale into a thumbnail. `Ok(Err(note))` when jpeg-decoder turns out not to
/// support this variant; the file may still be fine.
fn decode_thumbnail(
    reader: &mut SourceReader,
    header: &Header,
    limits: &Limits,
    orientation: Option<u8>,
) -> Result<Result<thumbnail::Thumbnail, String>, InspectError> {
    seek_to(reader, 0).map_err(|e| io_failure(reader, FORMAT, PART, e))?;
    let (want_w, want_h) = thumbnail::fit(header.width, header.height, limits.thumbnail_max_side);
    let decoded = {
        let mut decoder = jpeg_decoder::Decoder::new(&mut *reader);
        decoder.set_max_decoding_buffer_size(limits.decode_budget);
        // Sides are at most 65,535 in a JPEG header, and the thumbnail is smaller still.
        let request = (
            u16::try_from(want_w).unwrap_or(u16::MAX),
            u16::try_from(want_h).unwrap_or(u16::MAX),
        );
        decoder
            .scale(request.0, request.1)
            .and_then(|size| decoder.decode().map(|pixels| (size, pixels)))
    };
    let ((width, height), pixels) = match decoded {
        Ok(done) => done,
        Err(jpeg_decoder::Error::Unsupported(feature)) => {
            return Ok(Err(format!(
                "no thumbnail: this kind of JPEG cannot be previewed ({feature:?})"
            )));
        }
        Err(jpeg_decoder::Error::Io(e)) => {
            let eof = e.kind() == io::ErrorKind::UnexpectedEof;
            return Err(decode_failure(reader, FORMAT, PART, eof, e));
        }
        Err(jpeg_decoder::Error::Format(detail))
            if detail.contains("exceeds maximum allowed size") =>
        {
            return Ok(Err(format!(
                "no thumbnail: this JPEG would need more than {} MB to preview",
                limits.decode_budget >> 20
            )));
        }
        Err(e) => return Err(decode_failure(reader, FORMAT, PART, false, e)),
    };
    let (width, height) = (u32::from(width), u32::from(height));
    let sixteen_bit = header.sampling.len() == 1 && header.precision > 8;
    let bytes_per_pixel = match header.sampling.len() {
        1 if sixteen_bit => 2,
        n => n,
    };
    let row_len = width as usize * bytes_per_pixel;
    if row_len == 0 || pixels.len() < row_len * height as usize {
        return Err(decode_failure(
            reader,
            FORMAT,
            PART,
            false,
            "the decoder returned fewer pixels than the header declares",
        ));
    }
    let mut filter = BoxFilter::new(width, height, limits.thumbnail_max_side);
    let mut converted = Vec::new();
    for (y, row) in pixels
        .chunks_exact(row_len)
        .take(height as usize)
        .enumerate()
    {
        let (row, channels) = if sixteen_bit {
            // Native-endian 16-bit samples of `precision` bits, as jpeg-decoder documents.
            let max = (1u32 << header.precision.min(16)) - 1;
            converted.clear();
            converted.extend(row.chunks_exact(2).map(|s| {
                (u32::from(u16::from_ne_bytes([s[0], s[1]])).min(max) * 255 / max.max(1)) as u8
            }));
            (&converted[..], 1)
        } else if bytes_per_pixel == 4 {
            // jpeg-decoder gives CMYK as ink amounts.
            converted.clear();
            converted.extend(row.chunks_exact(4).flat_map(|p| {
                let white =
                    |ink: u8| ((255 - u32::from(ink)) * (255 - u32::from(p[3])) / 255) as u8;
                [white(p[0]), white(p[1]), white(p[2])]
            }));
            (&converted[..], 3)
        } else {
            (row, bytes_per_pixel)
        };
        filter.add_row(y as u32, 0, 1, row, channels);
    }
    drop(pixels);
    Ok(thumbnail::finish(
        filter,
        orientation,
        limits.thumbnail_quality,
    ))
}
