//! Why an upload is refused, in words the media team understands, with a stable code for records,
//! events and the API.

use std::io;

/// A file the library will not take. The `Display` text is meant for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("the file is {}; the limit is {}", bytes_in_words(*size), bytes_in_words(*max))]
    TooLarge { size: u64, max: u64 },
    #[error("{}", unknown_type_message(filename, detected.as_deref()))]
    UnknownType {
        filename: String,
        /// What the bytes turned out to be, when recognised, e.g. "a HEIC photo".
        detected: Option<String>,
    },
    #[error("{filename} is really {actual}")]
    TypeMismatch {
        filename: String,
        /// The extension the name claims, lowercase, without the dot.
        declared: String,
        /// What the bytes are, e.g. "a PDF document".
        actual: String,
    },
    #[error("the {format} ends before its {part} is complete")]
    Truncated {
        format: &'static str,
        /// e.g. "image data", "video data".
        part: &'static str,
    },
    #[error(
        "the image declares {} x {} pixels ({}); the limit is {}",
        thousands(u64::from(*width)),
        thousands(u64::from(*height)),
        pixels_in_words(u64::from(*width) * u64::from(*height)),
        pixels_in_words(*max_pixels)
    )]
    DecompressionBomb {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error(
        "the image declares {} x {} pixels; the limit is {} pixels on a side",
        thousands(u64::from(*width)),
        thousands(u64::from(*height)),
        thousands(u64::from(*max_side))
    )]
    DimensionsTooLarge {
        width: u32,
        height: u32,
        max_side: u32,
    },
    #[error("the {format} has no video track (is it audio only?)")]
    NoVideoTrack { format: &'static str },
    #[error("the {format} is damaged and cannot be read ({detail})")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
}

impl Rejection {
    /// A stable, machine-readable name for the reason (recorded with the asset, sent in events).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::TooLarge { .. } => "too_large",
            Rejection::UnknownType { .. } => "unknown_type",
            Rejection::TypeMismatch { .. } => "type_mismatch",
            Rejection::Truncated { .. } => "truncated",
            Rejection::DecompressionBomb { .. } => "decompression_bomb",
            Rejection::DimensionsTooLarge { .. } => "dimensions_too_large",
            Rejection::NoVideoTrack { .. } => "no_video_track",
            Rejection::Corrupt { .. } => "corrupt",
        }
    }

    pub(crate) fn corrupt(format: &'static str, detail: impl Into<String>) -> Self {
        Rejection::Corrupt {
            format,
            detail: detail.into(),
        }
    }
}

/// Why [`super::inspect`] produced no inspection: the file was refused, or the object could not be
/// read (a failed ranged GET, a vanished file) and inspecting it again later may succeed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("could not read the uploaded object")]
    Read(#[source] io::Error),
}

fn unknown_type_message(filename: &str, detected: Option<&str>) -> String {
    match detected {
        Some(what) => format!("{filename} is {what}, not a photo or video this library accepts"),
        None => format!("{filename} is not a photo or video this library accepts"),
    }
}

/// `1234567` -> `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One decimal at most, without a trailing `.0`.
fn one_decimal(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

/// `10_000_000_000` -> `10 gigapixels`, `120_000_000` -> `120 megapixels`.
fn pixels_in_words(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{} gigapixels", one_decimal(n as f64 / 1e9))
    } else if n >= 1_000_000 {
        format!("{} megapixels", one_decimal(n as f64 / 1e6))
    } else {
        format!("{} pixels", thousands(n))
    }
}

/// Decimal units, as the networks state their limits: `5_200_000_000` -> `5.2 GB`.
fn bytes_in_words(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} bytes"),
        1_000..1_000_000 => format!("{} KB", one_decimal(n as f64 / 1e3)),
        1_000_000..1_000_000_000 => format!("{} MB", one_decimal(n as f64 / 1e6)),
        _ => format!("{} GB", one_decimal(n as f64 / 1e9)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_plain_words() {
        assert_eq!(
            Rejection::DecompressionBomb {
                width: 100_000,
                height: 100_000,
                max_pixels: 100_000_000
            }
            .to_string(),
            "the image declares 100,000 x 100,000 pixels (10 gigapixels); the limit is 100 megapixels"
        );
        assert_eq!(
            Rejection::TooLarge {
                size: 5_200_000_000,
                max: 4 << 30
            }
            .to_string(),
            "the file is 5.2 GB; the limit is 4.3 GB"
        );
        assert_eq!(
            Rejection::TypeMismatch {
                filename: "photo.jpg".into(),
                declared: "jpg".into(),
                actual: "a PDF document".into()
            }
            .to_string(),
            "photo.jpg is really a PDF document"
        );
        assert_eq!(
            Rejection::UnknownType {
                filename: "IMG_1.HEIC".into(),
                detected: Some("a HEIC photo".into())
            }
            .to_string(),
            "IMG_1.HEIC is a HEIC photo, not a photo or video this library accepts"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(bytes_in_words(999), "999 bytes");
        assert_eq!(pixels_in_words(12_345_678), "12.3 megapixels");
    }
}
