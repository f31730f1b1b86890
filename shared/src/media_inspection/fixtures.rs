//! The intake corpus builders: good files of every accepted format and the bad files the media
//! team will eventually upload, generated in code. Used by the unit tests and, through the
//! `test-fixtures` feature, by the system tests and benchmarks.

use std::borrow::Cow;

/// Deterministic noise (xorshift), so the corpus is the same on every run.
pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Left half red, right half blue, with a little noise so compressed data is not trivially small.
pub fn red_blue(width: u32, height: u32) -> Vec<u8> {
    let grain = noise((width * height) as usize, 7);
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let g = grain[(y * width + x) as usize] % 16;
            if x < width / 2 {
                rgb.extend_from_slice(&[240 + g % 16, g, g]);
            } else {
                rgb.extend_from_slice(&[g, g, 240 + g % 16]);
            }
        }
    }
    rgb
}

/// APP1 payload with one IFD entry: Orientation.
pub fn exif_orientation_app1(orientation: u16) -> Vec<u8> {
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(b"II*\0");
    app1.extend_from_slice(&8u32.to_le_bytes());
    app1.extend_from_slice(&1u16.to_le_bytes());
    app1.extend_from_slice(&0x0112u16.to_le_bytes());
    app1.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    app1.extend_from_slice(&1u32.to_le_bytes());
    app1.extend_from_slice(&orientation.to_le_bytes());
    app1.extend_from_slice(&[0, 0]);
    app1.extend_from_slice(&0u32.to_le_bytes());
    app1
}

pub fn jpeg(width: u32, height: u32, orientation: Option<u16>, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    encoder.set_progressive(progressive);
    if let Some(o) = orientation {
        encoder
            .add_app_segment(1, exif_orientation_app1(o))
            .unwrap();
    }
    encoder
        .encode(
            &red_blue(width, height),
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    out
}

pub fn png_rgba(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// A noisy, half-transparent PNG: noise keeps the image data large enough to cut in the middle.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = noise((width * height * 4) as usize, 3);
    for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
        px[3] = if i % 2 == 0 { 255 } else { 128 };
    }
    png_rgba(width, height, &pixels)
}

/// Two 20 x 10 frames, red then blue, 100 ms each.
pub fn gif() -> Vec<u8> {
    gif_frames(20, 10, false)
}

pub fn gif_frames(width: u16, height: u16, interlaced: bool) -> Vec<u8> {
    let palette = [255, 0, 0, 0, 0, 255];
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, width, height, &palette).unwrap();
        for colour in [0u8, 1] {
            let indices = vec![colour; usize::from(width) * usize::from(height)];
            let frame = gif::Frame {
                width,
                height,
                delay: 10,
                interlaced,
                buffer: Cow::Owned(indices),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).unwrap();
        }
    }
    out
}

pub fn webp(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    ::image_webp::WebPEncoder::new(&mut out)
        .encode(
            &red_blue(width, height),
            width,
            height,
            ::image_webp::ColorType::Rgb8,
        )
        .unwrap();
    out
}

