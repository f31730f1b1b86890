//! Per-brand rate limits as pure arithmetic, so that one brand cannot take the API (and the
//! account's Lambda concurrency and the table's capacity behind it) from the others: API
//! Gateway's HTTP API throttles per stage, never per tenant.
//!
//! - **Writes** (`POST`, `PUT`, `PATCH`, `DELETE` under `/v1`) take a token from the brand's
//!   bucket: it holds up to `write_burst` tokens and refills at `writes_per_minute`, continuously.
//! - **Upload URLs** (`POST /v1/assets/uploads`) also take a slot and the file's declared size
//!   from the brand's upload allowance: at most `outstanding_uploads` URLs whose files have not
//!   been taken in yet (a slot frees when intake takes its file in, or when its URL expires), and
//!   at most `upload_bytes_per_day` bytes of upload URLs a day (UTC).
//!
//! Each state is one stored item per brand (`store::keys`); the limiter reads it, applies the
//! rule here and writes it back conditioned on the version it read, so two requests can never
//! both take the last token. A refusal writes nothing. Reads are never limited.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::AssetId;

/// The limits, in one place. Defaults are generous for a real desk (a few people, a script
/// scheduling a month of posts at once); `ApiSettings::from_env` reads overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Writes a brand may make at once, from a full bucket.
    pub write_burst: u32,
    /// How many tokens the bucket gets back a minute (spread evenly: 120 is one every 0.5 s).
    pub writes_per_minute: u32,
    /// Upload URLs a brand may have waiting for their files at once.
    pub outstanding_uploads: u32,
    /// The declared sizes of all upload URLs a brand gets in one UTC day, summed.
    pub upload_bytes_per_day: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            write_burst: 300,
            writes_per_minute: 120,
            outstanding_uploads: 50,
            upload_bytes_per_day: 20 << 30,
        }
    }
}

impl RateLimits {
    /// Every limit must let something through.
    pub fn check(&self) -> Result<(), String> {
        if self.write_burst == 0 || self.writes_per_minute == 0 {
            return Err("the write burst and the writes per minute must be at least 1".into());
        }
        if self.outstanding_uploads == 0 || self.upload_bytes_per_day == 0 {
            return Err(
                "the outstanding uploads and the upload bytes per day must be at least 1".into(),
            );
        }
        Ok(())
    }
}

/// Why a request was refused, and when trying again can work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Whole seconds, at least 1: the `Retry-After` header.
    pub retry_after_secs: u64,
    /// What limit, and when it resets, in plain words.
    pub detail: String,
}

impl Refusal {
    fn after(
        now: Timestamp,
        wait: SignedDuration,
        detail: impl FnOnce(u64, Timestamp) -> String,
    ) -> Self {
        let millis = u128::try_from(wait.as_millis()).unwrap_or(0);
        let secs = u64::try_from(millis.div_ceil(1000))
            .unwrap_or(u64::MAX)
            .max(1);
        let at = now
            .checked_add(SignedDuration::from_secs(
                i64::try_from(secs).unwrap_or(i64::MAX),
            ))
            .unwrap_or(now);
        Self {
            retry_after_secs: secs,
            detail: detail(secs, Timestamp::from_second(at.as_second()).unwrap_or(at)),
        }
    }

    /// Every attempt lost the race for the item to other requests of the same brand.
    pub fn contended() -> Self {
        Self {
            retry_after_secs: 1,
            detail: "too many requests of this brand arrived at the same moment; try again in 1 \
                     second"
                .into(),
        }
    }
}

/// Thousandths of a token: the refill is exact to a millisecond without floating point.
const MILLI: u64 = 1000;

/// A brand's bucket of write tokens, as stored. No item means a full bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteBucket {
    /// Tokens left at `at`, in thousandths.
    pub milli_tokens: u64,
    /// When `milli_tokens` was counted.
    pub at: Timestamp,
}

impl WriteBucket {
    pub fn full(limits: &RateLimits, now: Timestamp) -> Self {
        Self {
            milli_tokens: capacity(limits),
            at: now,
        }
    }

    /// The bucket as it is at `now`: refilled for the time since `at`, never above the burst.
    /// A clock behind `at` (another instance's) refills nothing and keeps `at`.
    pub fn at(&self, limits: &RateLimits, now: Timestamp) -> Self {
        let elapsed_ms = now.duration_since(self.at).as_millis().max(0);
        // writes_per_minute tokens per 60,000 ms is writes_per_minute / 60 milli-tokens per ms.
        let refill = elapsed_ms.saturating_mul(i128::from(limits.writes_per_minute)) / 60;
        let milli_tokens = u64::try_from(refill)
            .unwrap_or(u64::MAX)
            .saturating_add(self.milli_tokens)
            .min(capacity(limits));
        Self {
            milli_tokens,
            at: now.max(self.at),
        }
    }

