//! The intake corpus, generated here: good files of every accepted format and the bad files the
//! media team will eventually upload, each with the answer it must get.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::*;

use super::fixtures::*;

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

/// An object that reads fine for its first chunk (the sniffing) and panics on any later read,
/// which only a decoder makes: a stand-in for a decoder bug, since the real decoders are kept
/// free of the panics the corpus finds.
struct PanicsWhileDecoded(Vec<u8>);

impl ObjectSource for PanicsWhileDecoded {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        assert!(offset == 0, "a decoder bug (test double): read at {offset}");
        self.0.as_slice().read_at(offset, buf)
    }
}

#[test]
fn a_panic_while_decoding_rejects_the_file_as_damaged_instead_of_ending_the_process() {
    // given a PNG larger than one read chunk, whose decoding panics after the sniffing
    let bytes = fixtures::noise_png(300, 300, 7);
    let limits = Limits {
        read_chunk: 64 << 10,
        ..Limits::default()
    };
    assert!(bytes.len() > limits.read_chunk * 2);
    // when it is inspected (the panic message above this test's result is expected)
    let got = inspect(&PanicsWhileDecoded(bytes), "noise.png", &limits);
    // then the panic was caught and the file refused with a reason, not passed on
    match got {
        Err(InspectError::Rejected(rejection)) => {
            assert_eq!(rejection.code(), "corrupt");
            assert_eq!(
                rejection,
                Rejection::corrupt("PNG", "the decoder failed on it")
            );
            assert!(!rejection.to_string().is_empty());
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The `panic` strategy a Cargo manifest or config sets for the release profile, from a line
/// scan: `[profile.release]`'s `panic = "..."`, or a dotted `profile.release.panic`, or
/// `-C panic=...` in rustflags (which applies to every profile). `None` when nothing sets it (Cargo's default, unwind).
fn release_panic_strategy(toml: &str) -> Option<String> {
    let mut table = String::new();
    let mut found = None;
    for line in toml.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(name) = line.strip_prefix('[') {
            table = name.trim_end_matches(']').trim().to_owned();
            continue;
        }
        // A rustflag: `"-C", "panic=abort"` or `"-C panic=abort"`, spaces taken out.
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(at) = compact
            .find("-Cpanic=")
            .or_else(|| compact.find("\"panic="))
        {
            let flag = &compact[at..].split_once('=').unwrap_or_default().1;
            found = Some(flag.chars().take_while(char::is_ascii_alphabetic).collect());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = format!("{table}.{}", key.trim())
            .trim_start_matches('.')
            .to_owned();
        if key == "profile.release.panic" {
            found = Some(value.trim().trim_matches('"').to_owned());
        }
    }
    found
}

#[test]
fn the_panic_setting_is_found_however_the_release_profile_sets_it() {
    let abort = Some("abort".to_owned());
    let cases = [
        (
            "[profile.release]\nlto = true\npanic = \"abort\"\n",
            abort.clone(),
        ),
        (
            "[profile.release]\npanic=\"abort\" # small\n",
            abort.clone(),
        ),
        ("profile.release.panic = \"abort\"\n", abort.clone()),
        (
            "[build]\nrustflags = [\"-C\", \"panic=abort\"]\n",
            abort.clone(),
        ),
        ("[build]\nrustflags = [\"-Cpanic=abort\"]\n", abort),
        (
            "[profile.release]\npanic = \"unwind\"\n",
            Some("unwind".to_owned()),
        ),
        (
            "[profile.dev]\npanic = \"abort\"\n[profile.release]\nlto = true\n",
            None,
        ),
        (
            "[profile.release]\n# panic = \"abort\"\nstrip = true\n",
            None,
        ),
    ];
    for (toml, expected) in cases {
        assert_eq!(release_panic_strategy(toml), expected, "{toml}");
    }
}

/// The guard in `inspect` is `catch_unwind`, which does nothing in a build that aborts on panic:
/// there a decoder bug would kill the Lambda function (and every file in its batch) instead of
/// rejecting one file. The functions are built with the workspace's release profile, so that
/// profile must unwind. Checked from the files, so no release build is needed.
#[test]
fn the_release_build_unwinds_so_a_panic_while_decoding_is_caught_in_lambda_too() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in ["Cargo.toml", ".cargo/config.toml", ".cargo/config"] {
        let Ok(toml) = std::fs::read_to_string(root.join(file)) else {
            assert_ne!(file, "Cargo.toml", "the workspace manifest is readable");
            continue;
        };
        let strategy = release_panic_strategy(&toml);
        assert_ne!(
            strategy.as_deref(),
            Some("abort"),
            "{file} makes the release build abort on panic: the Lambda functions would crash \
             on a decoder bug instead of rejecting the file (remove `panic = \"abort\"`)"
        );
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
