//! The community inbox (`domain::inbox`):
//!
//! | item                | pk                         | sk                                  | notes |
//! |---------------------|----------------------------|-------------------------------------|-------|
//! | interaction         | `B#{brand}`                | `IX#{id}`                           | TTL: the brand's retention |
//! | dedupe              | `B#{brand}`                | `IXD#{network}#{sha256(external)}`  | written on absence with the interaction: seen twice, one record |
//! | listing entry       | `B#{brand}#IXL#{listing}`  | `{created}#{id}`                    | listings `all`, `open`, `ch#{channel}`, `as#{assignee}#{state}`: a copy without the raw answer |
//! | counters            | `B#{brand}`                | `IXC#{channel}`                     | interactions per state, kept in the same write as each change |
//! | note                | `B#{brand}`                | `IXN#{interaction}#{ulid}`          | |
//! | stream              | `B#{brand}`                | `IS#{channel}#{kind}`               | due: `IDUE#{shard}` / `{next poll}#{brand}#{channel}#{kind}` |
//! | outgoing reply      | `B#{brand}`                | `RP#{interaction}#{reply}`          | due: `RDUE#0`... while it waits: `PDUE#0` / `{next}#{brand}#{interaction}#{reply}` |
//!
//! Listing entries make each listing one key range read newest or oldest first; other filters
//! refine what it reads. Every write of an interaction moves its entries and its channel's
//! counters in the same atomic write.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::repository::{ListError, MAX_EXAMINED_PER_LISTING, decode, encode};
use super::{
    Condition, Cursor, Index, IndexKey, Item, KeyRange, Query, Store, StoreError, Write, keys,
};
use crate::domain::connection::secret_hash;
use crate::domain::inbox::{InboxStream, Interaction, InteractionState, OutgoingReply, SavedReply};
use crate::domain::{BrandId, ChannelId, InteractionId, Network, PersonId, ReplyId};

/// How many shards the streams' due index is spread over.
pub const STREAM_SHARDS: u32 = 4;
const REPLIES_DUE_PK: &str = "PDUE#0";

/// One of the indexed listings of a brand's interactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    All,
    /// New and open.
    Open,
    Channel(ChannelId),
    Assignee(String, InteractionState),
    /// One person's (for their record, erasure and export).
    Person(PersonId),
}

impl Listing {
    fn key(&self) -> String {
        match self {
            Self::All => "all".into(),
            Self::Open => "open".into(),
            Self::Channel(c) => format!("ch#{c}"),
            Self::Assignee(a, s) => format!("as#{}#{}", secret_hash(a), s.as_str()),
            Self::Person(p) => format!("pe#{p}"),
        }
    }

    /// The listings `interaction` appears in.
    fn of(interaction: &Interaction) -> Vec<Self> {
        let mut all = vec![Self::All, Self::Channel(interaction.channel)];
        if interaction.state.is_open() {
            all.push(Self::Open);
        }
        if let Some(a) = &interaction.assignee {
            all.push(Self::Assignee(a.clone(), interaction.state));
        }
        if let Some(p) = interaction.person {
            all.push(Self::Person(p));
        }
        all
    }
}

fn listing_pk(brand: &BrandId, listing: &Listing) -> String {
    format!("B#{brand}#IXL#{}", listing.key())
}

fn entry_sk(i: &Interaction) -> String {
    format!("{}#{}", keys::time_key(i.created_at), i.id)
}

fn interaction_sk(id: &InteractionId) -> String {
    format!("IX#{id}")
}

fn dedupe_sk(network: Network, external_id: &str) -> String {
    format!("IXD#{}#{}", network.as_str(), secret_hash(external_id))
}

fn counters_sk(channel: &ChannelId) -> String {
    format!("IXC#{channel}")
}

fn stream_sk(stream: &InboxStream) -> String {
    format!("IS#{}#{}", stream.channel, stream.kind.as_str())
}

fn reply_sk(interaction: &InteractionId, reply: &ReplyId) -> String {
    format!("RP#{interaction}#{reply}")
}

