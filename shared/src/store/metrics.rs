//! Storage of metrics, KPI targets, competitors and report schedules (keys in `keys.rs`).
//! Snapshots are append-only: written once with `Absent`, never updated, expired by TTL.

use jiff::Timestamp;

use super::keys::{self, COMPETITOR_PREFIX, KPI_PREFIX, REPORT_SCHEDULE_SK};
use super::repository::{decode, encode, next_version};
use super::{Condition, Index, IndexKey, Item, KeyRange, Query, Store, StoreError, Write};
use crate::domain::kpi::MAX_KPIS_PER_BRAND;
use crate::domain::metrics::{SNAPSHOT_RETENTION, Snapshot, Subject, Tracker};
use crate::domain::report::ReportSchedule;
use crate::domain::{BrandId, ChannelId, Competitor, CompetitorId, Kpi, KpiId, PostId};

/// The most competitors a brand can watch.
pub const MAX_COMPETITORS_PER_BRAND: usize = 50;

/// Items read per page when a whole key range is wanted.
const PAGE: usize = 1_000;

impl Store {
    // ---- trackers and snapshots ----

    /// The write that starts (or restarts) following a subject.
    pub fn tracker_write(&self, brand: &BrandId, tracker: &Tracker) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: tracker_item(brand, tracker, tracker.version + 1)?,
            condition: Condition::Any,
        })
    }

    pub async fn put_tracker(&self, brand: &BrandId, tracker: &Tracker) -> Result<(), StoreError> {
        self.items()
            .write(vec![self.tracker_write(brand, tracker)?])
            .await
    }

    pub async fn get_tracker(
        &self,
        brand: &BrandId,
        subject: &Subject,
    ) -> Result<Option<Tracker>, StoreError> {
        let item = self
            .items()
            .get(&keys::brand_pk(brand), &keys::tracker_sk(&subject.key()))
            .await?;
        item.map(|i| decode(i, |t: &mut Tracker, v| t.version = v))
            .transpose()
    }

    /// The write that stops following a subject (nothing if it was not followed).
    pub fn untrack_write(&self, brand: &BrandId, subject: &Subject) -> Write {
        Write::Delete {
            pk: keys::brand_pk(brand),
            sk: keys::tracker_sk(&subject.key()),
            condition: Condition::Any,
        }
    }

    /// Up to `limit` trackers of any brand due at or before `now`, from one shard, in due order.
    pub async fn due_trackers(
        &self,
        shard: u32,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, Tracker)>, StoreError> {
        self.due_entries(keys::metrics_due_pk(shard), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode(item, |t: &mut Tracker, v| t.version = v)?)))
            .collect()
    }

    /// Appends `snapshot` and moves the tracker (read at `tracker.version`) on to `next`, or
    /// stops following the subject (`next: None`), in one atomic write. A concurrent run that
    /// already recorded this subject makes it fail with a conflict, so nothing is taken twice.
    pub async fn record_snapshot(
        &self,
        brand: &BrandId,
        tracker: &Tracker,
        snapshot: Option<&Snapshot>,
        next: Option<&Tracker>,
    ) -> Result<(), StoreError> {
        let mut writes = Vec::with_capacity(2);
        if let Some(snapshot) = snapshot {
            writes.push(Write::Put {
                item: snapshot_item(brand, snapshot)?,
                condition: Condition::Absent,
            });
        }
        writes.push(match next {
            Some(next) => Write::Put {
                item: tracker_item(brand, next, tracker.version + 1)?,
                condition: Condition::Version(tracker.version),
            },
            None => Write::Delete {
                pk: keys::brand_pk(brand),
                sk: keys::tracker_sk(&tracker.subject.key()),
                condition: Condition::Version(tracker.version),
            },
        });
        self.items().write(writes).await
    }

    /// Appends snapshots taken elsewhere (an import of history, a benchmark's year of data), in
    /// atomic batches; a snapshot already stored makes its batch fail with a conflict.
    pub async fn append_snapshots(
        &self,
        brand: &BrandId,
        snapshots: &[Snapshot],
    ) -> Result<(), StoreError> {
        for batch in snapshots.chunks(super::MAX_WRITES_PER_CALL) {
            let writes = batch
                .iter()
                .map(|s| {
                    Ok(Write::Put {
                        item: snapshot_item(brand, s)?,
                        condition: Condition::Absent,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.items().write(writes).await?;
        }
        Ok(())
    }

    /// Every snapshot in a channel's partition (its account's and its posts') taken in
    /// `[from, to]`, in time order.
    pub async fn channel_snapshots(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Snapshot>, StoreError> {
        self.snapshots_in(keys::channel_snapshots_pk(brand, channel), None, from, to)
            .await
    }

    pub async fn competitor_snapshots(
        &self,
        brand: &BrandId,
        competitor: &CompetitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Snapshot>, StoreError> {
        self.snapshots_in(
            keys::competitor_snapshots_pk(brand, competitor),
            None,
            from,
            to,
        )
        .await
    }

    /// One target's snapshots in `[from, to]` (the by-time index).
    pub async fn post_snapshots(
        &self,
        brand: &BrandId,
        post: &PostId,
        channel: &ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Snapshot>, StoreError> {
        self.snapshots_in(
            keys::channel_snapshots_pk(brand, channel),
            Some(keys::post_snapshots_pk(brand, post, channel)),
            from,
            to,
        )
        .await
    }

    /// One channel account's snapshots in `[from, to]` (the by-time index).
    pub async fn account_snapshots(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Snapshot>, StoreError> {
        self.snapshots_in(
            keys::channel_snapshots_pk(brand, channel),
            Some(keys::account_snapshots_pk(brand, channel)),
            from,
            to,
        )
        .await
    }

    async fn snapshots_in(
        &self,
        pk: String,
        by_time: Option<String>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Snapshot>, StoreError> {
        let (lo, hi) = keys::time_range_inclusive(from, to);
        let mut query = Query {
            pk,
            index: by_time.map(|p| (Index::PostsByTime, p)),
            range: KeyRange::Between(lo, hi),
            after: None,
            limit: PAGE,
            descending: false,
        };
        let mut snapshots = Vec::new();
        loop {
            let page = self.items().query(&query).await?;
            for item in page.items {
                snapshots.push(decode_snapshot(item)?);
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(snapshots),
            }
        }
    }

    // ---- KPI targets ----

    pub async fn list_kpis(&self, brand: &BrandId) -> Result<Vec<Kpi>, StoreError> {
        self.list_prefix(brand, KPI_PREFIX, MAX_KPIS_PER_BRAND, |i| {
            decode(i, |k: &mut Kpi, v| k.version = v)
        })
        .await
    }

    pub async fn get_kpi(&self, brand: &BrandId, id: &KpiId) -> Result<Option<Kpi>, StoreError> {
        let item = self
            .items()
            .get(&keys::brand_pk(brand), &keys::kpi_sk(id))
            .await?;
        item.map(|i| decode(i, |k: &mut Kpi, v| k.version = v))
            .transpose()
    }

    /// Creates the KPI (`expected: None`) or replaces the version the caller read.
    pub async fn put_kpi(
        &self,
        brand: &BrandId,
        kpi: &Kpi,
        expected: Option<u64>,
    ) -> Result<Kpi, StoreError> {
        let item = encode(
            keys::brand_pk(brand),
            keys::kpi_sk(&kpi.id),
            next_version(expected),
            vec![],
            kpi,
        )?;
        self.put(kpi, item, expected).await
    }

    pub async fn delete_kpi(
        &self,
        brand: &BrandId,
        id: &KpiId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.items()
            .write(vec![Write::Delete {
                pk: keys::brand_pk(brand),
                sk: keys::kpi_sk(id),
                condition: Condition::Version(expected),
            }])
            .await
    }

    // ---- competitors ----

    pub async fn list_competitors(&self, brand: &BrandId) -> Result<Vec<Competitor>, StoreError> {
        self.list_prefix(brand, COMPETITOR_PREFIX, MAX_COMPETITORS_PER_BRAND, |i| {
            decode(i, |c: &mut Competitor, v| c.version = v)
        })
        .await
    }

    pub async fn get_competitor(
        &self,
        brand: &BrandId,
        id: &CompetitorId,
    ) -> Result<Option<Competitor>, StoreError> {
        let item = self
            .items()
            .get(&keys::brand_pk(brand), &keys::competitor_sk(id))
            .await?;
        item.map(|i| decode(i, |c: &mut Competitor, v| c.version = v))
            .transpose()
    }

    /// Creates the competitor and starts following it, atomically.
    pub async fn create_competitor(
        &self,
        brand: &BrandId,
        competitor: &Competitor,
        tracker: &Tracker,
    ) -> Result<Competitor, StoreError> {
        let item = encode(
            keys::brand_pk(brand),
            keys::competitor_sk(&competitor.id),
            1,
            vec![],
            competitor,
        )?;
        self.items()
            .write(vec![
                Write::Put {
                    item,
                    condition: Condition::Absent,
                },
                self.tracker_write(brand, tracker)?,
            ])
            .await?;
        Ok(Competitor {
            version: 1,
            ..competitor.clone()
        })
    }

    /// Deletes the competitor and stops following it (its snapshots expire by TTL).
    pub async fn delete_competitor(
        &self,
        brand: &BrandId,
        id: &CompetitorId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.items()
            .write(vec![
                Write::Delete {
                    pk: keys::brand_pk(brand),
                    sk: keys::competitor_sk(id),
                    condition: Condition::Version(expected),
                },
                self.untrack_write(brand, &Subject::Competitor { competitor_id: *id }),
            ])
            .await
    }

    // ---- report schedules ----

    pub async fn get_report_schedule(
        &self,
        brand: &BrandId,
    ) -> Result<Option<ReportSchedule>, StoreError> {
        let item = self
            .items()
            .get(&keys::brand_pk(brand), REPORT_SCHEDULE_SK)
            .await?;
        item.map(|i| decode(i, |s: &mut ReportSchedule, v| s.version = v))
            .transpose()
    }

    /// Replaces the brand's schedule: at the version read (`Some`), or whatever is there.
    pub async fn put_report_schedule(
        &self,
        brand: &BrandId,
        schedule: &ReportSchedule,
        expected: Option<u64>,
        also: Vec<Write>,
    ) -> Result<(), StoreError> {
        let item = encode(
            keys::brand_pk(brand),
            REPORT_SCHEDULE_SK.into(),
            expected.map_or(schedule.version + 1, |v| v + 1),
            vec![(
                Index::Due,
                IndexKey {
                    pk: keys::REPORTS_DUE_PK.into(),
                    sk: keys::reports_due_sk(schedule.due_at(), brand),
                },
            )],
            schedule,
        )?;
        let condition = expected.map_or(Condition::Any, Condition::Version);
        let mut writes = vec![Write::Put { item, condition }];
        writes.extend(also);
        self.items().write(writes).await
    }

    /// Up to `limit` brands whose report is due at or before `now`.
    pub async fn due_report_schedules(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, ReportSchedule)>, StoreError> {
        self.due_entries(keys::REPORTS_DUE_PK.into(), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| {
                Ok((
                    brand,
                    decode(item, |s: &mut ReportSchedule, v| s.version = v)?,
                ))
            })
            .collect()
    }

    async fn list_prefix<T>(
        &self,
        brand: &BrandId,
        prefix: &str,
        max: usize,
        decode: impl Fn(Item) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                index: None,
                pk: keys::brand_pk(brand),
                range: KeyRange::Prefix(prefix.into()),
                after: None,
                limit: max,
                descending: false,
            })
            .await?;
        page.items.into_iter().map(decode).collect()
    }
}

fn tracker_item(brand: &BrandId, tracker: &Tracker, version: u64) -> Result<Item, StoreError> {
    let key = tracker.subject.key();
    encode(
        keys::brand_pk(brand),
        keys::tracker_sk(&key),
        version,
        vec![(
            Index::Due,
            IndexKey {
                pk: keys::metrics_due_pk(keys::shard_of(&key)),
                sk: keys::metrics_due_sk(tracker.next_at, brand, &key),
            },
        )],
        tracker,
    )
}

fn snapshot_item(brand: &BrandId, snapshot: &Snapshot) -> Result<Item, StoreError> {
    let key = snapshot.subject.key();
    let (pk, by_time) = match snapshot.subject {
        Subject::Post {
            post_id,
            channel_id,
        } => (
            keys::channel_snapshots_pk(brand, &channel_id),
            Some(keys::post_snapshots_pk(brand, &post_id, &channel_id)),
        ),
        Subject::Channel { channel_id } => (
            keys::channel_snapshots_pk(brand, &channel_id),
            Some(keys::account_snapshots_pk(brand, &channel_id)),
        ),
        Subject::Competitor { competitor_id } => {
            (keys::competitor_snapshots_pk(brand, &competitor_id), None)
        }
    };
    let indexes = by_time
        .map(|p| {
            vec![(
                Index::PostsByTime,
                IndexKey {
                    pk: p,
                    sk: keys::time_key(snapshot.taken_at),
                },
            )]
        })
        .unwrap_or_default();
    let mut item = encode(
        pk,
        keys::snapshot_sk(snapshot.taken_at, &key),
        1,
        indexes,
        snapshot,
    )?;
    item.expires_at = snapshot
        .taken_at
        .checked_add(SNAPSHOT_RETENTION)
        .ok()
        .map(|t| t.as_second());
    Ok(item)
}

fn decode_snapshot(item: Item) -> Result<Snapshot, StoreError> {
    serde_json::from_value(item.body)
        .map_err(|e| StoreError::Corrupt(format!("snapshot {} {}: {e}", item.pk, item.sk)))
}
