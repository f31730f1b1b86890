//! What a file really is, from its first bytes, and whether its name agrees.

use super::rejection::Rejection;
use crate::domain::MediaKind;

/// The formats the library accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp4,
    QuickTime,
    Webm,
}

impl Format {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
            Format::Mp4 => "video/mp4",
            Format::QuickTime => "video/quicktime",
            Format::Webm => "video/webm",
        }
    }

    /// How people name the format in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::Webp => "WebP",
            Format::Mp4 => "MP4",
            Format::QuickTime => "MOV",
            Format::Webm => "WebM",
        }
    }

    fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        Some(match essence.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Format::Jpeg,
            "image/png" => Format::Png,
            "image/gif" => Format::Gif,
            "image/webp" => Format::Webp,
            "video/mp4" => Format::Mp4,
            "video/quicktime" => Format::QuickTime,
            "video/webm" => Format::Webm,
            _ => return None,
        })
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Webp => "webp",
            Format::Mp4 => "mp4",
            Format::QuickTime => "mov",
            Format::Webm => "webm",
        }
    }

    /// Other extensions people give files of this format; they get no note about the name.
    fn also_named(self) -> &'static [&'static str] {
        match self {
            Format::Jpeg => &["jpg", "jpeg", "jpe", "jfif", "pjpeg"],
            Format::Png => &["png", "apng"],
            Format::Gif => &["gif"],
            Format::Webp => &["webp"],
            // MP4 and QuickTime are the same box structure; cameras and exports mix the names.
            Format::Mp4 | Format::QuickTime => &["mp4", "m4v", "mov", "qt"],
            Format::Webm => &["webm"],
        }
    }

    fn kind(self) -> MediaKind {
        match self {
            Format::Jpeg | Format::Png | Format::Webp => MediaKind::Image,
            Format::Gif => MediaKind::Gif,
            Format::Mp4 | Format::QuickTime | Format::Webm => MediaKind::Video,
        }
    }
}

/// The extension the library stores a file of this type under, e.g. `image/jpeg` -> `jpg`;
/// `bin` for a type the library does not take. Parameters and case are ignored.
pub fn canonical_extension(content_type: &str) -> &'static str {
    Format::from_content_type(content_type).map_or("bin", Format::extension)
}

/// Photo, GIF or video, for a content type the library takes.
pub fn kind_of(content_type: &str) -> Option<MediaKind> {
    Format::from_content_type(content_type).map(Format::kind)
}

/// What the first bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Accepted(Format),
    /// Recognised but not taken: plain words ("a PDF document") and the usual extensions.
    Other {
        description: String,
        extensions: Vec<&'static str>,
    },
    Unknown,
}

/// How many leading bytes [`sniff`] wants (more is fine, less may miss some formats).
pub(crate) const SNIFF_BYTES: usize = 8192;

pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    let other = |description: &str, extensions: &[&'static str]| Sniffed::Other {
        description: description.to_owned(),
        extensions: extensions.to_vec(),
    };
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Accepted(Format::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Accepted(Format::Png);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Sniffed::Accepted(Format::Gif);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Sniffed::Accepted(Format::Webp);
    }
    if let Some(box_type) = head.get(4..8) {
        if box_type == b"ftyp" {
            return sniff_ftyp(head);
        }
        // QuickTime files from before `ftyp` existed start straight with one of these atoms.
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if matches!(
            box_type,
            b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
        ) && (size == 1 || size >= 8)
        {
            return Sniffed::Accepted(Format::QuickTime);
        }
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return match ebml_doctype(head) {
            Some(b"webm") => Sniffed::Accepted(Format::Webm),
            Some(b"matroska") => other("a Matroska (MKV) video", &["mkv", "mk3d", "mka"]),
            _ => other("a Matroska-family file", &["mkv"]),
        };
    }
    match infer::get(head) {
        Some(found) => describe(found.mime_type(), found.extension()),
        None => Sniffed::Unknown,
    }
}

fn sniff_ftyp(head: &[u8]) -> Sniffed {
    let other = |description: &str, extensions: &[&'static str]| Sniffed::Other {
        description: description.to_owned(),
        extensions: extensions.to_vec(),
    };
    let major = head.get(8..12).unwrap_or_default();
    let box_len = head
        .get(..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let compatible = head.get(16..box_len.min(head.len())).unwrap_or_default();
    let has = |brand: &[u8; 4]| major == brand || compatible.chunks_exact(4).any(|c| c == brand);
    match major {
        b"qt  " => Sniffed::Accepted(Format::QuickTime),
        b"avif" | b"avis" => other("an AVIF image", &["avif"]),
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" => {
            other("a HEIC photo", &["heic", "heif"])
        }
        b"mif1" | b"msf1" if has(b"avif") => other("an AVIF image", &["avif"]),
        b"mif1" | b"msf1" => other("a HEIF image", &["heic", "heif"]),
        b"M4A " | b"M4B " | b"M4P " | b"F4A " => other("an audio file (M4A)", &["m4a", "m4b"]),
        b"crx " => other("a Canon raw photo (CR3)", &["cr3"]),
        _ if major.starts_with(b"3gp") || major.starts_with(b"3g2") => {
            other("a 3GP video", &["3gp", "3g2"])
        }
        _ => Sniffed::Accepted(Format::Mp4),
    }
}

