//! The intake corpus, generated here: good files of every accepted format and the bad files the
//! media team will eventually upload, each with the answer it must get.

use std::borrow::Cow;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::*;

// --- corpus builders ---

/// Deterministic noise (xorshift), so the corpus is the same on every run.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
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
fn red_blue(width: u32, height: u32) -> Vec<u8> {
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
fn exif_orientation_app1(orientation: u16) -> Vec<u8> {
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

fn jpeg(width: u32, height: u32, orientation: Option<u16>, progressive: bool) -> Vec<u8> {
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

fn png_rgba(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
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
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = noise((width * height * 4) as usize, 3);
    for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
        px[3] = if i % 2 == 0 { 255 } else { 128 };
    }
    png_rgba(width, height, &pixels)
}

/// Two 20 x 10 frames, red then blue, 100 ms each.
fn gif() -> Vec<u8> {
    gif_frames(20, 10, false)
}

fn gif_frames(width: u16, height: u16, interlaced: bool) -> Vec<u8> {
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

fn webp(width: u32, height: u32) -> Vec<u8> {
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

fn mp4_box(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut b = ((content.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(content);
    b
}

fn full_box(kind: &[u8; 4], version_flags: u32, content: &[u8]) -> Vec<u8> {
    let mut c = version_flags.to_be_bytes().to_vec();
    c.extend_from_slice(content);
    mp4_box(kind, &c)
}

fn be32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

const IDENTITY: [u32; 9] = [0x1_0000, 0, 0, 0, 0x1_0000, 0, 0, 0, 0x4000_0000];

/// A minimal valid movie: one 1920 x 1080 avc1 track of 300 frames at 30000/1001, 10 s.
fn moov(handler: &[u8; 4], matrix: [u32; 9]) -> Vec<u8> {
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

fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
    mp4_box(
        b"ftyp",
        &[&brand[..], &[0, 0, 2, 0], b"isomiso2avc1mp41"].concat(),
    )
}

fn mp4(moov_at_end: bool, mdat_len: usize) -> Vec<u8> {
    let mdat = mp4_box(b"mdat", &noise(mdat_len, 11));
    let moov = moov(b"vide", IDENTITY);
    if moov_at_end {
        [ftyp(b"isom"), mdat, moov].concat()
    } else {
        [ftyp(b"isom"), moov, mdat].concat()
    }
}

fn ebml(id: u32, content: &[u8]) -> Vec<u8> {
    let id_bytes = id.to_be_bytes();
    let skip = id_bytes.iter().position(|b| *b != 0).unwrap_or(3);
    let mut e = id_bytes[skip..].to_vec();
    // 8-byte size: 0x01 then 7 bytes.
    e.push(0x01);
    e.extend_from_slice(&(content.len() as u64).to_be_bytes()[1..]);
    e.extend_from_slice(content);
    e
}

fn ebml_uint(id: u32, value: u64) -> Vec<u8> {
    ebml(id, &value.to_be_bytes())
}

/// A WebM of 5 s, 1280 x 720 VP9 at 30 frames per second, with one small cluster.
fn webm(segment_size_extra: u64) -> Vec<u8> {
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

fn crc32(bytes: &[u8]) -> u32 {
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
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
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
fn png_interlaced(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
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

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc32(&[&kind[..], data].concat()).to_be_bytes());
    c
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn cut(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len() / 2);
    bytes
}

fn ok(bytes: &[u8], name: &str) -> Inspection {
    inspect(&bytes, name, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e} ({e:?})"))
}

fn rejected(bytes: &[u8], name: &str, limits: &Limits) -> Rejection {
    match inspect(&bytes, name, limits) {
        Err(InspectError::Rejected(r)) => r,
        other => panic!("{name}: expected a rejection, got {other:?}"),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn thumbnail_pixels(t: &Thumbnail) -> Vec<u8> {
    let mut decoder = jpeg_decoder::Decoder::new(&t.jpeg[..]);
    let pixels = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    assert_eq!(
        (u32::from(info.width), u32::from(info.height)),
        (t.width, t.height)
    );
    pixels
}

// --- good files ---

#[test]
fn a_jpeg_with_exif_orientation_6_gets_an_upright_thumbnail() {
    let bytes = jpeg(64, 32, Some(6), false);
    let found = ok(&bytes, "IMG_0001.JPG");
    assert_eq!(found.kind, MediaKind::Image);
    assert_eq!(found.content_type, "image/jpeg");
    assert_eq!(found.extension, "jpg");
    assert_eq!(found.size, bytes.len() as u64);
    assert_eq!(found.sha256, hex_sha256(&bytes));
    assert_eq!((found.width, found.height), (Some(64), Some(32)));
    assert_eq!(found.orientation, Some(6));
    assert_eq!(found.display_size(), Some((32, 64)));
    assert!(found.notes.is_empty(), "{:?}", found.notes);
    let thumbnail = found.thumbnail.expect("a thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (32, 64));
    // turned clockwise: the red left half is now on top
    let px = thumbnail_pixels(&thumbnail);
    let at = |x: usize, y: usize| &px[(y * 32 + x) * 3..(y * 32 + x) * 3 + 3];
    assert!(at(16, 8)[0] > 200 && at(16, 8)[2] < 60, "{:?}", at(16, 8));
    assert!(
        at(16, 56)[2] > 200 && at(16, 56)[0] < 60,
        "{:?}",
        at(16, 56)
    );
}

#[test]
fn a_large_jpeg_is_decoded_at_reduced_scale_into_a_512_pixel_thumbnail() {
    let bytes = jpeg(4096, 2048, None, false);
    let found = ok(&bytes, "wide.jpg");
    assert_eq!((found.width, found.height), (Some(4096), Some(2048)));
    assert_eq!(found.orientation, None);
    let thumbnail = found.thumbnail.expect("a thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (512, 256));
    let px = thumbnail_pixels(&thumbnail);
    assert!(px[0] > 200 && px[2] < 60, "left is red");
    let right = (100 * 512 + 500) * 3;
    assert!(px[right + 2] > 200 && px[right] < 60, "right is blue");
}

#[test]
fn a_progressive_jpeg_within_the_budget_is_previewed_and_over_it_is_only_checked() {
    let bytes = jpeg(800, 600, None, true);
    let found = ok(&bytes, "p.jpg");
    assert_eq!(
        found.thumbnail.map(|t| (t.width, t.height)),
        Some((512, 384))
    );

    let tight = Limits {
        decode_budget: 256 * 1024,
        ..Limits::default()
    };
    let found = inspect(&bytes, "p.jpg", &tight).unwrap();
    assert_eq!(found.thumbnail, None);
    assert_eq!(
        found.notes,
        vec!["no thumbnail: this progressive JPEG would need more than 0 MB to preview"]
    );
    // decoded or not, a cut file is found out
    assert_eq!(
        rejected(&cut(bytes.clone()), "p.jpg", &Limits::default()),
        Rejection::Truncated {
            format: "JPEG",
            part: "image data"
        }
    );
    assert_eq!(
        rejected(&cut(bytes), "p.jpg", &tight),
        Rejection::Truncated {
            format: "JPEG",
            part: "image data"
        }
    );
}

#[test]
fn a_jpeg_with_endless_colour_profile_pieces_is_not_handed_to_the_decoder() {
    // jpeg-decoder would keep every piece: 300 x 60 KB here, gigabytes in a hostile upload
    let plain = jpeg(64, 64, None, false);
    let mut bytes = plain[..2].to_vec();
    for i in 0..300u32 {
        let mut segment = b"ICC_PROFILE\0".to_vec();
        segment.extend_from_slice(&[(i % 255) as u8 + 1, 255]);
        segment.extend_from_slice(&vec![0; 60_000]);
        bytes.extend_from_slice(&[0xFF, 0xE2]);
        bytes.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
        bytes.extend(segment);
    }
    bytes.extend_from_slice(&plain[2..]);
    let found = ok(&bytes, "profiled.jpg");
    assert_eq!(found.thumbnail, None);
    assert_eq!(
        found.notes,
        vec!["no thumbnail: its colour profile comes in 300 pieces, more than a JPEG can hold"]
    );
}

#[test]
fn a_png_is_previewed_row_by_row_with_transparency_over_white() {
    let bytes = png(300, 200);
    let found = ok(&bytes, "logo.png");
    assert_eq!(found.kind, MediaKind::Image);
    assert_eq!(found.content_type, "image/png");
    assert_eq!((found.width, found.height), (Some(300), Some(200)));
    assert_eq!(found.sha256, hex_sha256(&bytes));
    let thumbnail = found.thumbnail.expect("a thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (300, 200));

    // a fully transparent image comes out white
    let clear = png_rgba(600, 10, &vec![0; 600 * 10 * 4]);
    let thumbnail = ok(&clear, "clear.png").thumbnail.expect("a thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (512, 9));
    assert!(thumbnail_pixels(&thumbnail).iter().all(|v| *v > 250));
}

#[test]
fn an_interlaced_png_puts_every_pass_where_it_belongs() {
    // quadrants: red, green / blue, white
    let (w, h) = (37u32, 29u32);
    let mut rgb = Vec::new();
    for y in 0..h {
        for x in 0..w {
            rgb.extend_from_slice(match (x < w / 2, y < h / 2) {
                (true, true) => &[255, 0, 0],
                (false, true) => &[0, 255, 0],
                (true, false) => &[0, 0, 255],
                (false, false) => &[255, 255, 255],
            });
        }
    }
    let found = ok(&png_interlaced(w, h, &rgb), "adam7.png");
    let thumbnail = found.thumbnail.expect("a thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (w, h));
    let px = thumbnail_pixels(&thumbnail);
    let at = |x: u32, y: u32| {
        let i = ((y * w + x) * 3) as usize;
        [px[i], px[i + 1], px[i + 2]]
    };
    let near = |got: [u8; 3], want: [u8; 3]| got.iter().zip(want).all(|(g, w)| g.abs_diff(w) < 60);
    assert!(near(at(5, 5), [255, 0, 0]), "{:?}", at(5, 5));
    assert!(near(at(30, 5), [0, 255, 0]), "{:?}", at(30, 5));
    assert!(near(at(5, 24), [0, 0, 255]), "{:?}", at(5, 24));
    assert!(near(at(30, 24), [255, 255, 255]), "{:?}", at(30, 24));
}

#[test]
fn an_animated_gif_reports_its_duration_and_first_frame() {
    let bytes = gif();
    let found = ok(&bytes, "loop.gif");
    assert_eq!(found.kind, MediaKind::Gif);
    assert_eq!(found.content_type, "image/gif");
    assert_eq!((found.width, found.height), (Some(20), Some(10)));
    assert_eq!(found.duration_ms, Some(200));
    let thumbnail = found.thumbnail.expect("a thumbnail");
    let px = thumbnail_pixels(&thumbnail);
    assert!(
        px[0] > 200 && px[2] < 60,
        "the first frame is red: {:?}",
        &px[..3]
    );
}

#[test]
fn a_webp_is_sized_and_previewed() {
    let bytes = webp(640, 480);
    let found = ok(&bytes, "photo.webp");
    assert_eq!(found.kind, MediaKind::Image);
    assert_eq!(found.content_type, "image/webp");
    assert_eq!(found.extension, "webp");
    assert_eq!((found.width, found.height), (Some(640), Some(480)));
    let thumbnail = found.thumbnail.expect("a thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (512, 384));
}

#[test]
fn an_mp4_reports_duration_size_codec_and_frame_rate_wherever_its_moov_is() {
    for moov_at_end in [false, true] {
        let bytes = mp4(moov_at_end, 100_000);
        let found = ok(&bytes, "clip.mp4");
        assert_eq!(found.kind, MediaKind::Video);
        assert_eq!(found.content_type, "video/mp4");
        assert_eq!(found.extension, "mp4");
        assert_eq!(found.container, Some(Container::Mp4));
        assert_eq!(found.duration_ms, Some(10_000));
        assert_eq!((found.width, found.height), (Some(1920), Some(1080)));
        assert_eq!(found.video_codec.as_deref(), Some("avc1"));
        assert_eq!(found.frame_rate, Some(29.97));
        assert_eq!(found.rotation, Some(0));
        assert_eq!(found.thumbnail, None);
        assert_eq!(found.sha256, hex_sha256(&bytes));
    }
}

/// Counts what is read, to show the media data is hashed once and never parsed.
struct Counted {
    bytes: Vec<u8>,
    read: AtomicU64,
}

impl ObjectSource for Counted {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.bytes.read_at(offset, buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn an_mp4_with_its_moov_at_the_end_is_read_about_once() {
    let source = Counted {
        bytes: mp4(true, 3_000_000),
        read: AtomicU64::new(0),
    };
    let limits = Limits {
        read_chunk: 256 * 1024,
        ..Limits::default()
    };
    let found = inspect(&source, "late-moov.mp4", &limits).unwrap();
    assert_eq!(found.duration_ms, Some(10_000));
    let read = source.read.load(Ordering::Relaxed);
    // the whole file once for the hash, plus the chunk holding the moov read while parsing
    assert!(read <= source.len() + 256 * 1024, "{read} bytes read");
}

#[test]
fn a_quicktime_movie_and_a_rotated_phone_video() {
    let rotated = [0, 0x1_0000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000];
    let bytes = [
        ftyp(b"qt  "),
        moov(b"vide", rotated),
        mp4_box(b"mdat", &[0; 64]),
    ]
    .concat();
    let found = ok(&bytes, "IMG_0002.MOV");
    assert_eq!(found.content_type, "video/quicktime");
    assert_eq!(found.extension, "mov");
    assert_eq!(found.container, Some(Container::Mov));
    assert_eq!(found.rotation, Some(90));
}

#[test]
fn a_webm_reports_duration_size_codec_and_frame_rate() {
    let bytes = webm(0);
    let found = ok(&bytes, "clip.webm");
    assert_eq!(found.kind, MediaKind::Video);
    assert_eq!(found.content_type, "video/webm");
    assert_eq!(found.container, Some(Container::Webm));
    assert_eq!(found.duration_ms, Some(5_000));
    assert_eq!((found.width, found.height), (Some(1280), Some(720)));
    assert_eq!(found.video_codec.as_deref(), Some("vp09"));
    assert_eq!(found.frame_rate, Some(30.0));
}

#[test]
fn a_real_photo_with_the_wrong_extension_is_kept_under_its_real_one() {
    let found = ok(&png(10, 10), "photo.jpg");
    assert_eq!(found.content_type, "image/png");
    assert_eq!(found.extension, "png");
    assert_eq!(
        found.notes,
        vec!["photo.jpg is named .jpg but is a PNG file; it is stored as .png"]
    );
}

// --- bad files ---

/// Every bad file of the corpus, with the answer it must get.
fn bad_corpus() -> Vec<(&'static str, &'static str, Vec<u8>, Rejection)> {
    let truncated = |format| Rejection::Truncated {
        format,
        part: "image data",
    };
    vec![
        ("empty", "empty.jpg", Vec::new(), Rejection::Empty),
        (
            "truncated PNG",
            "cut.png",
            cut(png(256, 256)),
            truncated("PNG"),
        ),
        (
            "truncated JPEG",
            "cut.jpg",
            cut(jpeg(512, 512, None, false)),
            truncated("JPEG"),
        ),
        (
            "truncated GIF",
            "cut.gif",
            gif()[..60].to_vec(),
            truncated("GIF"),
        ),
        (
            "GIF cut in its second frame",
            "cut.gif",
            cut(gif()),
            truncated("GIF"),
        ),
        (
            "truncated WebP",
            "cut.webp",
            cut(webp(64, 64)),
            truncated("WebP"),
        ),
        (
            "PNG declaring 100,000 x 100,000",
            "huge.png",
            png_declaring(100_000, 100_000),
            Rejection::DecompressionBomb {
                width: 100_000,
                height: 100_000,
                max_pixels: 100_000_000,
            },
        ),
        (
            "PNG declaring 100,000,000 x 1",
            "line.png",
            png_declaring(100_000_000, 1),
            Rejection::DimensionsTooLarge {
                width: 100_000_000,
                height: 1,
                max_side: 65_535,
            },
        ),
        (
            "random bytes named .jpg",
            "random.jpg",
            noise(10_000, 42),
            Rejection::UnknownType {
                filename: "random.jpg".into(),
                detected: None,
            },
        ),
        (
            "a PDF named photo.jpg",
            "photo.jpg",
            pdf(),
            Rejection::TypeMismatch {
                filename: "photo.jpg".into(),
                declared: "jpg".into(),
                actual: "a PDF document".into(),
            },
        ),
        (
            "an MP4 cut in its media data",
            "cut.mp4",
            cut(mp4(false, 100_000)),
            Rejection::Truncated {
                format: "MP4",
                part: "video data",
            },
        ),
        (
            "an MP4 with its moov cut off",
            "cut.mp4",
            mp4(true, 100_000)[..100_000].to_vec(),
            Rejection::Truncated {
                format: "MP4",
                part: "video data",
            },
        ),
        (
            "an audio-only MP4",
            "voice.mp4",
            [ftyp(b"isom"), moov(b"soun", IDENTITY)].concat(),
            Rejection::NoVideoTrack { format: "MP4" },
        ),
        (
            "a WebM whose segment runs past the end",
            "cut.webm",
            webm(1_000_000),
            Rejection::Truncated {
                format: "WebM",
                part: "video data",
            },
        ),
        (
            "a JPEG of only its start marker",
            "stub.jpg",
            vec![0xFF, 0xD8, 0xFF],
            truncated("JPEG"),
        ),
        (
            "a PNG signature alone",
            "stub.png",
            b"\x89PNG\r\n\x1a\n".to_vec(),
            Rejection::Truncated {
                format: "PNG",
                part: "header",
            },
        ),
    ]
}

#[test]
fn every_bad_file_is_rejected_with_its_reason() {
    for (what, name, bytes, expected) in bad_corpus() {
        let got = rejected(&bytes, name, &Limits::default());
        assert_eq!(got, expected, "{what}");
        assert!(!got.to_string().is_empty());
    }
}

#[test]
fn no_bad_file_finds_a_panic_path() {
    let mut corpus: Vec<(String, Vec<u8>)> = bad_corpus()
        .into_iter()
        .map(|(_, name, bytes, _)| (name.to_owned(), bytes))
        .collect();
    // and every good file cut at many places, or with bytes flipped in its headers
    for (name, bytes) in good_corpus() {
        for end in (1..bytes.len()).step_by(bytes.len() / 40 + 1) {
            corpus.push((name.to_owned(), bytes[..end].to_vec()));
        }
        for at in (0..bytes.len().min(600)).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xA5;
            corpus.push((name.to_owned(), damaged));
        }
    }
    for (name, bytes) in corpus {
        assert_no_panic(&name, &bytes);
    }
}

fn good_corpus() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a.jpg", jpeg(64, 48, Some(6), false)),
        ("a.jpg", jpeg(64, 48, None, true)),
        ("a.png", png(40, 30)),
        ("a.png", png_interlaced(9, 7, &noise(9 * 7 * 3, 1))),
        ("a.gif", gif()),
        ("a.gif", gif_frames(9, 7, true)),
        ("a.webp", webp(40, 30)),
        ("a.mp4", mp4(false, 1_000)),
        ("a.mp4", mp4(true, 1_000)),
        ("a.webm", webm(0)),
    ]
}

fn assert_no_panic(name: &str, bytes: &[u8]) {
    let result = std::panic::catch_unwind(|| inspect(&bytes, name, &Limits::default()));
    // `inspect` also catches a decoder's panic itself and calls the file damaged: neither may
    // happen.
    let caught = matches!(
        &result,
        Ok(Err(InspectError::Rejected(Rejection::Corrupt { detail, .. })))
            if detail == "the decoder failed on it"
    );
    assert!(
        result.is_ok() && !caught,
        "{name} ({} bytes) panicked: {:02x?}",
        bytes.len(),
        &bytes[..bytes.len().min(64)]
    );
}

#[test]
#[ignore = "a minute or two of random damage; run by hand"]
fn random_damage_never_panics() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let rounds = std::env::var("INTAKE_DAMAGE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    for (name, bytes) in good_corpus() {
        for _ in 0..rounds {
            let mut damaged = bytes.clone();
            let len = damaged.len() as u64;
            match next() % 4 {
                0 => {
                    for _ in 0..1 + next() % 8 {
                        let at = (next() % len) as usize;
                        damaged[at] = next() as u8;
                    }
                }
                1 => damaged.truncate((next() % len) as usize + 1),
                2 => {
                    let at = (next() % len) as usize;
                    let end = (at + 4).min(damaged.len());
                    let fill = [0x00, 0xFF, 0x7F, 0x80][(next() % 4) as usize];
                    damaged[at..end].fill(fill);
                }
                _ => {
                    // a header field grown large: the first bytes matter most
                    let at = (next() % len.min(200)) as usize;
                    damaged[at] = damaged[at].wrapping_add(1 + next() as u8 % 128);
                }
            }
            assert_no_panic(name, &damaged);
        }
    }
}

/// A huge object that must not be read.
struct Untouchable;

impl ObjectSource for Untouchable {
    fn len(&self) -> u64 {
        10 << 30
    }
    fn read_at(&self, _: u64, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("read although it is too large"))
    }
}

#[test]
fn an_oversized_file_is_refused_from_its_length_alone() {
    let limits = Limits {
        max_bytes: 1_000_000,
        ..Limits::default()
    };
    let err = inspect(&Untouchable, "film.mp4", &limits).unwrap_err();
    assert!(
        matches!(
            err,
            InspectError::Rejected(Rejection::TooLarge {
                size: 10_737_418_240,
                max: 1_000_000
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the file is 10.7 GB; the limit is 1 MB");
    // the default limit too
    assert!(matches!(
        inspect(&Untouchable, "film.mp4", &Limits::default()),
        Err(InspectError::Rejected(Rejection::TooLarge { .. }))
    ));
}

/// Fails every read after the first `good` bytes, as a dropped connection to S3 would.
struct Flaky {
    bytes: Vec<u8>,
    good: u64,
}

impl ObjectSource for Flaky {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset + buf.len() as u64 > self.good {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset",
            ));
        }
        self.bytes.read_at(offset, buf)
    }
}

#[test]
fn a_failing_source_is_a_read_error_to_retry_not_a_rejection() {
    let limits = Limits {
        read_chunk: 64 * 1024,
        ..Limits::default()
    };
    for (name, bytes) in [
        ("big.png", png(400, 400)),
        ("big.jpg", jpeg(1024, 1024, None, false)),
        ("late.mp4", mp4(true, 300_000)),
    ] {
        let source = Flaky {
            good: 64 * 1024,
            bytes,
        };
        match inspect(&source, name, &limits) {
            Err(InspectError::Read(e)) => {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{name}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn rejection_codes_are_stable() {
    let codes: Vec<&str> = bad_corpus().iter().map(|(_, _, _, r)| r.code()).collect();
    assert_eq!(
        codes,
        [
            "empty",
            "truncated",
            "truncated",
            "truncated",
            "truncated",
            "truncated",
            "decompression_bomb",
            "dimensions_too_large",
            "unknown_type",
            "type_mismatch",
            "truncated",
            "truncated",
            "no_video_track",
            "truncated",
            "truncated",
            "truncated",
        ]
    );
}
