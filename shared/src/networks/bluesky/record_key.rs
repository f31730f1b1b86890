//! Bluesky record keys: TIDs derived from the target key, so that every attempt of a target
//! writes to the same key and a post whose answer was lost can be looked up.

/// The record key of part `part` (0 = the post, 1.. = its follow-ups) of the target `key`.
///
/// It is a TID, the key format the post lexicon declares, so every reader accepts it; but
/// instead of the clock it is derived from the target key, so every attempt of a target writes
/// to the same key and a lost answer can be looked up. The time part is the post's creation
/// time when the key starts with its ULID, plus a fingerprint of the whole key.
pub fn record_key(key: &str, part: usize) -> String {
    const FALLBACK_START_MICROS: u64 = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z
    let print = fingerprint(key);
    let created_ms = key
        .get(..26)
        .and_then(|prefix| ulid::Ulid::from_string(prefix).ok())
        .map(|ulid| ulid.timestamp_ms());
    let micros = match created_ms {
        Some(ms) => ms.saturating_mul(1000).saturating_add(print % 1000),
        None => FALLBACK_START_MICROS + (print % (1 << 44)),
    };
    let micros = micros.saturating_add(part as u64) & ((1 << 53) - 1);
    let clock_id = (print >> 54) & 0x3ff;
    tid(micros << 10 | clock_id)
}

fn tid(value: u64) -> String {
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    (0..13)
        .rev()
        .map(|i| ALPHABET[((value >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// A stable 64-bit fingerprint (FNV-1a, then the SplitMix64 finalizer so that every output bit
/// depends on every input byte). `std`'s hasher is not stable across releases, and record keys
/// must be.
fn fingerprint(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_are_stable_distinct_tids() {
        let key = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new());
        let root = record_key(&key, 0);
        assert_eq!(root, record_key(&key, 0), "the same target, the same key");
        assert_ne!(root, record_key(&key, 1));
        assert_ne!(root, record_key(&format!("{key}x"), 0));
        for k in [
            root.clone(),
            record_key(&key, 7),
            record_key("not-a-ulid", 0),
        ] {
            assert_eq!(k.len(), 13, "{k}");
            assert!(
                k.starts_with(|c: char| "234567abcdefghij".contains(c)),
                "{k}"
            );
            assert!(
                k.chars()
                    .all(|c| "234567abcdefghijklmnopqrstuvwxyz".contains(c)),
                "{k}"
            );
        }
        // TIDs sort by time: a newer post's key sorts after an older one's.
        let older = format!("{}-x", ulid::Ulid::from_parts(1_700_000_000_000, 1));
        let newer = format!("{}-x", ulid::Ulid::from_parts(1_800_000_000_000, 1));
        assert!(record_key(&older, 0) < record_key(&newer, 0));
    }

    #[test]
    fn the_fingerprint_never_changes_between_releases() {
        // Record keys already on Bluesky depend on it.
        assert_eq!(fingerprint(""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(
            record_key("01JBX2Z8Q4V6N3K9T7W5R1M0PA-01JBX2ZC5D9F0H2J4K6M8N0PQR", 0),
            "3la6773cngulw"
        );
    }
}
