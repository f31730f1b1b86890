//! GIF: canvas size from the header, the first frame decoded line by line into the thumbnail, the
//! other frames walked without decoding to count their delays and to find a cut file.

use std::io::{self, Read};
use std::num::NonZeroU64;

use super::thumbnail::{self, BoxFilter};
use super::{
    Findings, InspectError, Limits, Rejection, SourceReader, check_dimensions, decode_failure,
    io_failure, seek_to,
};

const FORMAT: &str = "GIF";
const PART: &str = "image data";

pub(crate) fn inspect(
    reader: &mut SourceReader,
    limits: &Limits,
) -> Result<Findings, InspectError> {
    let (width, height) =
        read_screen(reader).map_err(|e| io_failure(reader, FORMAT, "header", e))?;
    check_dimensions(FORMAT, width, height, limits)?;
    seek_to(reader, 0).map_err(|e| io_failure(reader, FORMAT, PART, e))?;

    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    if let Some(limit) = NonZeroU64::new(limits.decode_budget as u64) {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let outcome = options
        .read_info(&mut *reader)
        .and_then(|decoder| decode(decoder, width, height, limits));
    match outcome {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(rejection)) => Err(rejection.into()),
        Err(gif::DecodingError::Io(e)) => {
            let eof = e.kind() == io::ErrorKind::UnexpectedEof;
            Err(decode_failure(reader, FORMAT, PART, eof, e))
        }
        Err(gif::DecodingError::UnexpectedEof) => {
            Err(decode_failure(reader, FORMAT, PART, true, "unexpected end"))
        }
        Err(e) => Err(decode_failure(reader, FORMAT, PART, false, e)),
    }
}

/// The logical screen's width and height.
fn read_screen(reader: &mut SourceReader) -> io::Result<(u32, u32)> {
    seek_to(reader, 0)?;
    let mut head = [0u8; 10];
    reader.read_exact(&mut head)?;
    Ok((
        u32::from(u16::from_le_bytes([head[6], head[7]])),
        u32::from(u16::from_le_bytes([head[8], head[9]])),
    ))
}

fn decode(
    mut decoder: gif::Decoder<&mut SourceReader>,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<Result<Findings, Rejection>, gif::DecodingError> {
    let mut found = Findings {
        width: Some(width),
        height: Some(height),
        ..Findings::default()
    };
    let Some(first) = decoder.next_frame_info()? else {
        return Ok(Err(Rejection::corrupt(FORMAT, "it has no frames")));
    };
    let (left, top) = (u32::from(first.left), u32::from(first.top));
    let (frame_w, frame_h) = (u32::from(first.width), u32::from(first.height));
    let interlaced = first.interlaced;
    let mut delay_cs = u64::from(first.delay);
    // A frame may be larger than the screen; its pixels are decoded all the same.
    if let Err(rejection) = check_dimensions(FORMAT, frame_w.max(1), frame_h.max(1), limits) {
        return Ok(Err(rejection));
    }

    let mut filter = BoxFilter::new(width, height, limits.thumbnail_max_side);
    let mut line = vec![0u8; frame_w as usize * 4];
    if !line.is_empty() {
        for (i, y) in (InterlacedRows::new(frame_h, interlaced)).enumerate() {
            if i >= frame_h as usize || !decoder.fill_buffer(&mut line)? {
                // The frame's data ended early; browsers show what there is, so do we.
                break;
            }
            filter.add_row(top + y, left, 1, &line, 4);
        }
    }
    drop(line);

    let mut frames = 1u64;
    while let Some(frame) = decoder.next_frame_info()? {
        frames += 1;
        delay_cs += u64::from(frame.delay);
    }
    if frames > 1 {
        found.duration_ms = Some(delay_cs * 10);
    }
    match thumbnail::finish(filter, None, limits.thumbnail_quality) {
        Ok(t) => found.thumbnail = Some(t),
        Err(note) => found.notes.push(note),
    }
    Ok(Ok(found))
}

/// The row each decoded line of a frame belongs to: in order, or in GIF's four interlace passes
/// (every 8th row from 0, every 8th from 4, every 4th from 2, every 2nd from 1).
struct InterlacedRows {
    height: u32,
    interlaced: bool,
    pass: usize,
    next: u32,
}

impl InterlacedRows {
    fn new(height: u32, interlaced: bool) -> Self {
        Self {
            height,
            interlaced,
            pass: 0,
            next: 0,
        }
    }
}

impl Iterator for InterlacedRows {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        const PASSES: [(u32, u32); 4] = [(0, 8), (4, 8), (2, 4), (1, 2)];
        if !self.interlaced {
            let y = self.next;
            self.next += 1;
            return (y < self.height).then_some(y);
        }
        while let Some(&(start, step)) = PASSES.get(self.pass) {
            let y = start + self.next * step;
            if y < self.height {
                self.next += 1;
                return Some(y);
            }
            self.pass += 1;
            self.next = 0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interlaced_rows_cover_every_row_once() {
        let mut rows: Vec<u32> = InterlacedRows::new(11, true).collect();
        assert_eq!(rows[..4], [0, 8, 4, 2]);
        rows.sort_unstable();
        assert_eq!(rows, (0..11).collect::<Vec<_>>());
    }
}
