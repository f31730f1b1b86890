//! How preflight words figures for people: thousands separators, sizes, durations, ratios and
//! format names.

use super::rules::MB;

pub(super) fn possessive(name: &str) -> String {
    if name.ends_with('s') {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

/// `image/JPEG; q=1` -> `image/jpeg`.
pub(super) fn mime_essence(raw: &str) -> String {
    raw.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The name a manager knows a format by, with its article.
pub(super) fn format_name(mime: &str) -> Option<(&'static str, &'static str)> {
    Some(match mime {
        "image/jpeg" | "image/jpg" | "image/pjpeg" => ("JPEG", "a"),
        "image/png" => ("PNG", "a"),
        "image/gif" => ("GIF", "a"),
        "image/webp" => ("WebP", "a"),
        "image/heic" => ("HEIC", "a"),
        "image/heif" => ("HEIF", "a"),
        "image/avif" => ("AVIF", "an"),
        "image/tiff" => ("TIFF", "a"),
        "image/bmp" => ("BMP", "a"),
        "image/svg+xml" => ("SVG", "an"),
        "video/mp4" => ("MP4", "an"),
        "video/quicktime" => ("MOV", "a"),
        "video/webm" => ("WebM", "a"),
        "video/ogg" => ("Ogg", "an"),
        "video/x-msvideo" => ("AVI", "an"),
        "video/x-matroska" => ("MKV", "an"),
        "video/x-m4v" => ("M4V", "an"),
        "video/mpeg" => ("MPEG", "an"),
        "video/3gpp" => ("3GP", "a"),
        _ => return None,
    })
}

/// `(4, 5)` -> `4:5`; `(191, 100)` -> `1.91:1`.
pub(super) fn ratio((w, h): (u32, u32)) -> String {
    match h {
        10 => format!("{}:1", decimal(u128::from(w), 1)),
        100 => format!("{}:1", decimal(u128::from(w), 2)),
        _ => format!("{w}:{h}"),
    }
}

/// `4096` -> `4,096`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `scaled` is a number times 10^`decimals`; trailing zeros are dropped (`1.50` -> `1.5`).
fn decimal(scaled: u128, decimals: u32) -> String {
    let scale = 10u128.pow(decimals);
    let whole = scaled / scale;
    let fraction = format!("{:0width$}", scaled % scale, width = decimals as usize);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// Bytes in decimal units (1 MB = 1,000,000 bytes, as the networks write their limits).
pub(super) fn human_size(bytes: u64, decimals: u32) -> String {
    let scale = 10u128.pow(decimals);
    for (unit, name) in [(1_000_000_000u64, "GB"), (MB, "MB"), (1_000, "KB")] {
        let unit = u128::from(unit);
        let scaled = (u128::from(bytes) * scale + unit / 2) / unit;
        if scaled >= scale {
            return format!("{} {name}", decimal(scaled, decimals));
        }
    }
    format!("{} bytes", thousands(bytes))
}

/// A size and a limit written precisely enough to tell them apart: a file just over a limit
/// must never read as equal to it.
pub(super) fn sizes_apart(size: u64, limit: u64) -> (String, String) {
    for decimals in 1..=3 {
        let (s, l) = (human_size(size, decimals), human_size(limit, decimals));
        if s != l {
            return (s, l);
        }
    }
    (
        format!("{} bytes", thousands(size)),
        format!("{} bytes", thousands(limit)),
    )
}

/// `140` -> `2 min 20 s`.
pub(super) fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3_600, seconds % 3_600 / 60, seconds % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_in_human_units() {
        assert_eq!(human_size(949, 1), "949 bytes");
        assert_eq!(human_size(999, 1), "1 KB");
        assert_eq!(human_size(1_500, 1), "1.5 KB");
        assert_eq!(human_size(999_999, 1), "1 MB");
        assert_eq!(human_size(103_809_024, 1), "103.8 MB");
        assert_eq!(human_size(1_000_000_000, 1), "1 GB");
        assert_eq!(human_size(u64::MAX, 1), "18446744073.7 GB");
        assert_eq!(thousands(63_206), "63,206");
        assert_eq!(thousands(999), "999");
        assert_eq!(human_duration(140), "2 min 20 s");
        assert_eq!(human_duration(180), "3 min");
        assert_eq!(human_duration(3_605), "1 h 5 s");
        assert_eq!(ratio((191, 100)), "1.91:1");
    }
}
