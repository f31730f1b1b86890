//! The single-table key design, in one place. Every item of a brand sits under `B#{brand}`;
//! credentials sit under their own `B#{brand}#CRED` partition so IAM can let a function write
//! them without being able to read them (a `dynamodb:LeadingKeys` condition).
//!
//! | item              | pk               | sk            | posts_by_time (gsi1pk / gsi1sk)          |
//! |-------------------|------------------|---------------|-----------------------------------------|
//! | brand profile     | `B#{brand}`      | `BRAND`       |                                         |
//! | channel           | `B#{brand}`      | `CH#{id}`     |                                         |
//! | post              | `B#{brand}`      | `P#{id}`      | `B#{brand}#P` / `{publish_at}#{id}`     |
//! | credentials       | `B#{brand}#CRED` | `CH#{id}`     |                                         |
//! | renewal lease     | `B#{brand}#CRED` | `RENEW#{channel}` | (TTL; one worker renews a channel at a time) |
//! | asset             | `B#{brand}`      | `A#{id}`      |                                         |
//! | asset checksum    | `B#{brand}`      | `SHA#{sha256}`|                                         |
//! | upload slot       | `B#{brand}`      | `UP#{id}`     |                                         |
//! | dropped file      | `B#{brand}`      | `IN#{sha256 of its key}` |                              |
//! | write bucket      | `B#{brand}`      | `RL#writes`   |                                         |
//! | upload allowance  | `B#{brand}`      | `RL#uploads`  |                                         |
//! | outbox event      | `OUT#{brand}`    | `{event id}`  | (TTL; relayed from the table's stream)  |
//! | sandbox post      | `B#{brand}`      | `SBX#{channel}#{remote id}` | (`store::sandbox`)        |
//!
//! Assets are listed newest first by querying `A#` descending (ULIDs sort by time). A checksum
//! item is written in the same atomic write as its asset, so two uploads of the same file cannot
//! both become assets. Upload slots and dropped-file items give an incoming object the same asset
//! id on every retry of its intake; they expire (TTL) after [`INTAKE_TICKET_DAYS`].
//!
//! The rate-limit items (`domain::rate_limit`) are one per brand and limit, each updated by a
//! conditional write on its version. Their window lives in the item (the bucket's last refill,
//! the allowance's UTC day and its slots, which outlive the day), so a request reads and writes
//! exactly one item. Their TTL is the moment the item says nothing a missing one would not (a
//! full bucket, a spent day with no slot left), so DynamoDB deleting them late or early is
//! harmless.
//!
//! Metrics (see `store::metrics`):
//!
//! | item               | pk                          | sk                   | index entries                      |
//! |--------------------|-----------------------------|----------------------|------------------------------------|
//! | KPI target         | `B#{brand}`                 | `K#{id}`             |                                    |
//! | competitor         | `B#{brand}`                 | `CO#{id}`            |                                    |
//! | metrics tracker    | `B#{brand}`                 | `MT#{subject}`       | due: `MDUE#{shard}` / `{next}#{brand}#{subject}` |
//! | report schedule    | `B#{brand}`                 | `RS`                 | due: `RDUE#0` / `{next}#{brand}`   |
//! | channel snapshot   | `B#{brand}#M#{channel}`     | `{taken}#{subject}`  | by_time: `B#{brand}#MP#{post}#{channel}` or `B#{brand}#MA#{channel}` / `{taken}` |
//! | competitor snapshot| `B#{brand}#M#C#{competitor}`| `{taken}#{subject}`  |                                    |
//!
//! A channel's partition holds the snapshots of its account and of all its posts in time order,
//! so a report reads one key range per channel; a post's time series is one query of the
//! by-time index (overloaded: it also orders posts by publish time). Snapshots expire by TTL.
//!
//! Scheduled posts that need the publisher are also in the sparse `due` index (gsi2pk / gsi2sk):
//! `DUE#{shard}` / `{next due}#{brand}#{id}`, spread over [`DUE_SHARDS`] partitions so the
//! schedule tick reads a few small partitions instead of one hot one, and never scans.

