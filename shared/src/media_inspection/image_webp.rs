//! WebP: size from the first chunk, completeness from the RIFF length; the thumbnail comes from a
//! whole-frame decode (WebP has no row-by-row decoding), so only within the decode budget.

use std::io::{self, Read};

use super::thumbnail::{self, BoxFilter};
use super::{
    Findings, InspectError, Limits, Rejection, SourceReader, check_dimensions, decode_failure,
    invalid, io_failure, seek_to,
};

const FORMAT: &str = "WebP";
const PART: &str = "image data";

pub(crate) fn inspect(
    reader: &mut SourceReader,
    limits: &Limits,
) -> Result<Findings, InspectError> {
    let (riff_len, width, height, bytes_per_pixel) =
        read_header(reader).map_err(|e| io_failure(reader, FORMAT, "header", e))?;
    check_dimensions(FORMAT, width, height, limits)?;
    if riff_len > reader.len() {
        return Err(Rejection::Truncated {
            format: FORMAT,
            part: PART,
        }
        .into());
    }
    let mut found = Findings {
        width: Some(width),
        height: Some(height),
        ..Findings::default()
    };
    if u64::from(width) * u64::from(height) * bytes_per_pixel > limits.decode_budget as u64 {
        found.notes.push(format!(
            "no thumbnail: this WebP would need more than {} MB to preview",
            limits.decode_budget >> 20
        ));
        return Ok(found);
    }

    seek_to(reader, 0).map_err(|e| io_failure(reader, FORMAT, PART, e))?;
    let decoded = (|| {
        let mut decoder = image_webp::WebPDecoder::new(&mut *reader)?;
        decoder.set_memory_limit(limits.decode_budget);
        let animated = decoder.is_animated().then(|| decoder.loop_duration());
        let channels = if decoder.has_alpha() { 4 } else { 3 };
        let size = decoder
            .output_buffer_size()
            .ok_or(image_webp::DecodingError::ImageTooLarge)?;
        let mut pixels = vec![0u8; size];
        decoder.read_image(&mut pixels)?;
        Ok::<_, image_webp::DecodingError>((pixels, channels, animated))
    })();
    let (pixels, channels, animated) = match decoded {
        Ok(done) => done,
        Err(image_webp::DecodingError::IoError(e)) => {
            let eof = e.kind() == io::ErrorKind::UnexpectedEof;
            return Err(decode_failure(reader, FORMAT, PART, eof, e));
        }
        Err(e) => return Err(decode_failure(reader, FORMAT, PART, false, e)),
    };
    found.duration_ms = animated.filter(|ms| *ms > 0);
    let mut filter = BoxFilter::new(width, height, limits.thumbnail_max_side);
    let row_len = width as usize * channels;
    for (y, row) in pixels.chunks_exact(row_len).enumerate() {
        filter.add_row(y as u32, 0, 1, row, channels);
    }
    drop(pixels);
    match thumbnail::finish(filter, None, limits.thumbnail_quality) {
        Ok(t) => found.thumbnail = Some(t),
        Err(note) => found.notes.push(note),
    }
    Ok(found)
}

/// The file length the RIFF header declares, the canvas size from the first chunk, and about how
/// many bytes per pixel image-webp holds to decode it: the RGB(A) output plus the YUV planes of
/// a lossy image (about 5), a second RGBA frame for a lossless one (7), or an animation's canvas
/// and frame (8).
fn read_header(reader: &mut SourceReader) -> io::Result<(u64, u32, u32, u64)> {
    seek_to(reader, 0)?;
    let mut head = [0u8; 30];
    reader.read_exact(&mut head)?;
    let le24 = |b: &[u8]| u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    let riff_len = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]])) + 8;
    let payload = &head[20..];
    let (width, height, bytes_per_pixel) = match &head[12..16] {
        b"VP8 " => {
            if payload[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(invalid("its lossy image data has no start code"));
            }
            (
                u32::from(u16::from_le_bytes([payload[6], payload[7]]) & 0x3FFF),
                u32::from(u16::from_le_bytes([payload[8], payload[9]]) & 0x3FFF),
                5,
            )
        }
        b"VP8L" => {
            if payload[0] != 0x2F {
                return Err(invalid("its lossless image data has no signature"));
            }
            let bits = u32::from_le_bytes([payload[1], payload[2], payload[3], payload[4]]);
            ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, 7)
        }
        b"VP8X" => (le24(&payload[4..7]) + 1, le24(&payload[7..10]) + 1, 8),
        _ => return Err(invalid("its first chunk is not image data")),
    };
    Ok((riff_len, width, height, bytes_per_pixel))
}