    /// Takes one token at `now`, or says how long until there is one.
    pub fn take(&self, limits: &RateLimits, now: Timestamp) -> Result<Self, Refusal> {
        let current = self.at(limits, now);
        if current.milli_tokens >= MILLI {
            return Ok(Self {
                milli_tokens: current.milli_tokens - MILLI,
                ..current
            });
        }
        let wait = refill_time(limits, MILLI - current.milli_tokens);
        Err(Refusal::after(now, wait, |secs, at| {
            format!(
                "this brand has used its allowance of changes: up to {} at once, then {} a minute \
                 (reading is not limited). The next change is possible in {secs} {} (at {at}).",
                limits.write_burst,
                limits.writes_per_minute,
                seconds(secs),
            )
        }))
    }

    /// When the bucket is full again: from then on, no item says the same as this one, so the
    /// store may delete it (TTL, Unix seconds).
    pub fn forgettable_at(&self, limits: &RateLimits) -> i64 {
        let wait = refill_time(limits, capacity(limits).saturating_sub(self.milli_tokens));
        let full = self.at.checked_add(wait).unwrap_or(self.at);
        full.as_second().saturating_add(1)
    }
}

fn capacity(limits: &RateLimits) -> u64 {
    u64::from(limits.write_burst) * MILLI
}

/// How long the bucket takes to gain `milli_tokens`.
fn refill_time(limits: &RateLimits, milli_tokens: u64) -> SignedDuration {
    let per_minute = u64::from(limits.writes_per_minute.max(1));
    let ms = milli_tokens.saturating_mul(60).div_ceil(per_minute);
    SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// An upload URL whose file has not been taken in yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSlot {
    pub asset_id: AssetId,
    /// When its URL expires: after that it cannot start an upload, and no longer counts.
    pub until: Timestamp,
}

/// A brand's upload allowance, as stored. No item means nothing used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAllowance {
    /// The UTC day `bytes` counts.
    pub day: jiff::civil::Date,
    /// The declared sizes of the upload URLs given out that day.
    pub bytes: u64,
    /// Outstanding slots, oldest first.
    pub slots: Vec<UploadSlot>,
}

impl UploadAllowance {
    pub fn unused(now: Timestamp) -> Self {
        Self {
            day: utc_day(now),
            bytes: 0,
            slots: Vec::new(),
        }
    }

    /// The allowance as it is at `now`: expired slots gone, the byte count of an earlier day
    /// reset. Slots outlive the day they were given on.
    pub fn at(&self, now: Timestamp) -> Self {
        let today = utc_day(now);
        Self {
            day: today,
            bytes: if self.day == today { self.bytes } else { 0 },
            slots: self
                .slots
                .iter()
                .filter(|s| s.until > now)
                .cloned()
                .collect(),
        }
    }

    /// Takes a slot until `until` and `size` bytes of today's allowance for `asset_id`.
    pub fn take(
        &self,
        limits: &RateLimits,
        now: Timestamp,
        asset_id: AssetId,
        size: u64,
        until: Timestamp,
    ) -> Result<Self, Refusal> {
        let mut current = self.at(now);
        let limit = limits.upload_bytes_per_day;
        // Bytes first: when today's are used up, a free slot would not help.
        if current.bytes.saturating_add(size) > limit {
            let used = current.bytes;
            return Err(Refusal::after(
                now,
                next_utc_midnight(now).duration_since(now),
                |secs, at| {
                    format!(
                        "this brand's upload URLs today already cover {} of the {} a day, and this \
                         file would add {}. The allowance resets at midnight UTC, in {secs} {} (at \
                         {at}).",
                        bytes(used),
                        bytes(limit),
                        bytes(size),
                        seconds(secs),
                    )
                },
            ));
        }
        let max = usize::try_from(limits.outstanding_uploads).unwrap_or(usize::MAX);
        if current.slots.len() >= max {
            let first_free = current.slots.iter().map(|s| s.until).min().unwrap_or(now);
            let waiting = current.slots.len();
            return Err(Refusal::after(
                now,
                first_free.duration_since(now),
                |secs, at| {
                    format!(
                        "{waiting} upload URLs of this brand are still waiting for their files (at \
                         most {max} at once). A slot frees when its file has been taken in, or when \
                         its URL expires: the next in {secs} {} at the latest (at {at}).",
                        seconds(secs),
                    )
                },
            ));
        }
        current.bytes += size;
        current.slots.push(UploadSlot { asset_id, until });
        Ok(current)
    }

    /// Frees the slot of `asset_id` (its file was taken in). `None` when it holds none.
    pub fn release(&self, now: Timestamp, asset_id: &AssetId) -> Option<Self> {
        if !self.slots.iter().any(|s| s.asset_id == *asset_id) {
            return None;
        }
        let mut current = self.at(now);
        current.slots.retain(|s| s.asset_id != *asset_id);
        Some(current)
    }