/// Interactions read per query by [`Store::interactions_created`].
pub const PERIOD_PAGE: usize = 100;

/// Which page of a listing: created in `range`, in which order, from where, how many.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    pub range: (Option<Timestamp>, Option<Timestamp>),
    pub oldest_first: bool,
    pub cursor: Option<&'a str>,
    pub limit: usize,
}

/// A page of a listing.
#[derive(Debug, Clone)]
pub struct InteractionPage {
    pub items: Vec<Interaction>,
    pub next: Option<Cursor>,
    /// The examine limit cut the page short: more may match further on (follow `next`).
    pub partial: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Counters {
    counts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Dedupe {
    id: InteractionId,
}

/// The guard of a reply's text on an interaction: the reply it made, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReplyGuard {
    reply: ReplyId,
    at: Timestamp,
}

fn reply_guard_sk(reply: &OutgoingReply) -> String {
    let media: Vec<String> = reply.media.iter().map(ToString::to_string).collect();
    // A private reply and a public one with the same words are two answers.
    let private = if reply.private { "\u{1f}private" } else { "" };
    let what = format!("{}\u{1f}{}{private}", reply.text, media.join(","));
    format!("RPG#{}#{}", reply.interaction, secret_hash(&what))
}

fn expiry(i: &Interaction, retention: SignedDuration) -> i64 {
    (i.received_at + retention).as_second()
}

fn interaction_item(
    brand: &BrandId,
    i: &Interaction,
    version: u64,
    retention: SignedDuration,
) -> Result<Item, StoreError> {
    let mut item = encode(
        keys::brand_pk(brand),
        interaction_sk(&i.id),
        version,
        vec![],
        i,
    )?;
    item.expires_at = Some(expiry(i, retention));
    Ok(item)
}

fn decode_interaction(item: Item) -> Result<Interaction, StoreError> {
    decode(item, |i: &mut Interaction, v| i.version = v)
}

/// The entries of `i`'s listings (copies without the network's raw answer).
fn entries(
    brand: &BrandId,
    i: &Interaction,
    retention: SignedDuration,
) -> Result<Vec<Write>, StoreError> {
    let mut copy = i.clone();
    copy.raw = serde_json::Value::Null;
    Listing::of(i)
        .iter()
        .map(|listing| {
            let mut item = encode(
                listing_pk(brand, listing),
                entry_sk(i),
                i.version,
                vec![],
                &copy,
            )?;
            item.expires_at = Some(expiry(i, retention));
            Ok(Write::Put {
                item,
                condition: Condition::Any,
            })
        })
        .collect()
}

/// Deletes of the entries `before` had that `after` no longer has.
fn stale_entries(brand: &BrandId, before: &Interaction, after: &Interaction) -> Vec<Write> {
    let keep = Listing::of(after);
    Listing::of(before)
        .into_iter()
        .filter(|l| !keep.contains(l))
        .map(|l| Write::Delete {
            pk: listing_pk(brand, &l),
            sk: entry_sk(before),
            condition: Condition::Any,
        })
        .collect()
}

impl Store {
    /// The write that moves `channel`'s counters by `changes` (state, +1 or -1), conditioned on
    /// the counters as read now.
    async fn counters_write(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
        changes: &[(InteractionState, i64)],
    ) -> Result<Option<Write>, StoreError> {
        if changes.iter().all(|(_, d)| *d == 0) {
            return Ok(None);
        }
        let existing = self
            .items()
            .get(&keys::brand_pk(brand), &counters_sk(channel))
            .await?;
        let (mut counters, condition, version) = match existing {
            Some(item) => {
                let version = item.version;
                let counters: Counters = serde_json::from_value(item.body)
                    .map_err(|e| StoreError::Corrupt(format!("inbox counters: {e}")))?;
                (counters, Condition::Version(version), version + 1)
            }
            None => (Counters::default(), Condition::Absent, 1),
        };
        for (state, delta) in changes {
            let count = counters
                .counts
                .entry(state.as_str().to_owned())
                .or_default();
            *count = count.saturating_add_signed(*delta);
        }
        Ok(Some(Write::Put {
            item: Item {
                pk: keys::brand_pk(brand),
                sk: counters_sk(channel),
                version,
                indexes: vec![],
                expires_at: None,
                body: serde_json::to_value(&counters)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            },
            condition,
        }))
    }

