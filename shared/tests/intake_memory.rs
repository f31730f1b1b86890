//! Peak heap memory of media inspection, measured by a counting allocator: a declared bomb is
//! refused without allocating, and (ignored by default, being slow) a 1 GiB video and ~50 MB
//! images stay well under 64 MB. Run the large ones with
//! `cargo test -p palinsesto --no-default-features --profile bench --test intake_memory -- --ignored --nocapture`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use palinsesto::media_inspection::{
    FileSource, InspectError, Limits, ObjectSource, Rejection, inspect,
};
use sha2::{Digest, Sha256};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grown = new_size - layout.size();
                let now = CURRENT.fetch_add(grown, Ordering::Relaxed) + grown;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are process-wide.
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs `f` and returns its result with the most heap it held at once above what was held before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = f();
    (result, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let crc = |bytes: &[u8]| {
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
    };
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0d".to_vec();
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc(&ihdr).to_be_bytes());
    png.extend_from_slice(b"\0\0\0\0IEND\xae\x42\x60\x82");
    png
}

#[test]
fn a_declared_bomb_is_refused_before_any_pixel_memory_is_taken() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let bytes = png_declaring(100_000, 100_000);
    let (result, peak) = peak_of(|| inspect(&bytes, "huge.png", &Limits::default()));
    assert!(matches!(
        result,
        Err(InspectError::Rejected(Rejection::DecompressionBomb { .. }))
    ));
    assert!(peak < 16 * 1024, "{peak} bytes");
}

// --- large files (ignored by default) ---

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("palinsesto-intake-{}-{name}", std::process::id()))
}

/// Removes the file when the test ends, however it ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

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

fn mp4_box(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut b = ((content.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(content);
    b
}

fn be32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// A one-hour 1920 x 1080 avc1 movie header with a per-sample time table (variable frame rate,
/// as phones write), so the moov itself is large.
fn moov() -> Vec<u8> {
    let identity = [0x1_0000, 0, 0, 0, 0x1_0000, 0, 0, 0, 0x4000_0000];
    let mut mvhd = be32s(&[0, 0, 0, 1000, 3_600_000, 0x1_0000]);
    mvhd.extend_from_slice(&[1, 0]);
    mvhd.extend_from_slice(&[0; 10]);
    mvhd.extend_from_slice(&be32s(&identity));
    mvhd.extend_from_slice(&[0; 24]);
    mvhd.extend_from_slice(&be32s(&[2]));
    let mut tkhd = be32s(&[3, 0, 0, 1, 0, 3_600_000, 0, 0]);
    tkhd.extend_from_slice(&[0; 8]);
    tkhd.extend_from_slice(&be32s(&identity));
    tkhd.extend_from_slice(&be32s(&[1920 << 16, 1080 << 16]));
    let mdhd = be32s(&[0, 0, 0, 90_000, 324_000_000, 0x55C4_0000]);
    let mut hdlr = be32s(&[0, 0]);
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0; 13]);
    let mut avc1 = vec![0; 6];
    avc1.extend_from_slice(&[0, 1]);
    avc1.extend_from_slice(&[0; 16]);
    avc1.extend_from_slice(&be32s(&[1920 << 16 | 1080]));
    avc1.extend_from_slice(&[0; 50]);
    let mut stsd = be32s(&[0, 1]);
    stsd.extend(mp4_box(b"avc1", &avc1));
    let frames = 108_000u32;
    let mut stts = be32s(&[0, frames]);
    for _ in 0..frames {
        stts.extend_from_slice(&be32s(&[1, 3000]));
    }
    let stbl = mp4_box(
        b"stbl",
        &[mp4_box(b"stsd", &stsd), mp4_box(b"stts", &stts)].concat(),
    );
    let minf = mp4_box(b"minf", &stbl);
    let mdia = mp4_box(
        b"mdia",
        &[mp4_box(b"mdhd", &mdhd), mp4_box(b"hdlr", &hdlr), minf].concat(),
    );
    let trak = mp4_box(b"trak", &[mp4_box(b"tkhd", &tkhd), mdia].concat());
    mp4_box(b"moov", &[mp4_box(b"mvhd", &mvhd), trak].concat())
}