    /// When the day is over and every slot has expired: from then on no item says the same as
    /// this one, so the store may delete it (TTL, Unix seconds).
    pub fn forgettable_at(&self) -> i64 {
        let day_end = self
            .day
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map_or(i64::MAX, |z| z.timestamp().as_second());
        self.slots
            .iter()
            .map(|s| s.until.as_second().saturating_add(1))
            .fold(day_end, i64::max)
    }
}

fn utc_day(at: Timestamp) -> jiff::civil::Date {
    at.to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn next_utc_midnight(at: Timestamp) -> Timestamp {
    let day = at.as_second().div_euclid(86_400);
    Timestamp::from_second((day + 1).saturating_mul(86_400)).unwrap_or(Timestamp::MAX)
}

fn seconds(n: u64) -> &'static str {
    if n == 1 { "second" } else { "seconds" }
}

/// A byte count for people: `1.5 GiB`, `300 MiB`, `12000 bytes` (exact below a MiB).
fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 2] = [(1 << 30, "GiB"), (1 << 20, "MiB")];
    for (size, unit) in UNITS {
        if n >= size {
            let tenths = n.saturating_mul(10) / size;
            return if tenths.is_multiple_of(10) {
                format!("{} {unit}", tenths / 10)
            } else {
                format!("{}.{} {unit}", tenths / 10, tenths % 10)
            };
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn limits(burst: u32, per_minute: u32) -> RateLimits {
        RateLimits {
            write_burst: burst,
            writes_per_minute: per_minute,
            ..RateLimits::default()
        }
    }

    /// Takes tokens until refused; returns how many were taken and the refusal.
    fn drain(
        mut bucket: WriteBucket,
        l: &RateLimits,
        now: Timestamp,
    ) -> (u32, WriteBucket, Refusal) {
        let mut taken = 0;
        loop {
            match bucket.take(l, now) {
                Ok(next) => {
                    bucket = next;
                    taken += 1;
                }
                Err(refusal) => return (taken, bucket, refusal),
            }
        }
    }

    #[test]
    fn a_full_bucket_gives_its_burst_then_says_when_the_next_token_comes() {
        let l = limits(5, 60);
        let now = t("2027-01-15T10:00:00Z");
        let (taken, _, refusal) = drain(WriteBucket::full(&l, now), &l, now);
        assert_eq!(taken, 5);
        // 60 a minute: one a second.
        assert_eq!(refusal.retry_after_secs, 1);
        assert!(
            refusal.detail.contains("up to 5 at once, then 60 a minute"),
            "{}",
            refusal.detail
        );
        assert!(
            refusal
                .detail
                .contains("in 1 second (at 2027-01-15T10:00:01Z)"),
            "{}",
            refusal.detail
        );
    }

    #[test]
    fn the_bucket_refills_evenly_and_never_above_the_burst() {
        let l = limits(10, 120);
        let now = t("2027-01-15T10:00:00Z");
        let (_, empty, _) = drain(WriteBucket::full(&l, now), &l, now);
        // 120 a minute is one token every 500 ms.
        assert_eq!(
            empty.at(&l, t("2027-01-15T10:00:00.499Z")).milli_tokens,
            998
        );
        assert_eq!(empty.at(&l, t("2027-01-15T10:00:00.5Z")).milli_tokens, 1000);
        let (taken, _, _) = drain(empty.clone(), &l, t("2027-01-15T10:00:02Z"));
        assert_eq!(taken, 4);
        let (taken, _, _) = drain(empty, &l, t("2027-01-16T10:00:00Z"));
        assert_eq!(taken, 10, "a day later the bucket is full, not fuller");
    }

    #[test]
    fn a_slow_refill_says_how_many_seconds_until_a_whole_token() {
        let l = limits(1, 7);
        let now = t("2027-01-15T10:00:00Z");
        let empty = WriteBucket::full(&l, now).take(&l, now).unwrap();
        // 7 a minute: a token every 8.57 s, so 9 whole seconds.
        let refusal = empty.take(&l, now).unwrap_err();
        assert_eq!(refusal.retry_after_secs, 9);
        // 3 s later, 6 s remain (5.57 rounded up).
        let refusal = empty.take(&l, t("2027-01-15T10:00:03Z")).unwrap_err();
        assert_eq!(refusal.retry_after_secs, 6);
        assert!(empty.take(&l, t("2027-01-15T10:00:08.572Z")).is_ok());
    }

    #[test]
    fn a_clock_behind_the_bucket_refills_nothing() {
        let l = limits(2, 60);
        let now = t("2027-01-15T10:00:10Z");
        let (_, empty, _) = drain(WriteBucket::full(&l, now), &l, now);
        let behind = empty.at(&l, t("2027-01-15T10:00:05Z"));
        assert_eq!((behind.milli_tokens, behind.at), (0, now));
    }

    #[test]
    fn the_bucket_may_be_forgotten_once_it_would_be_full() {
        let l = limits(10, 60);
        let now = t("2027-01-15T10:00:00Z");
        let bucket = WriteBucket::full(&l, now).take(&l, now).unwrap();
        // One token short: full a second later.
        assert_eq!(bucket.forgettable_at(&l), now.as_second() + 2);
        let (_, empty, _) = drain(bucket, &l, now);
        assert_eq!(empty.forgettable_at(&l), now.as_second() + 11);
    }

    #[test]
    fn extreme_settings_do_not_overflow() {
        let l = limits(u32::MAX, u32::MAX);
        let bucket = WriteBucket {
            milli_tokens: 0,
            at: Timestamp::MIN,
        };
        let now = Timestamp::MAX;
        assert_eq!(bucket.at(&l, now).milli_tokens, u64::from(u32::MAX) * MILLI);
        assert!(bucket.take(&l, now).is_ok());
        let _ = bucket.forgettable_at(&l);
    }

    fn uploads(slots: u32, bytes_per_day: u64) -> RateLimits {
        RateLimits {
            outstanding_uploads: slots,
            upload_bytes_per_day: bytes_per_day,
            ..RateLimits::default()
        }
    }

    #[test]
    fn outstanding_slots_free_when_taken_in_or_expired() {
        let l = uploads(2, 1 << 30);
        let now = t("2027-01-15T10:00:00Z");
        let until = t("2027-01-15T10:15:00Z");
        let (a, b, c) = (AssetId::new(), AssetId::new(), AssetId::new());
        let allowance = UploadAllowance::unused(now)
            .take(&l, now, a, 10, until)
            .unwrap()
            .take(&l, now, b, 10, t("2027-01-15T10:16:00Z"))
            .unwrap();
        let refusal = allowance.take(&l, now, c, 10, until).unwrap_err();
        assert_eq!(refusal.retry_after_secs, 900);
        assert!(
            refusal.detail.contains("2 upload URLs"),
            "{}",
            refusal.detail
        );
        assert!(
            refusal.detail.contains("at most 2 at once"),
            "{}",
            refusal.detail
        );
        // Taken in: its slot is free at once.
        let released = allowance.release(now, &a).unwrap();
        assert!(released.release(now, &a).is_none());
        assert!(released.take(&l, now, c, 10, until).is_ok());
        // Expired: free too.
        assert!(
            allowance
                .take(&l, until, c, 10, t("2027-01-15T10:30:00Z"))
                .is_ok()
        );
    }

    #[test]
    fn bytes_reset_at_midnight_utc_and_slots_outlive_the_day() {
        let l = uploads(5, 1000);
        let now = t("2027-01-15T23:50:00Z");
        let until = t("2027-01-16T00:05:00Z");
        let allowance = UploadAllowance::unused(now)
            .take(&l, now, AssetId::new(), 600, until)
            .unwrap();
        let refusal = allowance
            .take(&l, now, AssetId::new(), 401, until)
            .unwrap_err();
        assert_eq!(refusal.retry_after_secs, 600);
        assert!(
            refusal.detail.contains("600 bytes of the 1000 bytes a day"),
            "{}",
            refusal.detail
        );
        assert!(
            refusal
                .detail
                .contains("midnight UTC, in 600 seconds (at 2027-01-16T00:00:00Z)"),
            "{}",
            refusal.detail
        );
        assert!(allowance.take(&l, now, AssetId::new(), 400, until).is_ok());
        let tomorrow = allowance.at(t("2027-01-16T00:00:00Z"));
        assert_eq!((tomorrow.bytes, tomorrow.slots.len()), (0, 1));
        assert_eq!(tomorrow.day.to_string(), "2027-01-16");
    }

    #[test]
    fn the_allowance_may_be_forgotten_after_its_day_and_its_last_slot() {
        let l = uploads(5, 1000);
        let now = t("2027-01-15T23:50:00Z");
        let allowance = UploadAllowance::unused(now)
            .take(&l, now, AssetId::new(), 1, t("2027-01-16T00:05:00Z"))
            .unwrap();
        assert_eq!(
            allowance.forgettable_at(),
            t("2027-01-16T00:05:01Z").as_second()
        );
        let early = UploadAllowance::unused(t("2027-01-15T08:00:00Z"));
        assert_eq!(
            early.forgettable_at(),
            t("2027-01-16T00:00:00Z").as_second()
        );
    }

    #[test]
    fn byte_counts_read_like_people_write_them() {
        assert_eq!(bytes(900), "900 bytes");
        assert_eq!(bytes(12 << 10), "12288 bytes");
        assert_eq!(bytes(300 << 20), "300 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(bytes(20 << 30), "20 GiB");
    }
}