    /// Records `interaction` unless the brand already has it (the same network and external
    /// id): `Ok(None)` then. Its dedupe item, listing entries, counters and `also` (its event)
    /// are one atomic write. A conflict on the counters (another write at the same moment) is
    /// `StoreError::Conflict` for the caller to retry.
    pub async fn record_interaction(
        &self,
        brand: &BrandId,
        interaction: &Interaction,
        retention: SignedDuration,
        also: Vec<Write>,
    ) -> Result<Option<Interaction>, StoreError> {
        let mut saved = interaction.clone();
        saved.version = 1;
        let mut dedupe = encode(
            keys::brand_pk(brand),
            dedupe_sk(saved.network, &saved.external_id),
            1,
            vec![],
            &Dedupe { id: saved.id },
        )?;
        dedupe.expires_at = Some(expiry(&saved, retention));
        let mut writes = vec![
            Write::Put {
                item: dedupe,
                condition: Condition::Absent,
            },
            Write::Put {
                item: interaction_item(brand, &saved, 1, retention)?,
                condition: Condition::Absent,
            },
        ];
        writes.extend(entries(brand, &saved, retention)?);
        writes.extend(
            self.counters_write(brand, &saved.channel, &[(saved.state, 1)])
                .await?,
        );
        writes.extend(also);
        match self.items().write(writes).await {
            Ok(()) => Ok(Some(saved)),
            Err(StoreError::Conflict { index: 0 }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn get_interaction(
        &self,
        brand: &BrandId,
        id: &InteractionId,
    ) -> Result<Option<Interaction>, StoreError> {
        self.items()
            .get(&keys::brand_pk(brand), &interaction_sk(id))
            .await?
            .map(decode_interaction)
            .transpose()
    }

    /// The interaction recorded for the item `external_id` on `network`, if any.
    pub async fn find_interaction(
        &self,
        brand: &BrandId,
        network: Network,
        external_id: &str,
    ) -> Result<Option<Interaction>, StoreError> {
        let Some(item) = self
            .items()
            .get(&keys::brand_pk(brand), &dedupe_sk(network, external_id))
            .await?
        else {
            return Ok(None);
        };
        let dedupe: Dedupe = serde_json::from_value(item.body)
            .map_err(|e| StoreError::Corrupt(format!("inbox dedupe: {e}")))?;
        self.get_interaction(brand, &dedupe.id).await
    }

    /// Whether the brand has recorded the item `external_id` on `network` (one read).
    pub async fn has_interaction(
        &self,
        brand: &BrandId,
        network: Network,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .items()
            .get(&keys::brand_pk(brand), &dedupe_sk(network, external_id))
            .await?
            .is_some())
    }

    /// Saves `after` over `before` (the version read), moving its listing entries and counters,
    /// with `also` in the same write.
    pub async fn update_interaction(
        &self,
        brand: &BrandId,
        before: &Interaction,
        after: &Interaction,
        retention: SignedDuration,
        also: Vec<Write>,
    ) -> Result<Interaction, StoreError> {
        let mut saved = after.clone();
        saved.version = before.version + 1;
        let mut writes = vec![Write::Put {
            item: interaction_item(brand, &saved, saved.version, retention)?,
            condition: Condition::Version(before.version),
        }];
        writes.extend(stale_entries(brand, before, &saved));
        writes.extend(entries(brand, &saved, retention)?);
        if before.state != saved.state {
            writes.extend(
                self.counters_write(
                    brand,
                    &saved.channel,
                    &[(before.state, -1), (saved.state, 1)],
                )
                .await?,
            );
        }
        writes.extend(also);
        self.items().write(writes).await?;
        Ok(saved)
    }

    /// A page of `listing`, newest first unless `oldest_first`, keeping those `keep` accepts;
    /// at most [`MAX_EXAMINED_PER_LISTING`] entries are read for it.
    pub async fn list_interactions(
        &self,
        brand: &BrandId,
        listing: &Listing,
        page: PageRequest<'_>,
        keep: impl Fn(&Interaction) -> bool,
    ) -> Result<InteractionPage, ListError> {
        let PageRequest {
            range,
            oldest_first,
            cursor,
            limit,
        } = page;
        let after = cursor
            .map(|c| Cursor::decode(c, ""))
            .transpose()
            .map_err(ListError::BadCursor)?;
        let lo = range.0.map(keys::time_key).unwrap_or_default();
        let hi = range
            .1
            .map(|t| keys::time_key(t - SignedDuration::from_secs(1)) + "#~")
            .unwrap_or_else(|| "~".into());
        let query = Query {
            pk: listing_pk(brand, listing),
            index: None,
            range: KeyRange::Between(lo, hi),
            after,
            limit: 0,
            descending: !oldest_first,
        };
        let (items, next) = self
            .collect(
                query,
                limit,
                MAX_EXAMINED_PER_LISTING,
                decode_interaction,
                keep,
            )
            .await?;
        Ok(InteractionPage {
            partial: next.is_some() && items.len() < limit,
            items,
            next: next.map(|a| Cursor::encode(&a)),
        })
    }

    /// The brand's interactions created in `[from, to)`, oldest first, at most `max` of them;
    /// `true` when there were more. For figures over a period (stats, reports).
    pub async fn interactions_created(
        &self,
        brand: &BrandId,
        (from, to): (Timestamp, Timestamp),
        max: usize,
    ) -> Result<(Vec<Interaction>, bool), StoreError> {
        let mut all = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = self
                .list_interactions(
                    brand,
                    &Listing::All,
                    PageRequest {
                        range: (Some(from), Some(to)),
                        oldest_first: true,
                        cursor: cursor.as_ref().map(Cursor::as_str),
                        limit: PERIOD_PAGE.min(max.saturating_sub(all.len())).max(1),
                    },
                    |_| true,
                )
                .await
                .map_err(|e| match e {
                    ListError::Store(e) => e,
                    // Cursors made here decode: this would be a bug, not bad input.
                    ListError::BadCursor(why) => StoreError::Corrupt(why),
                })?;
            all.extend(page.items);
            match page.next {
                Some(_) if all.len() >= max => return Ok((all, true)),
                Some(next) => cursor = Some(next),
                None => return Ok((all, false)),
            }
        }
    }

    /// The brand's interactions per state, from the counters kept on write.
    pub async fn inbox_counts(
        &self,
        brand: &BrandId,
    ) -> Result<BTreeMap<InteractionState, u64>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix("IXC#".into()),
                after: None,
                limit: 1_000,
                descending: false,
            })
            .await?;
        let mut totals: BTreeMap<InteractionState, u64> =
            InteractionState::ALL.iter().map(|s| (*s, 0)).collect();
        for item in page.items {
            let counters: Counters = serde_json::from_value(item.body)
                .map_err(|e| StoreError::Corrupt(format!("inbox counters: {e}")))?;
            for (state, n) in counters.counts {
                if let Ok(state) = InteractionState::parse(&state) {
                    *totals.entry(state).or_default() += n;
                }
            }
        }
        Ok(totals)
    }

    /// Deletes `interaction` for good with everything that names it: its listing entries, its
    /// dedupe item (so only a suppression can keep it out later), its notes, the brand's
    /// replies to it and their guards, its response-target watch; its channel's counters
    /// follow. Returns how many items went.
    pub async fn erase_interaction(
        &self,
        brand: &BrandId,
        interaction: &Interaction,
    ) -> Result<usize, StoreError> {
        let pk = keys::brand_pk(brand);
        let delete = |pk: String, sk: String| Write::Delete {
            pk,
            sk,
            condition: Condition::Any,
        };
        let mut writes = vec![
            Write::Delete {
                pk: pk.clone(),
                sk: interaction_sk(&interaction.id),
                condition: Condition::Version(interaction.version),
            },
            delete(
                pk.clone(),
                dedupe_sk(interaction.network, &interaction.external_id),
            ),
            delete(pk.clone(), format!("SLA#{}", interaction.id)),
        ];
        for listing in Listing::of(interaction) {
            writes.push(delete(listing_pk(brand, &listing), entry_sk(interaction)));
        }
        // What hangs off it first, page by page (a write takes at most 100 items); the
        // interaction itself last, so a failure part way leaves it findable to erase again.
        let mut count = 0;
        for prefix in [
            format!("IXN#{}#", interaction.id),
            format!("RP#{}#", interaction.id),
            format!("RPG#{}#", interaction.id),
            format!("MOD#{}#", interaction.id),
        ] {
            loop {
                let page = self
                    .items()
                    .query(&Query {
                        pk: pk.clone(),
                        index: None,
                        range: KeyRange::Prefix(prefix.clone()),
                        after: None,
                        limit: 100,
                        descending: false,
                    })
                    .await?;
                if page.items.is_empty() {
                    break;
                }
                count += page.items.len();
                self.items()
                    .write(page.items.into_iter().map(|i| delete(i.pk, i.sk)).collect())
                    .await?;
            }
        }
        writes.extend(
            self.counters_write(brand, &interaction.channel, &[(interaction.state, -1)])
                .await?,
        );
        count += writes.len();
        self.items().write(writes).await?;
        Ok(count)
    }

    // ---- notes ----

    pub async fn put_note(
        &self,
        brand: &BrandId,
        interaction: &Interaction,
        note: &Note,
        retention: SignedDuration,
    ) -> Result<(), StoreError> {
        let mut item = encode(
            keys::brand_pk(brand),
            format!("IXN#{}#{}", interaction.id, note.id),
            1,
            vec![],
            note,
        )?;
        item.expires_at = Some(expiry(interaction, retention));
        self.items()
            .write(vec![Write::Put {
                item,
                condition: Condition::Absent,
            }])
            .await
    }

    pub async fn list_notes(
        &self,
        brand: &BrandId,
        interaction: &InteractionId,
    ) -> Result<Vec<Note>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix(format!("IXN#{interaction}#")),
                after: None,
                limit: 500,
                descending: false,
            })
            .await?;
        page.items
            .into_iter()
            .map(|item| {
                serde_json::from_value(item.body)
                    .map_err(|e| StoreError::Corrupt(format!("inbox note: {e}")))
            })
            .collect()
    }

    // ---- streams ----

    fn stream_item(
        brand: &BrandId,
        stream: &InboxStream,
        version: u64,
    ) -> Result<Item, StoreError> {
        let shard =
            keys::shard_of(&format!("{}{}", stream.channel, stream.kind.as_str())) % STREAM_SHARDS;
        let due = IndexKey {
            pk: format!("IDUE#{shard}"),
            sk: format!(
                "{}#{brand}#{}#{}",
                keys::time_key(stream.next_poll),
                stream.channel,
                stream.kind.as_str()
            ),
        };
        encode(
            keys::brand_pk(brand),
            stream_sk(stream),
            version,
            vec![(Index::Due, due)],
            stream,
        )
    }

    /// The write that starts `stream` afresh (a channel connected again reads from now).
    pub fn new_stream_write(brand: &BrandId, stream: &InboxStream) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: Self::stream_item(brand, stream, 1)?,
            condition: Condition::Any,
        })
    }

    /// Saves `stream` over the version read (`None`: a new stream, unless it exists).
    pub async fn put_stream(
        &self,
        brand: &BrandId,
        stream: &InboxStream,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let version = expected.map_or(1, |v| v + 1);
        let condition = expected.map_or(Condition::Absent, Condition::Version);
        self.items()
            .write(vec![Write::Put {
                item: Self::stream_item(brand, stream, version)?,
                condition,
            }])
            .await
    }

    /// The streams of `channel`.
    pub async fn channel_streams(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
    ) -> Result<Vec<InboxStream>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix(format!("IS#{channel}#")),
                after: None,
                limit: 10,
                descending: false,
            })
            .await?;
        page.items
            .into_iter()
            .map(|item| decode(item, |s: &mut InboxStream, v| s.version = v))
            .collect()
    }

    /// Removes a stream (its channel is gone or no longer reads its inbox).
    pub async fn delete_stream(
        &self,
        brand: &BrandId,
        stream: &InboxStream,
    ) -> Result<(), StoreError> {
        self.items()
            .write(vec![Write::Delete {
                pk: keys::brand_pk(brand),
                sk: stream_sk(stream),
                condition: Condition::Any,
            }])
            .await
    }

    /// Up to `limit` streams of any brand due at or before `now`, from one shard.
    pub async fn due_streams(
        &self,
        shard: u32,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, InboxStream)>, StoreError> {
        self.due_entries(format!("IDUE#{shard}"), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode(item, |s: &mut InboxStream, v| s.version = v)?)))
            .collect()
    }

    // ---- outgoing replies ----

    fn reply_item(
        brand: &BrandId,
        reply: &OutgoingReply,
        version: u64,
        retention: SignedDuration,
    ) -> Result<Item, StoreError> {
        let due = reply.next_attempt_at.map(|at| {
            (
                Index::Due,
                IndexKey {
                    pk: REPLIES_DUE_PK.into(),
                    sk: format!(
                        "{}#{brand}#{}#{}",
                        keys::time_key(at),
                        reply.interaction,
                        reply.id
                    ),
                },
            )
        });
        let mut item = encode(
            keys::brand_pk(brand),
            reply_sk(&reply.interaction, &reply.id),
            version,
            due.into_iter().collect(),
            reply,
        )?;
        item.expires_at = Some((reply.created_at + retention).as_second());
        Ok(item)
    }

    /// The write that creates `reply`.
    pub fn new_reply_write(
        brand: &BrandId,
        reply: &OutgoingReply,
        retention: SignedDuration,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: Self::reply_item(brand, reply, 1, retention)?,
            condition: Condition::Absent,
        })
    }

    /// The write that saves `reply` over the version read.
    pub fn reply_write(
        brand: &BrandId,
        reply: &OutgoingReply,
        retention: SignedDuration,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: Self::reply_item(brand, reply, reply.version + 1, retention)?,
            condition: Condition::Version(reply.version),
        })
    }

    /// Creates `reply` with `also`, unless the same text (and media) was written to the same
    /// interaction less than `window` ago: then nothing is written and the earlier reply's id
    /// is the answer (a form sent twice, a client's retry after a lost answer). A guard item,
    /// written on absence in the same write, makes two requests at once one reply.
    pub async fn create_reply(
        &self,
        brand: &BrandId,
        reply: &OutgoingReply,
        retention: SignedDuration,
        window: SignedDuration,
        also: Vec<Write>,
    ) -> Result<Result<(), ReplyId>, StoreError> {
        let pk = keys::brand_pk(brand);
        let sk = reply_guard_sk(reply);
        let now = reply.created_at;
        for _ in 0..2 {
            let condition = match self.items().get(&pk, &sk).await? {
                Some(item) => {
                    let version = item.version;
                    let guard: ReplyGuard = serde_json::from_value(item.body)
                        .map_err(|e| StoreError::Corrupt(format!("reply guard: {e}")))?;
                    if now.duration_since(guard.at) < window {
                        return Ok(Err(guard.reply));
                    }
                    Condition::Version(version)
                }
                None => Condition::Absent,
            };
            let mut item = encode(
                pk.clone(),
                sk.clone(),
                1,
                vec![],
                &ReplyGuard {
                    reply: reply.id,
                    at: now,
                },
            )?;
            if let Condition::Version(v) = condition {
                item.version = v + 1;
            }
            // Kept no longer than the window needs (a late TTL is read as stale above).
            item.expires_at = Some((now + window).as_second());
            let mut writes = vec![
                Write::Put { item, condition },
                Self::new_reply_write(brand, reply, retention)?,
            ];
            writes.extend(also.iter().cloned());
            match self.items().write(writes).await {
                Ok(()) => return Ok(Ok(())),
                // Another request wrote the guard first: read it again.
                Err(StoreError::Conflict { index: 0 }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict { index: 0 })
    }

    /// The write that lets the same text be answered again at once: a reply that failed for
    /// good no longer stands for it.
    pub fn release_reply_guard(brand: &BrandId, reply: &OutgoingReply) -> Write {
        Write::Delete {
            pk: keys::brand_pk(brand),
            sk: reply_guard_sk(reply),
            condition: Condition::Any,
        }
    }

    /// Saves `reply` over the version read, with `also` in the same write.
    pub async fn update_reply(
        &self,
        brand: &BrandId,
        reply: &OutgoingReply,
        retention: SignedDuration,
        also: Vec<Write>,
    ) -> Result<OutgoingReply, StoreError> {
        let mut writes = vec![Self::reply_write(brand, reply, retention)?];
        writes.extend(also);
        self.items().write(writes).await?;
        let mut saved = reply.clone();
        saved.version = reply.version + 1;
        Ok(saved)
    }

    pub async fn get_reply(
        &self,
        brand: &BrandId,
        interaction: &InteractionId,
        reply: &ReplyId,
    ) -> Result<Option<OutgoingReply>, StoreError> {
        self.items()
            .get(&keys::brand_pk(brand), &reply_sk(interaction, reply))
            .await?
            .map(|item| decode(item, |r: &mut OutgoingReply, v| r.version = v))
            .transpose()
    }

    /// The replies sent or waiting for an interaction, oldest first.
    pub async fn replies_of(
        &self,
        brand: &BrandId,
        interaction: &InteractionId,
    ) -> Result<Vec<OutgoingReply>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix(format!("RP#{interaction}#")),
                after: None,
                limit: 200,
                descending: false,
            })
            .await?;
        page.items
            .into_iter()
            .map(|item| decode(item, |r: &mut OutgoingReply, v| r.version = v))
            .collect()
    }

    /// Up to `limit` replies of any brand due at or before `now`.
    pub async fn due_replies(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, OutgoingReply)>, StoreError> {
        self.due_entries(REPLIES_DUE_PK.into(), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| {
                Ok((
                    brand,
                    decode(item, |r: &mut OutgoingReply, v| r.version = v)?,
                ))
            })
            .collect()
    }
}