fn write_big_mp4(path: &PathBuf, media_bytes: u64) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    out.write_all(&mp4_box(b"ftyp", b"isom\0\0\x02\0isomavc1"))
        .unwrap();
    // a 64-bit mdat header, as for any mdat over 4 GB
    out.write_all(&1u32.to_be_bytes()).unwrap();
    out.write_all(b"mdat").unwrap();
    out.write_all(&(media_bytes + 16).to_be_bytes()).unwrap();
    let block = noise(1 << 20, 9);
    for _ in 0..media_bytes >> 20 {
        out.write_all(&block).unwrap();
    }
    out.write_all(&moov()).unwrap();
    out.flush().unwrap();
}

fn write_big_jpeg(path: &PathBuf, width: u16, height: u16, progressive: bool) {
    // noise: the hardest case for the decoder, and a file of about 2 bytes per pixel
    let pixels = noise(usize::from(width) * usize::from(height) * 3, 21);
    let mut encoder = jpeg_encoder::Encoder::new_file(path, 92).unwrap();
    encoder.set_progressive(progressive);
    encoder
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
}

fn write_big_png(path: &PathBuf, width: u32, height: u32) {
    let out = BufWriter::new(File::create(path).unwrap());
    let mut encoder = png::Encoder::new(out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    // fresh noise on every row, so deflate cannot shrink the file
    for y in 0..height {
        stream
            .write_all(&noise(width as usize * 4, u64::from(y) + 1))
            .unwrap();
    }
    stream.finish().unwrap();
}

/// Plain SHA-256 of a file read in the same 4 MiB chunks, for the throughput comparison.
fn plain_sha256_seconds(path: &PathBuf) -> f64 {
    let source = FileSource::open(path).unwrap();
    let mut buf = vec![0u8; 4 << 20];
    let mut hasher = Sha256::new();
    let started = Instant::now();
    let mut at = 0;
    while at < source.len() {
        let n = source.read_at(at, &mut buf).unwrap();
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    let _ = hasher.finalize();
    started.elapsed().as_secs_f64()
}

fn report(what: &str, path: &PathBuf, name: &str) -> usize {
    let source = FileSource::open(path).unwrap();
    let size = source.len();
    let started = Instant::now();
    let (result, peak) = peak_of(|| inspect(&source, name, &Limits::default()));
    let seconds = started.elapsed().as_secs_f64();
    let found = result.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let plain = plain_sha256_seconds(path);
    println!(
        "{what}: {:.1} MB in {seconds:.2} s ({:.0} MB/s; plain SHA-256 {:.0} MB/s), peak heap {:.1} MB, \
         {}x{}, thumbnail {:?}, notes {:?}",
        size as f64 / 1e6,
        size as f64 / 1e6 / seconds,
        size as f64 / 1e6 / plain,
        peak as f64 / 1e6,
        found.width.unwrap_or(0),
        found.height.unwrap_or(0),
        found.thumbnail.as_ref().map(|t| (t.width, t.height)),
        found.notes,
    );
    peak
}

#[test]
#[ignore = "writes about 1.2 GB of temporary files; run by hand for the figures"]
fn large_files_stay_well_under_64_mb() {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let limit = 64 << 20;

    let video = TempFile(temp_path("video.mp4"));
    write_big_mp4(&video.0, 1 << 30);
    assert!(report("1 GiB MP4, moov at the end", &video.0, "video.mp4") < limit);
    drop(video);

    let baseline = TempFile(temp_path("baseline.jpg"));
    write_big_jpeg(&baseline.0, 6000, 4100, false);
    assert!(report("baseline JPEG 6000x4100", &baseline.0, "photo.jpg") < limit);
    drop(baseline);

    let progressive = TempFile(temp_path("progressive.jpg"));
    write_big_jpeg(&progressive.0, 6000, 4100, true);
    assert!(report("progressive JPEG 6000x4100", &progressive.0, "photo.jpg") < limit);
    drop(progressive);

    let image = TempFile(temp_path("image.png"));
    write_big_png(&image.0, 4000, 3200);
    assert!(report("PNG 4000x3200", &image.0, "image.png") < limit);
}