pub fn mp4_box(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut b = ((content.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(content);
    b
}

pub fn full_box(kind: &[u8; 4], version_flags: u32, content: &[u8]) -> Vec<u8> {
    let mut c = version_flags.to_be_bytes().to_vec();
    c.extend_from_slice(content);
    mp4_box(kind, &c)
}

pub fn be32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

pub const IDENTITY: [u32; 9] = [0x1_0000, 0, 0, 0, 0x1_0000, 0, 0, 0, 0x4000_0000];

/// A minimal valid movie: one 1920 x 1080 avc1 track of 300 frames at 30000/1001, 10 s.
pub fn moov(handler: &[u8; 4], matrix: [u32; 9]) -> Vec<u8> {
    let mut mvhd = be32s(&[0, 0, 1000, 10_000, 0x1_0000]);
    mvhd.extend_from_slice(&[1, 0]);
    mvhd.extend_from_slice(&[0; 10]);
    mvhd.extend_from_slice(&be32s(&IDENTITY));
    mvhd.extend_from_slice(&[0; 24]);
    mvhd.extend_from_slice(&be32s(&[2]));

    let mut tkhd = be32s(&[0, 0, 1, 0, 10_000, 0, 0]);
    tkhd.extend_from_slice(&[0; 8]);
    tkhd.extend_from_slice(&be32s(&matrix));
    tkhd.extend_from_slice(&be32s(&[1920 << 16, 1080 << 16]));

    let mut mdhd = be32s(&[0, 0, 30_000, 300_300]);
    mdhd.extend_from_slice(&[0x55, 0xC4, 0, 0]);
    let mut hdlr = be32s(&[0]);
    hdlr.extend_from_slice(handler);
    hdlr.extend_from_slice(&[0; 12]);
    hdlr.extend_from_slice(b"Handler\0");

    let mut avc1 = vec![0; 6];
    avc1.extend_from_slice(&1u16.to_be_bytes());
    avc1.extend_from_slice(&[0; 16]);
    avc1.extend_from_slice(&1920u16.to_be_bytes());
    avc1.extend_from_slice(&1080u16.to_be_bytes());
    avc1.extend_from_slice(&be32s(&[0x48_0000, 0x48_0000, 0]));
    avc1.extend_from_slice(&1u16.to_be_bytes());
    avc1.extend_from_slice(&[0; 32]);
    avc1.extend_from_slice(&[0, 0x18, 0xFF, 0xFF]);
    avc1.extend(mp4_box(
        b"avcC",
        &[
            1, 0x64, 0, 0x28, 0xFF, 0xE1, 0, 4, 0x67, 0x64, 0, 0x28, 1, 0, 4, 0x68, 0xEE, 0x3C,
            0x80,
        ],
    ));
    let mut stsd = be32s(&[1]);
    stsd.extend(mp4_box(b"avc1", &avc1));

    let stbl = [
        full_box(b"stsd", 0, &stsd),
        full_box(b"stts", 0, &be32s(&[1, 300, 1001])),
        full_box(b"stsc", 0, &be32s(&[1, 1, 300, 1])),
        full_box(b"stsz", 0, &be32s(&[100, 300])),
        full_box(b"stco", 0, &be32s(&[1, 48])),
    ]
    .concat();
    let dinf = mp4_box(
        b"dinf",
        &full_box(
            b"dref",
            0,
            &[be32s(&[1]), full_box(b"url ", 1, &[])].concat(),
        ),
    );
    let minf = mp4_box(
        b"minf",
        &[full_box(b"vmhd", 1, &[0; 8]), dinf, mp4_box(b"stbl", &stbl)].concat(),
    );
    let mdia = mp4_box(
        b"mdia",
        &[
            full_box(b"mdhd", 0, &mdhd),
            full_box(b"hdlr", 0, &hdlr),
            minf,
        ]
        .concat(),
    );
    let trak = mp4_box(b"trak", &[full_box(b"tkhd", 3, &tkhd), mdia].concat());
    mp4_box(b"moov", &[full_box(b"mvhd", 0, &mvhd), trak].concat())
}

pub fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
    mp4_box(
        b"ftyp",
        &[&brand[..], &[0, 0, 2, 0], b"isomiso2avc1mp41"].concat(),
    )
}

pub fn mp4(moov_at_end: bool, mdat_len: usize) -> Vec<u8> {
    let mdat = mp4_box(b"mdat", &noise(mdat_len, 11));
    let moov = moov(b"vide", IDENTITY);
    if moov_at_end {
        [ftyp(b"isom"), mdat, moov].concat()
    } else {
        [ftyp(b"isom"), moov, mdat].concat()
    }
}

pub fn ebml(id: u32, content: &[u8]) -> Vec<u8> {
    let id_bytes = id.to_be_bytes();
    let skip = id_bytes.iter().position(|b| *b != 0).unwrap_or(3);
    let mut e = id_bytes[skip..].to_vec();
    // 8-byte size: 0x01 then 7 bytes.
    e.push(0x01);
    e.extend_from_slice(&(content.len() as u64).to_be_bytes()[1..]);
    e.extend_from_slice(content);
    e
}

pub fn ebml_uint(id: u32, value: u64) -> Vec<u8> {
    ebml(id, &value.to_be_bytes())
}

/// A WebM of 5 s, 1280 x 720 VP9 at 30 frames per second, with one small cluster.
pub fn webm(segment_size_extra: u64) -> Vec<u8> {
    let header = ebml(
        0x1A45_DFA3,
        &[
            ebml_uint(0x4286, 1),
            ebml(0x4282, b"webm"),
            ebml_uint(0x4287, 4),
        ]
        .concat(),
    );
    let info = ebml(
        0x1549_A966,
        &[
            ebml_uint(0x2A_D7B1, 1_000_000),
            ebml(0x4489, &5000.0f64.to_be_bytes()),
        ]
        .concat(),
    );
    let track = ebml(
        0xAE,
        &[
            ebml_uint(0xD7, 1),
            ebml_uint(0x83, 1),
            ebml(0x86, b"V_VP9"),
            ebml_uint(0x23_E383, 33_333_333),
            ebml(
                0xE0,
                &[ebml_uint(0xB0, 1280), ebml_uint(0xBA, 720)].concat(),
            ),
        ]
        .concat(),
    );
    let tracks = ebml(0x1654_AE6B, &track);
    let cluster = ebml(0x1F43_B675, &noise(4096, 5));
    let body = [info, tracks, cluster].concat();
    let mut segment = vec![0x18, 0x53, 0x80, 0x67, 0x01];
    segment.extend_from_slice(&(body.len() as u64 + segment_size_extra).to_be_bytes()[1..]);
    segment.extend(body);
    [header, segment].concat()
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose (correctly checksummed) IHDR declares `width` x `height`, followed by a tiny IDAT.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let chunk = png_chunk;
    let mut ihdr = be32s(&[width, height]);
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        chunk(b"IHDR", &ihdr),
        chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        chunk(b"IEND", &[]),
    ]
    .concat()
}