use jiff::Timestamp;

use super::Index;
use crate::domain::{AssetId, BrandId, ChannelId, PostId};

pub const BRAND_SK: &str = "BRAND";
pub const CHANNEL_PREFIX: &str = "CH#";
pub const POST_PREFIX: &str = "P#";
pub const ASSET_PREFIX: &str = "A#";
pub const CHECKSUM_PREFIX: &str = "SHA#";
pub const UPLOAD_PREFIX: &str = "UP#";
pub const DROP_PREFIX: &str = "IN#";
pub const INTAKE_TICKET_DAYS: i64 = 7;
pub const DUE_SHARDS: u32 = 4;
pub const KPI_PREFIX: &str = "K#";
pub const COMPETITOR_PREFIX: &str = "CO#";
pub const TRACKER_PREFIX: &str = "MT#";
pub const REPORT_SCHEDULE_SK: &str = "RS";
pub const WRITE_BUCKET_SK: &str = "RL#writes";
pub const UPLOAD_ALLOWANCE_SK: &str = "RL#uploads";

/// The physical table layout: attribute names and indexes, shared by the DynamoDB adapter and
/// the deployment template check.
pub mod table {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const VERSION: &str = "v";
    pub const BODY: &str = "body";
    pub const TTL: &str = "ttl";

    use super::Index;

    /// The DynamoDB index name and its key attribute names.
    pub fn index(index: Index) -> (&'static str, &'static str, &'static str) {
        match index {
            Index::PostsByTime => ("posts_by_time", "gsi1pk", "gsi1sk"),
            Index::Due => ("due", "gsi2pk", "gsi2sk"),
        }
    }
}

pub fn brand_pk(brand: &BrandId) -> String {
    format!("B#{brand}")
}

/// The brand a table partition key belongs to.
pub fn brand_of(pk: &str) -> Option<BrandId> {
    BrandId::parse(pk.strip_prefix("B#")?.split('#').next()?).ok()
}

pub fn asset_sk(asset: &AssetId) -> String {
    format!("{ASSET_PREFIX}{asset}")
}

pub fn checksum_sk(sha256: &str) -> String {
    format!("{CHECKSUM_PREFIX}{sha256}")
}

pub fn upload_sk(asset: &AssetId) -> String {
    format!("{UPLOAD_PREFIX}{asset}")
}