impl Store {
    /// Saves a saved reply (`None`: a new one, unless the id exists), on the version read.
    pub async fn put_saved_reply(
        &self,
        brand: &BrandId,
        saved: &SavedReply,
        expected: Option<u64>,
    ) -> Result<SavedReply, StoreError> {
        let version = expected.map_or(1, |v| v + 1);
        let item = encode(
            keys::brand_pk(brand),
            format!("SR#{}", saved.id),
            version,
            vec![],
            saved,
        )?;
        self.items()
            .write(vec![Write::Put {
                item,
                condition: expected.map_or(Condition::Absent, Condition::Version),
            }])
            .await?;
        let mut out = saved.clone();
        out.version = version;
        Ok(out)
    }

    pub async fn get_saved_reply(
        &self,
        brand: &BrandId,
        id: &str,
    ) -> Result<Option<SavedReply>, StoreError> {
        self.items()
            .get(&keys::brand_pk(brand), &format!("SR#{id}"))
            .await?
            .map(|item| decode(item, |r: &mut SavedReply, v| r.version = v))
            .transpose()
    }

    /// The brand's saved replies, oldest first.
    pub async fn list_saved_replies(&self, brand: &BrandId) -> Result<Vec<SavedReply>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix("SR#".into()),
                after: None,
                limit: crate::domain::inbox::MAX_SAVED_REPLIES,
                descending: false,
            })
            .await?;
        page.items
            .into_iter()
            .map(|item| decode(item, |r: &mut SavedReply, v| r.version = v))
            .collect()
    }

    pub async fn delete_saved_reply(
        &self,
        brand: &BrandId,
        id: &str,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.items()
            .write(vec![Write::Delete {
                pk: keys::brand_pk(brand),
                sk: format!("SR#{id}"),
                condition: Condition::Version(expected),
            }])
            .await
    }
}

