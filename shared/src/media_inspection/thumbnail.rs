//! Thumbnails built from rows as a decoder produces them: a box filter that holds only the
//! thumbnail-sized sums, then EXIF orientation, then JPEG encoding.

/// A small upright JPEG preview of a photo or GIF.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbnail")
            .field("jpeg", &format_args!("{} bytes", self.jpeg.len()))
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// The size that fits `width` x `height` within `max_side` on both sides, keeping the shape and
/// never enlarging.
pub(crate) fn fit(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let max_side = max_side.max(1);
    let longest = width.max(height).max(1);
    if longest <= max_side {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        let scaled =
            (u64::from(side) * u64::from(max_side) + u64::from(longest) / 2) / u64::from(longest);
        (scaled as u32).clamp(1, max_side)
    };
    (scale(width), scale(height))
}

/// Averages every source pixel into the thumbnail cell it falls in. Memory is the thumbnail's
/// size (sums and counts) plus one entry per source column, whatever the source size, and rows
/// may arrive in any order (interlaced PNG and GIF deliver them in passes).
pub(crate) struct BoxFilter {
    src_height: u32,
    width: u32,
    height: u32,
    /// Thumbnail column of each source column.
    columns: Vec<u32>,
    sums: Vec<u64>,
    counts: Vec<u32>,
}

impl BoxFilter {
    pub(crate) fn new(src_width: u32, src_height: u32, max_side: u32) -> Self {
        let (width, height) = fit(src_width, src_height, max_side);
        let columns = (0..src_width)
            .map(|x| (u64::from(x) * u64::from(width) / u64::from(src_width.max(1))) as u32)
            .collect();
        let cells = width as usize * height as usize;
        Self {
            src_height,
            width,
            height,
            columns,
            sums: vec![0; cells * 3],
            counts: vec![0; cells],
        }
    }

    /// Adds one row (or one interlaced pass of a row) of `channels`-byte pixels: 1 grey,
    /// 2 grey + alpha, 3 RGB, 4 RGBA. Pixel `i` is at column `x0 + i * step`. Transparent pixels
    /// are laid over white, as the JPEG thumbnail cannot keep them.
    pub(crate) fn add_row(&mut self, y: u32, x0: u32, step: u32, pixels: &[u8], channels: usize) {
        if y >= self.src_height || channels == 0 || channels > 4 {
            return;
        }
        let row = (u64::from(y) * u64::from(self.height) / u64::from(self.src_height)) as usize
            * self.width as usize;
        let mut x = x0 as usize;
        for pixel in pixels.chunks_exact(channels) {
            let Some(&column) = self.columns.get(x) else {
                break;
            };
            let [r, g, b] = to_rgb(pixel);
            let cell = row + column as usize;
            self.sums[cell * 3] += u64::from(r);
            self.sums[cell * 3 + 1] += u64::from(g);
            self.sums[cell * 3 + 2] += u64::from(b);
            self.counts[cell] += 1;
            x += step.max(1) as usize;
        }
    }

    /// The averaged RGB pixels and their size. Cells no pixel reached (a GIF frame smaller than
    /// its canvas, a short image) are white.
    pub(crate) fn finish(self) -> (Vec<u8>, u32, u32) {
        let rgb = self
            .sums
            .chunks_exact(3)
            .zip(&self.counts)
            .flat_map(|(sum, &count)| {
                if count == 0 {
                    [255; 3]
                } else {
                    let n = u64::from(count);
                    [
                        ((sum[0] + n / 2) / n) as u8,
                        ((sum[1] + n / 2) / n) as u8,
                        ((sum[2] + n / 2) / n) as u8,
                    ]
                }
            })
            .collect();
        (rgb, self.width, self.height)
    }
}

fn to_rgb(pixel: &[u8]) -> [u8; 3] {
    let over_white = |c: u8, a: u8| {
        ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8
    };
    match *pixel {
        [l] => [l; 3],
        [l, a] => [over_white(l, a); 3],
        [r, g, b] => [r, g, b],
        [r, g, b, a] => [over_white(r, a), over_white(g, a), over_white(b, a)],
        _ => [255; 3],
    }
}