/// An Adam7-interlaced RGB PNG built by hand (the png crate only writes non-interlaced files),
/// with its image data in stored (uncompressed) deflate blocks.
pub fn png_interlaced(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (8, 0, 8, 0),
        (8, 4, 8, 0),
        (4, 0, 8, 4),
        (4, 2, 4, 0),
        (2, 0, 4, 2),
        (2, 1, 2, 0),
        (1, 0, 2, 1),
    ];
    let mut raw = Vec::new();
    for (x_step, x0, y_step, y0) in PASSES {
        let columns = width.saturating_sub(x0).div_ceil(x_step);
        let rows = height.saturating_sub(y0).div_ceil(y_step);
        if columns == 0 {
            continue;
        }
        for r in 0..rows {
            raw.push(0); // filter: none
            for c in 0..columns {
                let (x, y) = (x0 + c * x_step, y0 + r * y_step);
                let at = ((y * width + x) * 3) as usize;
                raw.extend_from_slice(&rgb[at..at + 3]);
            }
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let n = block.len() as u16;
        zlib.extend_from_slice(&n.to_le_bytes());
        zlib.extend_from_slice(&(!n).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&(b << 16 | a).to_be_bytes());
    let mut ihdr = be32s(&[width, height]);
    ihdr.extend_from_slice(&[8, 2, 0, 0, 1]);
    [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        png_chunk(b"IHDR", &ihdr),
        png_chunk(b"IDAT", &zlib),
        png_chunk(b"IEND", &[]),
    ]
    .concat()
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc32(&[&kind[..], data].concat()).to_be_bytes());
    c
}

pub fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec()
}

pub fn cut(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len() / 2);
    bytes
}

/// A JPEG of noise; different seeds give different files (and checksums).
pub fn noise_jpeg(width: u16, height: u16, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let pixels = noise(usize::from(width) * usize::from(height) * 3, seed);
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("a JPEG");
    out
}

/// A PNG of noise; different seeds give different files (and checksums).
pub fn noise_png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("a PNG header");
    writer
        .write_image_data(&noise((width * height * 3) as usize, seed))
        .expect("PNG data");
    writer.finish().expect("a PNG");
    out
}