/// The `DocType` of an EBML header (`webm`, `matroska`), read from the first bytes.
fn ebml_doctype(head: &[u8]) -> Option<&[u8]> {
    // Header ID (4 bytes), then its size as a variable-length integer.
    let (header_size, used) = vint(head.get(4..)?)?;
    let start = 4 + used;
    let end = start
        .saturating_add(usize::try_from(header_size).ok()?)
        .min(head.len());
    let mut at = start;
    while at + 2 < end {
        let id_len = match head[at] {
            b if b >= 0x80 => 1,
            b if b >= 0x40 => 2,
            b if b >= 0x20 => 3,
            _ => 4,
        };
        let id = head.get(at..at + id_len)?;
        let (size, used) = vint(head.get(at + id_len..)?)?;
        let data_start = at + id_len + used;
        let data_end = data_start.checked_add(usize::try_from(size).ok()?)?;
        if id == [0x42, 0x82] {
            let doctype = head.get(data_start..data_end)?;
            // Some muxers pad the string with NULs.
            let trimmed = doctype.split(|b| *b == 0).next().unwrap_or_default();
            return Some(trimmed);
        }
        at = data_end;
    }
    None
}

/// An EBML variable-length size: the value (marker bit removed) and how many bytes it took.
pub(crate) fn vint(bytes: &[u8]) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let raw = bytes.get(..len)?;
    let mut value = u64::from(first) & (0xFF >> len);
    for b in &raw[1..] {
        value = (value << 8) | u64::from(*b);
    }
    Some((value, len))
}

/// Plain words for a type `infer` recognised.
fn describe(mime: &str, extension: &'static str) -> Sniffed {
    let words = match mime {
        "application/pdf" => "a PDF document",
        "application/zip" => "a ZIP archive",
        "application/vnd.rar" | "application/x-rar-compressed" => "a RAR archive",
        "application/x-7z-compressed" => "a 7-Zip archive",
        "application/gzip" => "a gzip archive",
        "application/x-tar" => "a tar archive",
        "application/postscript" => "a PostScript document",
        "application/rtf" => "a rich-text document",
        "application/msword" => "a Word document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            "a Word document"
        }
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            "a PowerPoint presentation"
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            "an Excel spreadsheet"
        }
        "application/x-executable"
        | "application/vnd.microsoft.portable-executable"
        | "application/x-msdownload"
        | "application/x-mach-binary" => "a program",
        "image/tiff" => "a TIFF image",
        "image/bmp" => "a BMP image",
        "image/vnd.adobe.photoshop" => "a Photoshop document (PSD)",
        "image/heif" | "image/heic" => "a HEIC photo",
        "image/avif" => "an AVIF image",
        "image/jxl" => "a JPEG XL image",
        "image/vnd.microsoft.icon" | "image/x-icon" => "an icon file",
        "image/x-canon-cr2" => "a Canon raw photo (CR2)",
        "video/x-matroska" => "a Matroska (MKV) video",
        "video/x-msvideo" => "an AVI video",
        "video/x-flv" => "a Flash video (FLV)",
        "video/mpeg" => "an MPEG video",
        "video/x-ms-wmv" | "video/x-ms-asf" => "a Windows Media video",
        "audio/mpeg" => "an MP3 audio file",
        "audio/x-wav" | "audio/wav" => "a WAV audio file",
        "audio/ogg" => "an Ogg audio file",
        "audio/x-flac" | "audio/flac" => "a FLAC audio file",
        "font/ttf" | "font/otf" | "font/woff" | "font/woff2" => "a font file",
        _ => {
            return Sniffed::Other {
                description: format!("a file of type {mime}"),
                extensions: vec![extension],
            };
        }
    };
    Sniffed::Other {
        description: words.to_owned(),
        extensions: vec![extension],
    }
}

/// Extensions that claim a photo or video: a file named so that turns out to be something else
/// is a mismatch, not merely an unknown file.
const MEDIA_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "pjpeg", "png", "apng", "gif", "webp", "mp4", "m4v", "mov", "qt",
    "webm", "heic", "heif", "avif", "tif", "tiff", "bmp", "mkv", "avi", "3gp", "mpg", "mpeg",
    "wmv", "dng", "cr2", "cr3", "nef", "arw", "psd", "jxl",
];