/// An interaction whose first response becomes late at `deadline` (its brand's target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaWatch {
    pub interaction: InteractionId,
    pub deadline: Timestamp,
}

const SLA_DUE_PK: &str = "SDUE#0";

impl Store {
    /// The write that watches `interaction`'s response target until `deadline`.
    pub fn sla_watch_write(brand: &BrandId, watch: &SlaWatch) -> Result<Write, StoreError> {
        let due = IndexKey {
            pk: SLA_DUE_PK.into(),
            sk: format!(
                "{}#{brand}#{}",
                keys::time_key(watch.deadline),
                watch.interaction
            ),
        };
        let mut item = encode(
            keys::brand_pk(brand),
            format!("SLA#{}", watch.interaction),
            1,
            vec![(Index::Due, due)],
            watch,
        )?;
        item.expires_at = Some((watch.deadline + SignedDuration::from_hours(24 * 30)).as_second());
        Ok(Write::Put {
            item,
            condition: Condition::Any,
        })
    }

    /// The write that stops watching `interaction`.
    pub fn sla_watch_done(brand: &BrandId, interaction: &InteractionId) -> Write {
        Write::Delete {
            pk: keys::brand_pk(brand),
            sk: format!("SLA#{interaction}"),
            condition: Condition::Any,
        }
    }