/// Turns a stored RGB image upright as EXIF `orientation` (1-8) says.
pub(crate) fn orient(
    rgb: Vec<u8>,
    width: u32,
    height: u32,
    orientation: u8,
) -> (Vec<u8>, u32, u32) {
    if !(2..=8).contains(&orientation) {
        return (rgb, width, height);
    }
    let (w, h) = (width as usize, height as usize);
    let (out_w, out_h) = if orientation >= 5 { (h, w) } else { (w, h) };
    let mut out = vec![0u8; out_w * out_h * 3];
    for oy in 0..out_h {
        for ox in 0..out_w {
            let (sx, sy) = match orientation {
                2 => (w - 1 - ox, oy),
                3 => (w - 1 - ox, h - 1 - oy),
                4 => (ox, h - 1 - oy),
                5 => (oy, ox),
                6 => (oy, h - 1 - ox),
                7 => (w - 1 - oy, h - 1 - ox),
                _ => (w - 1 - oy, ox),
            };
            let (s, o) = ((sy * w + sx) * 3, (oy * out_w + ox) * 3);
            out[o..o + 3].copy_from_slice(&rgb[s..s + 3]);
        }
    }
    (out, out_w as u32, out_h as u32)
}

/// The finished thumbnail of everything added to `filter`, turned upright. `Err` says in words
/// why there is none.
pub(crate) fn finish(
    filter: BoxFilter,
    orientation: Option<u8>,
    quality: u8,
) -> Result<Thumbnail, String> {
    let (rgb, w, h) = filter.finish();
    let (rgb, w, h) = orient(rgb, w, h, orientation.unwrap_or(1));
    encode(&rgb, w, h, quality).map_err(|e| format!("no thumbnail: {e}"))
}

/// Encodes an RGB thumbnail as JPEG.
pub(crate) fn encode(
    rgb: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Thumbnail, String> {
    let (w, h) = (
        u16::try_from(width).map_err(|_| "thumbnail too wide".to_owned())?,
        u16::try_from(height).map_err(|_| "thumbnail too tall".to_owned())?,
    );
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, quality.clamp(1, 100))
        .encode(rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    Ok(Thumbnail {
        jpeg,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_the_shape_and_never_enlarges() {
        assert_eq!(fit(4000, 3000, 512), (512, 384));
        assert_eq!(fit(3000, 4000, 512), (384, 512));
        assert_eq!(fit(100, 50, 512), (100, 50));
        assert_eq!(fit(65_535, 1, 512), (512, 1));
        assert_eq!(fit(0, 0, 512), (1, 1));
    }

    #[test]
    fn the_box_filter_averages_and_composites_over_white() {
        let mut filter = BoxFilter::new(4, 2, 2);
        assert_eq!((filter.width, filter.height), (2, 1));
        filter.add_row(
            0,
            0,
            1,
            &[0, 0, 0, 255, 10, 20, 30, 255, 0, 0, 0, 0, 0, 0, 0, 0],
            4,
        );
        filter.add_row(
            1,
            0,
            1,
            &[0, 0, 0, 255, 10, 20, 30, 255, 0, 0, 0, 0, 0, 0, 0, 0],
            4,
        );
        let (rgb, w, h) = filter.finish();
        assert_eq!((w, h), (2, 1));
        assert_eq!(rgb, vec![5, 10, 15, 255, 255, 255]);
    }

    #[test]
    fn orientation_6_turns_the_left_column_into_the_top_row() {
        // 2 x 1: red, blue
        let (rgb, w, h) = orient(vec![255, 0, 0, 0, 0, 255], 2, 1, 6);
        assert_eq!((w, h), (1, 2));
        assert_eq!(rgb, vec![255, 0, 0, 0, 0, 255]);
        let (rgb, _, _) = orient(vec![255, 0, 0, 0, 0, 255], 2, 1, 8);
        assert_eq!(rgb, vec![0, 0, 255, 255, 0, 0]);
    }
}