/// Object keys can be long and hold any character; their digest fits any sort key.
pub fn drop_sk(object_key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(object_key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{DROP_PREFIX}{hex}")
}

/// The due-index shard of a post: stable, and spread evenly by the id's random part.
pub fn due_shard(post: &PostId) -> u32 {
    let id = post.to_string();
    id.bytes()
        .rev()
        .take(8)
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % DUE_SHARDS
}

pub fn due_pk(shard: u32) -> String {
    format!("DUE#{shard}")
}

pub fn due_sk(at: Timestamp, brand: &BrandId, post: &PostId) -> String {
    format!("{}#{brand}#{post}", time_key(at))
}

/// The inclusive key range of due entries at or before `now`.
pub fn due_until(now: Timestamp) -> (String, String) {
    (String::new(), format!("{}~", time_key(now)))
}

/// The due-index shard of any key: stable and spread evenly.
pub fn shard_of(key: &str) -> u32 {
    key.bytes()
        .rev()
        .take(12)
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % DUE_SHARDS
}

pub fn kpi_sk(id: &crate::domain::KpiId) -> String {
    format!("{KPI_PREFIX}{id}")
}

pub fn competitor_sk(id: &crate::domain::CompetitorId) -> String {
    format!("{COMPETITOR_PREFIX}{id}")
}

pub fn tracker_sk(subject_key: &str) -> String {
    format!("{TRACKER_PREFIX}{subject_key}")
}

pub fn metrics_due_pk(shard: u32) -> String {
    format!("MDUE#{shard}")
}

pub fn metrics_due_sk(at: Timestamp, brand: &BrandId, subject_key: &str) -> String {
    format!("{}#{brand}#{subject_key}", time_key(at))
}

pub const REPORTS_DUE_PK: &str = "RDUE#0";

pub fn reports_due_sk(at: Timestamp, brand: &BrandId) -> String {
    format!("{}#{brand}", time_key(at))
}

/// The partition of a channel's snapshots (its account's and its posts').
pub fn channel_snapshots_pk(brand: &BrandId, channel: &ChannelId) -> String {
    format!("B#{brand}#M#{channel}")
}

pub fn competitor_snapshots_pk(brand: &BrandId, id: &crate::domain::CompetitorId) -> String {
    format!("B#{brand}#M#C#{id}")
}

pub fn snapshot_sk(taken: Timestamp, subject_key: &str) -> String {
    format!("{}#{subject_key}", time_key(taken))
}

/// The by-time index partition of one target's snapshots (its items all sit in the channel's
/// partition, so a paged query of it can resume).
pub fn post_snapshots_pk(brand: &BrandId, post: &PostId, channel: &ChannelId) -> String {
    format!("B#{brand}#MP#{post}#{channel}")
}

/// The by-time index partition of a channel's account snapshots.
pub fn account_snapshots_pk(brand: &BrandId, channel: &ChannelId) -> String {
    format!("B#{brand}#MA#{channel}")
}

/// The inclusive key range of time-keyed sort keys in `[from, to]` (both ends included).
pub fn time_range_inclusive(from: Timestamp, to: Timestamp) -> (String, String) {
    (time_key(from), format!("{}~", time_key(to)))
}

/// Where every outbox partition starts: the relay's stream filter matches this prefix.
pub const OUTBOX_PREFIX: &str = "OUT#";

/// A brand's outbox (`store::outbox`): `OUT#{brand}` / `{event id}`, outside the brand's own
/// partition so the stream filter can select it by key prefix.
pub fn outbox_pk(brand: &str) -> String {
    format!("{OUTBOX_PREFIX}{brand}")
}

pub fn credentials_pk(brand: &BrandId) -> String {
    format!("B#{brand}#CRED")
}

/// A channel's renewal lease: beside its credentials, in the partition only the functions that
/// renew may touch (`store::credentials`).
pub fn renewal_lease_sk(channel: &ChannelId) -> String {
    format!("RENEW#{channel}")
}

pub fn channel_sk(channel: &ChannelId) -> String {
    format!("{CHANNEL_PREFIX}{channel}")
}

pub fn post_sk(post: &PostId) -> String {
    format!("{POST_PREFIX}{post}")
}

pub fn posts_by_time_pk(brand: &BrandId) -> String {
    format!("B#{brand}#P")
}

/// Fixed width and UTC, so string order is time order.
pub fn time_key(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn posts_by_time_sk(at: Timestamp, post: &PostId) -> String {
    format!("{}#{post}", time_key(at))
}

/// The inclusive key range of posts_by_time entries in `[from, to)`.
pub fn posts_by_time_range(from: Timestamp, to: Timestamp) -> (String, String) {
    let last_second = Timestamp::from_second(to.as_second() - 1).unwrap_or(to);
    // '~' sorts after '#' and every ULID character, so the upper bound includes the whole last second.
    (time_key(from), format!("{}~", time_key(last_second)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_like_time() {
        let a: Timestamp = "2027-03-28T00:59:59Z".parse().unwrap();
        let b: Timestamp = "2027-03-28T01:00:00Z".parse().unwrap();
        assert!(time_key(a) < time_key(b));
        assert_eq!(time_key(a), "2027-03-28T00:59:59Z");
    }

    #[test]
    fn the_time_range_excludes_its_end() {
        let from: Timestamp = "2027-03-28T00:00:00Z".parse().unwrap();
        let to: Timestamp = "2027-03-29T00:00:00Z".parse().unwrap();
        let (lo, hi) = posts_by_time_range(from, to);
        let id = PostId::new();
        let inside = posts_by_time_sk("2027-03-28T23:59:59Z".parse().unwrap(), &id);
        let outside = posts_by_time_sk(to, &id);
        assert!(lo <= inside && inside <= hi);
        assert!(outside > hi);
    }
}