    /// Up to `limit` watches of any brand whose deadline has passed at `now`.
    pub async fn due_sla_watches(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, SlaWatch)>, StoreError> {
        self.due_entries(SLA_DUE_PK.into(), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| {
                let watch = serde_json::from_value(item.body)
                    .map_err(|e| StoreError::Corrupt(format!("an SLA watch: {e}")))?;
                Ok((brand, watch))
            })
            .collect()
    }
}

/// A note someone of the brand wrote on an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Note {
    pub id: String,
    pub author: String,
    pub text: String,
    pub at: Timestamp,
}

/// The brand's inbox rules, in order, as one item (`B#{brand}` / `IRULES`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    pub rules: Vec<crate::domain::inbox_rules::InboxRule>,
    #[serde(default)]
    pub version: u64,
}

const RULES_SK: &str = "IRULES";

impl Store {
    /// The brand's inbox rules (none, version 0, before any were saved).
    pub async fn inbox_rules(&self, brand: &BrandId) -> Result<RuleSet, StoreError> {
        self.items()
            .get(&keys::brand_pk(brand), RULES_SK)
            .await?
            .map(|item| decode(item, |r: &mut RuleSet, v| r.version = v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Replaces the brand's rules over the version read (0: none yet), with `also` in the same
    /// write; a concurrent change is `StoreError::Conflict`.
    pub async fn put_inbox_rules(
        &self,
        brand: &BrandId,
        rules: &RuleSet,
        also: Vec<Write>,
    ) -> Result<RuleSet, StoreError> {
        let version = rules.version + 1;
        let condition = match rules.version {
            0 => Condition::Absent,
            v => Condition::Version(v),
        };
        let mut writes = vec![Write::Put {
            item: encode(
                keys::brand_pk(brand),
                RULES_SK.into(),
                version,
                vec![],
                rules,
            )?,
            condition,
        }];
        writes.extend(also);
        self.items().write(writes).await?;
        Ok(RuleSet {
            rules: rules.rules.clone(),
            version,
        })
    }
}
