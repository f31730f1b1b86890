//! Text length the way each network counts it (graphemes, code points, Mastodon's and X's
//! weighted counts, Threads' emoji bytes), and the link and hashtag finding the counts need.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use super::rules::{LINK_WEIGHT, TextCounting};

impl TextCounting {
    /// The length of `text` counted this way.
    pub fn count(self, text: &str) -> usize {
        match self {
            TextCounting::Graphemes => text.graphemes(true).count(),
            TextCounting::Chars => text.chars().count(),
            TextCounting::Mastodon { url_weight } => mastodon_length(text, url_weight),
            TextCounting::XWeighted => x_weighted_length(text),
            TextCounting::EmojiUtf8Bytes => text
                .graphemes(true)
                .map(|g| {
                    if is_emoji(g) {
                        g.len()
                    } else {
                        g.chars().count()
                    }
                })
                .sum(),
        }
    }
}

/// Byte ranges of the http(s) links in `text`, close to how Mastodon and X (twitter-text) find
/// them: a scheme not glued to a word, a dotted host, then a path whose trailing punctuation
/// belongs to the sentence. X also links bare domains (`acme.com`); those are not found here, so
/// a text near X's limit with one can still be refused at publish time.
///
/// Linear in the text's length: the scan moves forward only; a host is read once, by the scheme
/// just before it (a host has no `:`, so no other scheme starts inside it); a path is read once
/// and trimmed in linear time (`url_end`), and the scan resumes after the link, so it reads
/// again only the trimmed punctuation, where no scheme can start (it holds no letter).
pub(super) fn find_urls(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut urls = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let scheme = if starts_with_ignore_case(rest, b"https://") {
            8
        } else if starts_with_ignore_case(rest, b"http://") {
            7
        } else {
            i += 1;
            continue;
        };
        // An ASCII byte is always a char boundary in UTF-8, so `i` is one here.
        let glued = text
            .get(..i)
            .and_then(|before| before.chars().next_back())
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '@' | '$' | '#' | '＠' | '＃'));
        let host_start = i + scheme;
        match (!glued).then(|| url_end(text, host_start)).flatten() {
            Some(end) => {
                urls.push(i..end);
                i = end;
            }
            None => i = host_start,
        }
    }
    urls
}

fn starts_with_ignore_case(haystack: &[u8], prefix: &[u8]) -> bool {
    haystack
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Where a link whose host starts at `host_start` ends, or `None` when no valid host follows.
fn url_end(text: &str, host_start: usize) -> Option<usize> {
    let after = text.get(host_start..)?;
    let host_len = after
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '_')))
        .map_or(after.len(), |(at, _)| at);
    let host = after[..host_len].trim_end_matches(['.', '-']);
    let tld = host.rsplit('.').next().unwrap_or_default();
    let valid_host = host.contains('.')
        && !host.split('.').any(str::is_empty)
        && (tld.starts_with("xn--")
            || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)));
    if !valid_host {
        return None;
    }
    let mut end = host_start + host.len();
    let rest = &text[end..];
    if let Some(port) = rest.strip_prefix(':') {
        let digits = port.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            end += 1 + digits;
        }
    }
    let rest = &text[end..];
    if !rest.starts_with(['/', '?', '#']) {
        return Some(end);
    }
    let path_len = rest
        .char_indices()
        .find(|(_, c)| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | '"' | '\u{3000}'..='\u{303F}' | '\u{FF01}'..='\u{FF0F}')
        })
        .map_or(rest.len(), |(at, _)| at);
    Some(trim_link_end(&text[..end + path_len], host_start, end))
}

/// Where a link really ends, given `url`, the text up to the end of its path: a link ends on a
/// character that can end one; `.` `,` `!` `?` and an unbalanced `)` are the sentence's. A `)` is
/// balanced when what is left of the link from `host_start` (after the scheme) has at least as
/// many `(` as `)`. Nothing before `path_start` is trimmed.
///
/// Linear in the length of `url`: both parentheses are counted once, then lowered as each
/// character is trimmed off, so each step is O(1). (Recounting what was left at every step made
/// it quadratic: a link followed by 64 KiB of `)` took 10 s per network.) Bytes can be counted
/// for characters: in UTF-8 an ASCII byte is only ever that ASCII character.
fn trim_link_end(mut url: &str, host_start: usize, path_start: usize) -> usize {
    let after_scheme = &url.as_bytes()[host_start..];
    let mut opens = after_scheme.iter().filter(|b| **b == b'(').count();
    let mut closes = after_scheme.iter().filter(|b| **b == b')').count();
    while url.len() > path_start {
        let Some(last) = url.chars().next_back() else {
            break;
        };
        let balanced_paren = last == ')' && opens >= closes;
        if last.is_alphanumeric()
            || matches!(last, '/' | '=' | '_' | '#' | '+' | '-' | '&')
            || balanced_paren
        {
            break;
        }
        match last {
            '(' => opens -= 1,
            ')' => closes -= 1,
            _ => {}
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    url.len()
}

/// The parts of `text` around the given (sorted, non-overlapping) ranges.
fn outside<'t>(text: &'t str, ranges: &[Range<usize>]) -> Vec<&'t str> {
    let mut parts = Vec::with_capacity(ranges.len() + 1);
    let mut from = 0;
    for r in ranges {
        parts.push(text.get(from..r.start).unwrap_or_default());
        from = r.end;
    }
    parts.push(text.get(from..).unwrap_or_default());
    parts
}