/// The extension of a file name, lowercase, without the dot.
pub(crate) fn declared_extension(filename: &str) -> Option<String> {
    let (stem, ext) = filename.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// The accepted format, or the rejection naming what the file is and how its name misleads.
/// `Ok` carries a note when an accepted file has another format's extension.
pub(crate) fn judge(
    filename: &str,
    sniffed: Sniffed,
) -> Result<(Format, Option<String>), Rejection> {
    let declared = declared_extension(filename);
    match sniffed {
        Sniffed::Accepted(format) => {
            let note = declared
                .filter(|ext| !format.also_named().contains(&ext.as_str()))
                .map(|ext| {
                    format!(
                        "{filename} is named .{ext} but is a {} file; it is stored as .{}",
                        format.name(),
                        format.extension()
                    )
                });
            Ok((format, note))
        }
        Sniffed::Other {
            description,
            extensions,
        } => match declared {
            Some(ext)
                if MEDIA_EXTENSIONS.contains(&ext.as_str())
                    && !extensions.contains(&ext.as_str()) =>
            {
                Err(Rejection::TypeMismatch {
                    filename: filename.to_owned(),
                    declared: ext,
                    actual: description,
                })
            }
            _ => Err(Rejection::UnknownType {
                filename: filename.to_owned(),
                detected: Some(description),
            }),
        },
        Sniffed::Unknown => Err(Rejection::UnknownType {
            filename: filename.to_owned(),
            detected: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds_of_content_types() {
        assert_eq!(canonical_extension("image/jpeg"), "jpg");
        assert_eq!(canonical_extension("IMAGE/JPEG; charset=binary"), "jpg");
        assert_eq!(canonical_extension("video/quicktime"), "mov");
        assert_eq!(canonical_extension("application/pdf"), "bin");
        assert_eq!(kind_of("image/gif"), Some(MediaKind::Gif));
        assert_eq!(kind_of("image/webp"), Some(MediaKind::Image));
        assert_eq!(kind_of("video/webm"), Some(MediaKind::Video));
        assert_eq!(kind_of("image/heic"), None);
    }

    #[test]
    fn iso_media_brands_decide_between_video_photo_and_audio() {
        let ftyp = |brand: &[u8; 4], compatible: &[u8]| {
            let mut b = Vec::new();
            b.extend_from_slice(&((16 + compatible.len()) as u32).to_be_bytes());
            b.extend_from_slice(b"ftyp");
            b.extend_from_slice(brand);
            b.extend_from_slice(&[0, 0, 0, 0]);
            b.extend_from_slice(compatible);
            b
        };
        assert_eq!(
            sniff(&ftyp(b"isom", b"mp41")),
            Sniffed::Accepted(Format::Mp4)
        );
        assert_eq!(
            sniff(&ftyp(b"qt  ", b"")),
            Sniffed::Accepted(Format::QuickTime)
        );
        assert!(
            matches!(sniff(&ftyp(b"heic", b"mif1")), Sniffed::Other { description, .. } if description == "a HEIC photo")
        );
        assert!(
            matches!(sniff(&ftyp(b"mif1", b"avif")), Sniffed::Other { description, .. } if description == "an AVIF image")
        );
        assert!(matches!(sniff(&ftyp(b"M4A ", b"")), Sniffed::Other { .. }));
    }

    #[test]
    fn a_pdf_named_like_a_photo_is_a_mismatch_but_named_pdf_is_unknown() {
        let pdf = sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n");
        assert_eq!(
            judge("photo.jpg", pdf.clone()),
            Err(Rejection::TypeMismatch {
                filename: "photo.jpg".into(),
                declared: "jpg".into(),
                actual: "a PDF document".into()
            })
        );
        assert_eq!(
            judge("brief.pdf", pdf),
            Err(Rejection::UnknownType {
                filename: "brief.pdf".into(),
                detected: Some("a PDF document".into())
            })
        );
    }

    #[test]
    fn an_accepted_file_with_another_formats_name_is_kept_with_a_note() {
        let (format, note) = judge("photo.JPG", Sniffed::Accepted(Format::Png)).unwrap();
        assert_eq!(format, Format::Png);
        assert_eq!(
            note.as_deref(),
            Some("photo.JPG is named .jpg but is a PNG file; it is stored as .png")
        );
        assert_eq!(
            judge("clip.mov", Sniffed::Accepted(Format::Mp4)).unwrap().1,
            None
        );
        assert_eq!(
            judge("no-extension", Sniffed::Accepted(Format::Gif))
                .unwrap()
                .1,
            None
        );
    }

    #[test]
    fn ebml_sizes_and_doctypes() {
        assert_eq!(vint(&[0x81]), Some((1, 1)));
        assert_eq!(vint(&[0x40, 0x02]), Some((2, 2)));
        assert_eq!(vint(&[0x00]), None);
        assert_eq!(vint(&[0x10]), None);
        let header = [
            0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm',
        ];
        assert_eq!(ebml_doctype(&header), Some(&b"webm"[..]));
        assert_eq!(ebml_doctype(&header[..9]), None);
    }
}
