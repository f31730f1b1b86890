//! PNG: size from the IHDR chunk, checked before the png crate sees the file; then the image is
//! decoded one row at a time straight into the thumbnail's box filter, never held whole.

use std::io::{self, Read};

use super::thumbnail::{self, BoxFilter};
use super::{
    Findings, InspectError, Limits, SourceReader, check_dimensions, decode_failure,
    exif_orientation, io_failure, seek_to,
};

const FORMAT: &str = "PNG";
const PART: &str = "image data";

pub(crate) fn inspect(
    reader: &mut SourceReader,
    limits: &Limits,
) -> Result<Findings, InspectError> {
    let (width, height) = read_ihdr(reader).map_err(|e| io_failure(reader, FORMAT, "header", e))?;
    check_dimensions(FORMAT, width, height, limits)?;

    seek_to(reader, 0).map_err(|e| io_failure(reader, FORMAT, PART, e))?;
    let mut decoder = png::Decoder::new_with_limits(
        &mut *reader,
        png::Limits {
            bytes: limits.decode_budget,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    // Text chunks and ICC profiles can be large and say nothing the library needs.
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let outcome = decode(decoder, width, height, limits);
    match outcome {
        Ok(found) => Ok(found),
        Err(png::DecodingError::IoError(e)) => {
            let eof = e.kind() == io::ErrorKind::UnexpectedEof;
            Err(decode_failure(reader, FORMAT, PART, eof, e))
        }
        Err(png::DecodingError::LimitsExceeded) => Err(decode_failure(
            reader,
            FORMAT,
            PART,
            false,
            format!(
                "its metadata needs more than {} MB",
                limits.decode_budget >> 20
            ),
        )),
        Err(e) => Err(decode_failure(reader, FORMAT, PART, false, e)),
    }
}

/// Width and height from the signature and the IHDR chunk that must follow it.
fn read_ihdr(reader: &mut SourceReader) -> io::Result<(u32, u32)> {
    seek_to(reader, 0)?;
    let mut head = [0u8; 24];
    reader.read_exact(&mut head)?;
    if &head[12..16] != b"IHDR" || head[8..12] != 13u32.to_be_bytes() {
        return Err(super::invalid(
            "its first chunk is not the image header (IHDR)",
        ));
    }
    let width = u32::from_be_bytes([head[16], head[17], head[18], head[19]]);
    let height = u32::from_be_bytes([head[20], head[21], head[22], head[23]]);
    Ok((width, height))
}

fn decode(
    decoder: png::Decoder<&mut SourceReader>,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<Findings, png::DecodingError> {
    let mut png = decoder.read_info()?;
    let info = png.info();
    let orientation = info.exif_metadata.as_deref().and_then(exif_orientation);
    let mut rows = RowPositions::new(width, height, info.interlaced);
    let channels = png.output_color_type().0.samples();
    let mut filter = BoxFilter::new(width, height, limits.thumbnail_max_side);
    while let Some(row) = png.next_row()? {
        let Some((y, x0, step)) = rows.next() else {
            break;
        };
        filter.add_row(y, x0, step, row.data(), channels);
    }
    // Reads the chunks after the image data up to IEND: a file cut there is still cut.
    png.finish()?;
    let mut found = Findings {
        width: Some(width),
        height: Some(height),
        orientation,
        ..Findings::default()
    };
    match thumbnail::finish(filter, orientation, limits.thumbnail_quality) {
        Ok(t) => found.thumbnail = Some(t),
        Err(note) => found.notes.push(note),
    }
    Ok(found)
}

/// Where each row the decoder returns belongs: `(y, first x, x step)`. Interlaced (Adam7) images
/// come in seven passes of sparser rows; the png crate does not expose a row's pass, so this
/// follows the same order it does.
struct RowPositions {
    width: u32,
    height: u32,
    interlaced: bool,
    pass: usize,
    line: u32,
}

/// (x step, x offset, y step, y offset) of each Adam7 pass.
const ADAM7: [(u32, u32, u32, u32); 7] = [
    (8, 0, 8, 0),
    (8, 4, 8, 0),
    (4, 0, 8, 4),
    (4, 2, 4, 0),
    (2, 0, 4, 2),
    (2, 1, 2, 0),
    (1, 0, 2, 1),
];

impl RowPositions {
    fn new(width: u32, height: u32, interlaced: bool) -> Self {
        Self {
            width,
            height,
            interlaced,
            pass: 0,
            line: 0,
        }
    }
}

impl Iterator for RowPositions {
    type Item = (u32, u32, u32);

    fn next(&mut self) -> Option<Self::Item> {
        if !self.interlaced {
            let y = self.line;
            self.line += 1;
            return (y < self.height).then_some((y, 0, 1));
        }
        while let Some(&(x_step, x0, y_step, y0)) = ADAM7.get(self.pass) {
            let samples = self.width.saturating_sub(x0).div_ceil(x_step);
            let lines = self.height.saturating_sub(y0).div_ceil(y_step);
            if samples > 0 && self.line < lines {
                let y = y0 + self.line * y_step;
                self.line += 1;
                return Some((y, x0, x_step));
            }
            self.pass += 1;
            self.line = 0;
        }
        None
    }
}