/// Mastodon's StatusLengthValidator: links become a fixed-length placeholder, `@user@domain`
/// becomes `@user`, then graphemes are counted.
fn mastodon_length(text: &str, url_weight: usize) -> usize {
    let urls = find_urls(text);
    // One `x` per link keeps the mention rule seeing a word character where the link was (as
    // Mastodon's `xxx…` placeholder does) without building a string of `url_weight` characters.
    let countable = outside(text, &urls).join("x");
    let graphemes = fold_mentions(&countable).graphemes(true).count();
    graphemes
        .saturating_sub(urls.len())
        .saturating_add(urls.len().saturating_mul(url_weight))
}

/// Ruby's `[[:word:]]`, close enough: letters, digits and the underscore.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte length of the longest `P+([.-]+P+)*` at the start of `s`.
fn dotted_run(s: &str, part: impl Fn(char) -> bool) -> usize {
    let run = |from: usize| -> usize {
        s[from..]
            .char_indices()
            .find(|(_, c)| !part(*c))
            .map_or(s.len() - from, |(at, _)| at)
    };
    let mut end = run(0);
    if end == 0 {
        return 0;
    }
    loop {
        let separators = s[end..]
            .bytes()
            .take_while(|b| matches!(b, b'.' | b'-'))
            .count();
        if separators == 0 {
            return end;
        }
        let next = run(end + separators);
        if next == 0 {
            return end;
        }
        end += separators + next;
    }
}

/// Mastodon's mention rule: `@user@domain` (not after `=`, `/` or a word character) counts as
/// `@user`.
fn fold_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let can_mention = !prev.is_some_and(|p| p == '=' || p == '/' || is_word(p));
        if c == '@' && can_mention {
            let after = &rest[1..];
            let user = dotted_run(after, |c| c.is_ascii_alphanumeric() || c == '_');
            if user > 0 {
                let domain =
                    after[user..]
                        .strip_prefix('@')
                        .map_or(0, |d| match dotted_run(d, is_word) {
                            0 => 0,
                            n => n + 1,
                        });
                out.push('@');
                out.push_str(&after[..user]);
                let consumed = 1 + user + domain;
                prev = rest[..consumed].chars().next_back();
                rest = &rest[consumed..];
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// X's weighted length (twitter-text v3): NFC first, each link 23, an emoji sequence 2, other
/// code points 1 in X's light ranges and 2 elsewhere.
fn x_weighted_length(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let urls = find_urls(&text);
    let rest: usize = outside(&text, &urls)
        .into_iter()
        .flat_map(|part| part.graphemes(true))
        .map(|g| {
            let several = g.chars().nth(1).is_some();
            if several && is_emoji(g) {
                2
            } else {
                g.chars().map(x_weight).sum()
            }
        })
        .sum();
    rest.saturating_add(urls.len().saturating_mul(LINK_WEIGHT))
}

fn x_weight(c: char) -> usize {
    match u32::from(c) {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
        _ => 2,
    }
}

/// Whether a grapheme is an emoji: an emoji-presentation character, or a sequence (ZWJ family,
/// skin tone, variation selector, keycap, flag) starting with a pictographic one.
fn is_emoji(grapheme: &str) -> bool {
    let mut chars = grapheme.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    match chars.next() {
        None => is_emoji_presentation(first),
        Some(second) => {
            is_pictographic(first)
                || (is_regional_indicator(first) && is_regional_indicator(second))
                || grapheme.contains('\u{20E3}')
        }
    }
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Close to Unicode's Extended_Pictographic, without the plain arrows and shapes of text.
fn is_pictographic(c: char) -> bool {
    matches!(u32::from(c),
        0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x2194..=0x2199 | 0x21A9..=0x21AA
        | 0x231A..=0x231B | 0x2328 | 0x23CF | 0x23E9..=0x23F3 | 0x23F8..=0x23FA | 0x24C2
        | 0x25AA..=0x25AB | 0x25B6 | 0x25C0 | 0x25FB..=0x25FE | 0x2600..=0x27BF
        | 0x2934..=0x2935 | 0x2B05..=0x2B07 | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x3030
        | 0x303D | 0x3297 | 0x3299 | 0x1F000..=0x1FAFF)
}

/// Single characters shown as emoji without a variation selector (Emoji_Presentation, close).
fn is_emoji_presentation(c: char) -> bool {
    matches!(u32::from(c),
        0x231A..=0x231B | 0x23E9..=0x23EC | 0x23F0 | 0x23F3 | 0x25FD..=0x25FE | 0x2614..=0x2615
        | 0x2648..=0x2653 | 0x267F | 0x2693 | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE
        | 0x26C4..=0x26C5 | 0x26CE | 0x26D4 | 0x26EA | 0x26F2..=0x26F3 | 0x26F5 | 0x26FA | 0x26FD
        | 0x2705 | 0x270A..=0x270B | 0x2728 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757
        | 0x2795..=0x2797 | 0x27B0 | 0x27BF | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55
        | 0x1F000..=0x1FAFF)
}

/// Hashtags outside links: `#` not glued to a word, followed by a word character.
pub(super) fn count_hashtags(text: &str) -> usize {
    outside(text, &find_urls(text))
        .into_iter()
        .map(|part| {
            let chars: Vec<char> = part.chars().collect();
            chars
                .iter()
                .enumerate()
                .filter(|&(i, c)| {
                    matches!(c, '#' | '＃')
                        && !(i > 0 && (is_word(chars[i - 1]) || chars[i - 1] == '&'))
                        && chars.get(i + 1).is_some_and(|n| is_word(*n))
                })
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests;
