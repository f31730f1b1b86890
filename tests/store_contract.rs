//! The store contract: one suite, run unchanged against the embedded store and DynamoDB (moto).
//! Each contract is an `async fn` taking a fresh store; `contract_suite!` runs every one of them
//! against an adapter's factory.

use std::sync::Arc;

use jiff::Timestamp;
use palinsesto::clock::ManualClock;
use palinsesto::domain::AssetId;
use palinsesto::domain::channel::ChannelFields;
use palinsesto::domain::post::Context;
use palinsesto::domain::rate_limit::{RateLimits, UploadAllowance, WriteBucket};
use palinsesto::domain::{
    Brand, BrandId, BrandProfile, Channel, ChannelStatus, Credentials, Network, Post, PostDraft,
    PostInput, PostStatus, TimeZoneName,
};
use palinsesto::services::{RateLimiter, ServiceError};
use palinsesto::store::keys;
use palinsesto::store::{
    Condition, Index, IndexKey, Item, ItemStore, KeyRange, ListError, Page, PostFilter, Query,
    StartAfter, Store, StoreError, Write,
};
use serde_json::json;

/// One `#[tokio::test]` per contract, each on a fresh store from `$factory`.
macro_rules! contract_tests {
    ($factory:expr; $($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            super::$name($factory.await).await;
        }
    )*};
}

macro_rules! contract_suite {
    ($module:ident, $factory:expr) => {
        mod $module {
            contract_tests!(
                $factory;
                absent_put_creates_once,
                a_replayed_put_is_its_own_success,
                version_condition_guards_updates,
                version_condition_on_a_missing_item_conflicts,
                delete_with_a_stale_version_conflicts,
                any_overwrites_and_deletes_whatever_is_there,
                a_call_is_all_or_nothing,
                a_call_touching_one_key_twice_is_refused,
                prefix_query_reads_one_partition_both_ways,
                between_includes_both_ends,
                between_from_the_empty_string_reads_from_the_start,
                paging_returns_every_item_once_in_order,
                index_query_orders_by_index_key_and_is_sparse,
                index_entries_follow_updates_and_deletes,
                index_paging_returns_every_entry_once_in_order,
                brands_are_versioned,
                channels_are_listed_updated_and_deleted_with_their_credentials,
                posts_are_created_updated_and_deleted_with_versions,
                posts_are_listed_newest_first_across_pages,
                post_listings_filter_by_status_label_channel_and_time,
                posts_between_reads_the_time_index,
                a_cursor_never_reaches_another_brands_posts,
                rate_limit_items_change_only_from_the_version_read,
                racing_writers_never_share_the_last_token,
                upload_slots_are_taken_and_freed_without_losing_a_race,
                a_renewal_lease_has_one_holder_until_it_runs_out,
                renewed_credentials_are_saved_only_on_the_version_read,
                credentials_stored_before_sealing_are_read_and_sealed_on_their_next_write,
                a_sandbox_post_is_kept_once,
                erasing_a_brand_leaves_nothing_of_it_and_every_other_brand_whole,
            );
        }
    };
}

contract_suite!(embedded, palinsesto_system_tests::embedded::fresh_store());
contract_suite!(dynamodb, palinsesto_system_tests::dynamodb::fresh_store());

// ---- the item store seam ----

const PK: &str = "B#acme";
const INDEX_PK: &str = "B#acme#P";

fn item(sk: &str, version: u64, note: &str) -> Item {
    Item {
        pk: PK.into(),
        sk: sk.into(),
        version,
        indexes: vec![],
        expires_at: None,
        body: json!({ "note": note, "tags": ["a", "b"], "ok": true }),
    }
}

fn indexed(sk: &str, version: u64, index_sk: &str) -> Item {
    Item {
        indexes: vec![(
            Index::PostsByTime,
            IndexKey {
                pk: INDEX_PK.into(),
                sk: index_sk.into(),
            },
        )],
        ..item(sk, version, index_sk)
    }
}

fn put(item: Item, condition: Condition) -> Write {
    Write::Put { item, condition }
}

fn delete(sk: &str, condition: Condition) -> Write {
    Write::Delete {
        pk: PK.into(),
        sk: sk.into(),
        condition,
    }
}

async fn write_all(store: &dyn ItemStore, items: impl IntoIterator<Item = Item>) {
    for item in items {
        let what = format!("{} {}", item.pk, item.sk);
        store
            .write(vec![put(item, Condition::Absent)])
            .await
            .unwrap_or_else(|e| panic!("writing {what}: {e}"));
    }
}

fn table_query(range: KeyRange, limit: usize, descending: bool) -> Query {
    Query {
        pk: PK.into(),
        index: None,
        range,
        after: None,
        limit,
        descending,
    }
}

fn index_query(range: KeyRange, limit: usize, descending: bool) -> Query {
    Query {
        index: Some((Index::PostsByTime, INDEX_PK.into())),
        ..table_query(range, limit, descending)
    }
}

fn sks(page: &Page) -> Vec<&str> {
    page.items.iter().map(|i| i.sk.as_str()).collect()
}

fn assert_conflict(outcome: Result<(), StoreError>, index: usize) {
    assert!(
        matches!(outcome, Err(StoreError::Conflict { index: i }) if i == index),
        "expected a conflict on write {index}, got {outcome:?}"
    );
}

/// Follows `next` from the first page to the last, checking each page's size.
async fn read_all_pages(store: &dyn ItemStore, mut query: Query) -> Vec<Item> {
    let mut items = Vec::new();
    for _ in 0..50 {
        let page = store.query(&query).await.expect("a page");
        assert!(page.items.len() <= query.limit);
        if page.items.len() < query.limit {
            assert_eq!(page.next, None, "a short page is the last one");
        }
        items.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return items,
        }
    }
    panic!("paging did not end");
}

async fn absent_put_creates_once(store: Arc<dyn ItemStore>) {
    // Given an item created only if absent, with an expiry time
    let mut first = item("P#1", 1, "first");
    first.expires_at = Some(1_900_000_000);
    store
        .write(vec![put(first.clone(), Condition::Absent)])
        .await
        .unwrap();

    // When a second create of the same key is attempted
    let second = store
        .write(vec![put(item("P#1", 1, "second"), Condition::Absent)])
        .await;

    // Then it conflicts and the first item is kept exactly as written
    assert_conflict(second, 0);
    assert_eq!(store.get(PK, "P#1").await.unwrap(), Some(first));
    assert_eq!(store.get(PK, "P#2").await.unwrap(), None);
}

async fn a_replayed_put_is_its_own_success(store: Arc<dyn ItemStore>) {
    // Given an item updated from version 1 to 2
    let at = |version: u64, text: &str| Item {
        pk: "B#acme".into(),
        sk: "P#1".into(),
        version,
        indexes: vec![],
        expires_at: None,
        body: json!({"text": text}),
    };
    store
        .write(vec![Write::Put {
            item: at(1, "v1"),
            condition: Condition::Absent,
        }])
        .await
        .unwrap();
    let update = Write::Put {
        item: at(2, "v2"),
        condition: Condition::Version(1),
    };
    store.write(vec![update.clone()]).await.unwrap();
    // When the same write arrives again (its answer was lost and the SDK resent it)
    // Then it succeeds without change, while a different write from version 1 still conflicts
    store
        .write(vec![update])
        .await
        .expect("a replay finds its own write");
    let other = Write::Put {
        item: at(2, "someone else's v2"),
        condition: Condition::Version(1),
    };
    assert!(matches!(
        store.write(vec![other]).await,
        Err(StoreError::Conflict { index: 0 })
    ));
    let stored = store.get("B#acme", "P#1").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.body), (2, json!({"text": "v2"})));
}

async fn version_condition_guards_updates(store: Arc<dyn ItemStore>) {
    // Given an item at version 1
    write_all(&*store, [item("P#1", 1, "v1")]).await;

    // When it is updated from version 1, then updated again from the stale version 1
    store
        .write(vec![put(item("P#1", 2, "v2"), Condition::Version(1))])
        .await
        .unwrap();
    let stale = store
        .write(vec![put(
            item("P#1", 2, "lost update"),
            Condition::Version(1),
        )])
        .await;

    // Then the first update holds and the stale one conflicts without changing anything
    assert_conflict(stale, 0);
    assert_eq!(
        store.get(PK, "P#1").await.unwrap(),
        Some(item("P#1", 2, "v2"))
    );
}

async fn version_condition_on_a_missing_item_conflicts(store: Arc<dyn ItemStore>) {
    let outcome = store
        .write(vec![put(item("P#1", 2, "v2"), Condition::Version(1))])
        .await;
    assert_conflict(outcome, 0);
    assert_eq!(store.get(PK, "P#1").await.unwrap(), None);
}

async fn delete_with_a_stale_version_conflicts(store: Arc<dyn ItemStore>) {
    // Given an item at version 2
    write_all(&*store, [item("P#1", 2, "v2")]).await;

    // When deletes carry a stale version, or name a missing item with a version
    let stale = store
        .write(vec![delete("P#1", Condition::Version(1))])
        .await;
    let missing = store
        .write(vec![delete("P#9", Condition::Version(1))])
        .await;

    // Then both conflict and the item is kept, until a delete carries its version
    assert_conflict(stale, 0);
    assert_conflict(missing, 0);
    assert!(store.get(PK, "P#1").await.unwrap().is_some());
    store
        .write(vec![delete("P#1", Condition::Version(2))])
        .await
        .unwrap();
    assert_eq!(store.get(PK, "P#1").await.unwrap(), None);
}

async fn any_overwrites_and_deletes_whatever_is_there(store: Arc<dyn ItemStore>) {
    write_all(&*store, [item("P#1", 5, "old")]).await;

    store
        .write(vec![put(item("P#1", 1, "new"), Condition::Any)])
        .await
        .unwrap();
    assert_eq!(
        store.get(PK, "P#1").await.unwrap(),
        Some(item("P#1", 1, "new"))
    );

    store
        .write(vec![
            delete("P#1", Condition::Any),
            delete("P#2", Condition::Any),
        ])
        .await
        .unwrap();
    assert_eq!(store.get(PK, "P#1").await.unwrap(), None);
}

async fn a_call_is_all_or_nothing(store: Arc<dyn ItemStore>) {
    // Given an existing item
    write_all(&*store, [item("P#1", 1, "existing")]).await;

    // When one call creates a new item and re-creates the existing one
    let outcome = store
        .write(vec![
            put(item("P#2", 1, "new"), Condition::Absent),
            put(item("P#1", 1, "again"), Condition::Absent),
        ])
        .await;

    // Then the second write is named as the conflict and the first did not happen
    assert_conflict(outcome, 1);
    assert_eq!(store.get(PK, "P#2").await.unwrap(), None);
    assert_eq!(
        store.get(PK, "P#1").await.unwrap(),
        Some(item("P#1", 1, "existing"))
    );
}

async fn a_call_touching_one_key_twice_is_refused(store: Arc<dyn ItemStore>) {
    let outcome = store
        .write(vec![
            put(item("P#1", 1, "one"), Condition::Any),
            delete("P#1", Condition::Any),
        ])
        .await;
    assert!(
        matches!(outcome, Err(StoreError::Invalid(_))),
        "{outcome:?}"
    );
    assert_eq!(store.get(PK, "P#1").await.unwrap(), None);
}

async fn prefix_query_reads_one_partition_both_ways(store: Arc<dyn ItemStore>) {
    // Given items under several prefixes, and one with the same prefix in another partition
    write_all(
        &*store,
        ["A#1", "P#2", "P#1", "P#3", "Q#1"].map(|sk| item(sk, 1, sk)),
    )
    .await;
    let mut elsewhere = item("P#0", 1, "elsewhere");
    elsewhere.pk = "B#acme#CRED".into();
    write_all(&*store, [elsewhere]).await;

    // When the prefix is queried in each direction
    let up = store
        .query(&table_query(KeyRange::Prefix("P#".into()), 10, false))
        .await
        .unwrap();
    let down = store
        .query(&table_query(KeyRange::Prefix("P#".into()), 10, true))
        .await
        .unwrap();

    // Then only that partition's items with the prefix come back, in order
    assert_eq!(sks(&up), ["P#1", "P#2", "P#3"]);
    assert_eq!(up.next, None);
    assert_eq!(sks(&down), ["P#3", "P#2", "P#1"]);
    assert_eq!(up.items[0], item("P#1", 1, "P#1"));
}

async fn between_includes_both_ends(store: Arc<dyn ItemStore>) {
    write_all(
        &*store,
        ["T#1", "T#2", "T#3", "T#4", "T#5"].map(|sk| item(sk, 1, sk)),
    )
    .await;
    let range = || KeyRange::Between("T#2".into(), "T#4".into());

    let up = store.query(&table_query(range(), 10, false)).await.unwrap();
    let down = store.query(&table_query(range(), 10, true)).await.unwrap();

    assert_eq!(sks(&up), ["T#2", "T#3", "T#4"]);
    assert_eq!(sks(&down), ["T#4", "T#3", "T#2"]);
}

/// The due index reads "everything up to now" as a range from the empty string (DynamoDB refuses
/// an empty string in a key condition, so the adapter must express it another way).
async fn between_from_the_empty_string_reads_from_the_start(store: Arc<dyn ItemStore>) {
    write_all(&*store, ["T#1", "T#2", "T#3"].map(|sk| item(sk, 1, sk))).await;
    let range = || KeyRange::Between(String::new(), "T#2".into());

    let up = store.query(&table_query(range(), 10, false)).await.unwrap();
    let down = store.query(&table_query(range(), 10, true)).await.unwrap();

    assert_eq!(sks(&up), ["T#1", "T#2"]);
    assert_eq!(sks(&down), ["T#2", "T#1"]);
}

async fn paging_returns_every_item_once_in_order(store: Arc<dyn ItemStore>) {
    // Given seven items, and others around them that must never appear
    let wanted: Vec<String> = (1..=7).map(|i| format!("P#{i}")).collect();
    write_all(&*store, wanted.iter().map(|sk| item(sk, 1, sk))).await;
    write_all(&*store, [item("A#1", 1, "a"), item("Q#1", 1, "q")]).await;

    for descending in [false, true] {
        let mut expected = wanted.clone();
        if descending {
            expected.reverse();
        }
        for limit in [1, 2, 3, 7, 10] {
            // When every page is read by following `next`
            let query = table_query(KeyRange::Prefix("P#".into()), limit, descending);
            let items = read_all_pages(&*store, query).await;

            // Then each item comes exactly once, in order
            let got: Vec<_> = items.iter().map(|i| i.sk.clone()).collect();
            assert_eq!(got, expected, "limit {limit}, descending {descending}");
        }
    }

    // And a page starts strictly after the given item
    let mut query = table_query(KeyRange::Prefix("P#".into()), 2, false);
    query.after = Some(StartAfter {
        sk: "P#3".into(),
        index_sk: None,
    });
    let page = store.query(&query).await.unwrap();
    assert_eq!(sks(&page), ["P#4", "P#5"]);
    assert_eq!(
        page.next,
        Some(StartAfter {
            sk: "P#5".into(),
            index_sk: None
        })
    );
}

async fn index_query_orders_by_index_key_and_is_sparse(store: Arc<dyn ItemStore>) {
    // Given items whose index order differs from their table order, and one without an index key
    write_all(
        &*store,
        [
            indexed("P#a", 1, "2027-03-01T00:00:00Z#a"),
            indexed("P#b", 1, "2027-01-01T00:00:00Z#b"),
            indexed("P#c", 1, "2027-02-01T00:00:00Z#c"),
            indexed("P#d", 1, "2027-04-01T00:00:00Z#d"),
            item("P#e", 1, "no publish time"),
        ],
    )
    .await;

    // When the index is queried over a range, and over everything in both directions
    let range = KeyRange::Between(
        "2027-01-01T00:00:00Z".into(),
        "2027-03-01T00:00:00Z~".into(),
    );
    let some = store.query(&index_query(range, 10, false)).await.unwrap();
    let everything = || KeyRange::Prefix("2027-".into());
    let up = store
        .query(&index_query(everything(), 10, false))
        .await
        .unwrap();
    let down = store
        .query(&index_query(everything(), 10, true))
        .await
        .unwrap();

    // Then entries come in index order, inclusive of both ends, and the unindexed item never
    assert_eq!(sks(&some), ["P#b", "P#c", "P#a"]);
    assert_eq!(sks(&up), ["P#b", "P#c", "P#a", "P#d"]);
    assert_eq!(sks(&down), ["P#d", "P#a", "P#c", "P#b"]);
    assert_eq!(some.items[0], indexed("P#b", 1, "2027-01-01T00:00:00Z#b"));
}

async fn index_entries_follow_updates_and_deletes(store: Arc<dyn ItemStore>) {
    // Given three indexed items
    write_all(
        &*store,
        [
            indexed("P#a", 1, "2027-01-01T00:00:00Z#a"),
            indexed("P#b", 1, "2027-02-01T00:00:00Z#b"),
            indexed("P#c", 1, "2027-03-01T00:00:00Z#c"),
        ],
    )
    .await;

    // When one moves to a later time, one loses its time and one is deleted
    store
        .write(vec![
            put(
                indexed("P#a", 2, "2027-04-01T00:00:00Z#a"),
                Condition::Version(1),
            ),
            put(item("P#b", 2, "unscheduled"), Condition::Version(1)),
        ])
        .await
        .unwrap();
    let everything = index_query(KeyRange::Prefix("2027-".into()), 10, false);
    let after_moves = store.query(&everything).await.unwrap();
    store
        .write(vec![delete("P#c", Condition::Version(1))])
        .await
        .unwrap();
    let after_delete = store.query(&everything).await.unwrap();

    // Then the index holds exactly the current keys: no stale entry is left behind
    assert_eq!(sks(&after_moves), ["P#c", "P#a"]);
    assert_eq!(
        after_moves.items[1],
        indexed("P#a", 2, "2027-04-01T00:00:00Z#a")
    );
    assert_eq!(sks(&after_delete), ["P#a"]);
    let january = KeyRange::Between(
        "2027-01-01T00:00:00Z".into(),
        "2027-01-31T23:59:59Z~".into(),
    );
    let old_slot = store.query(&index_query(january, 10, false)).await.unwrap();
    assert!(old_slot.items.is_empty());
}

async fn index_paging_returns_every_entry_once_in_order(store: Arc<dyn ItemStore>) {
    // Given seven indexed items whose table order is the reverse of their index order
    let items: Vec<Item> = (1..=7)
        .map(|i| {
            indexed(
                &format!("P#{}", 8 - i),
                1,
                &format!("2027-01-0{i}T00:00:00Z#{i}"),
            )
        })
        .collect();
    write_all(&*store, items.clone()).await;
    write_all(&*store, [item("P#9", 1, "unindexed")]).await;

    for descending in [false, true] {
        let mut expected: Vec<String> = items.iter().map(|i| i.sk.clone()).collect();
        if descending {
            expected.reverse();
        }
        for limit in [1, 2, 3, 7] {
            let range = KeyRange::Between("2027-01-01".into(), "2027-01-07~".into());
            let got = read_all_pages(&*store, index_query(range, limit, descending)).await;
            let got: Vec<_> = got.iter().map(|i| i.sk.clone()).collect();
            assert_eq!(got, expected, "limit {limit}, descending {descending}");
        }
    }

    // And `next` carries the index sort key, so the next page can start after the right entry
    let first = store
        .query(&index_query(KeyRange::Prefix("2027-".into()), 2, false))
        .await
        .unwrap();
    assert_eq!(
        first.next,
        Some(StartAfter {
            sk: "P#6".into(),
            index_sk: Some("2027-01-02T00:00:00Z#2".into()),
        })
    );
}

// ---- the Store port ----

const NOW: &str = "2027-01-15T10:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn brand_id(id: &str) -> BrandId {
    BrandId::parse(id).unwrap()
}

fn rome() -> TimeZoneName {
    TimeZoneName::parse("Europe/Rome").unwrap()
}

fn brand(id: &str, name: &str) -> Brand {
    Brand::create(
        brand_id(id),
        BrandProfile::parse(name, "Europe/Rome", false).unwrap(),
        now(),
    )
}

fn channel(name: &str) -> Channel {
    let fields = ChannelFields::parse(
        Network::Telegram,
        name,
        "@acme",
        json!({ "chat_id": "@acme" }).as_object().unwrap().clone(),
        ChannelStatus::Active,
        palinsesto::domain::OutboundPolicy::PUBLIC_ONLY,
    )
    .unwrap();
    Channel::create(Network::Telegram, fields, now())
}

/// Connects `channel` as stored: its Telegram bot token, in the same write as the channel.
async fn connect(store: &Store, brand: &BrandId, channel: &Channel) -> Channel {
    let credentials = Credentials::parse(
        Network::Telegram,
        json!({ "bot_token": "123:secret" }).as_object().unwrap(),
    )
    .unwrap();
    let mut connected = channel.clone();
    connected.credentials_stored(now());
    store
        .put_credentials(brand, &connected, channel.version, &credentials)
        .await
        .unwrap()
}

struct PostSpec<'a> {
    text: &'a str,
    channels: Vec<String>,
    labels: &'a [&'a str],
    publish_at: Option<&'a str>,
}

fn post(spec: PostSpec<'_>) -> Post {
    let draft = PostDraft::parse(PostInput {
        text: spec.text.into(),
        channels: spec.channels,
        labels: spec.labels.iter().map(|l| l.to_string()).collect(),
        publish_at: spec.publish_at.map(str::to_owned),
        ..PostInput::default()
    })
    .unwrap();
    let ctx = Context {
        actor: "alice",
        now: now(),
        approval_required: false,
    };
    Post::create(draft, rome(), &ctx)
}

fn plain_post(text: &str, publish_at: Option<&str>) -> Post {
    post(PostSpec {
        text,
        channels: vec![],
        labels: &[],
        publish_at,
    })
}

/// Stores each post as new and returns them as stored.
async fn create_posts(store: &Store, brand: &BrandId, posts: Vec<Post>) -> Vec<Post> {
    let mut saved = Vec::new();
    for p in posts {
        saved.push(store.put_post(brand, &p, None).await.unwrap());
    }
    saved
}

/// Follows cursors through a whole listing, checking no page is larger than asked.
async fn list_all(store: &Store, brand: &BrandId, filter: &PostFilter, limit: usize) -> Vec<Post> {
    let mut posts = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let page = store
            .list_posts(brand, filter, cursor.as_deref(), limit)
            .await
            .unwrap();
        assert!(page.posts.len() <= limit);
        posts.extend(page.posts);
        match page.next {
            Some(next) => cursor = Some(next.into_string()),
            None => return posts,
        }
    }
    panic!("the listing did not end");
}

fn ids(posts: &[Post]) -> Vec<String> {
    posts.iter().map(|p| p.id.to_string()).collect()
}

fn newest_first(posts: &[Post]) -> Vec<String> {
    // Post ids are ULIDs, so id order is creation order (to the millisecond, then random).
    let mut ids = ids(posts);
    ids.sort_by(|a, b| b.cmp(a));
    ids
}

async fn brands_are_versioned(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let acme = brand("acme", "Acme Coffee");

    // Created at version 1; a second create conflicts
    let created = store.put_brand(&acme, None).await.unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(
        store.get_brand(&acme.id).await.unwrap(),
        Some(created.clone())
    );
    // A replay of the same create is its own success; a different create conflicts.
    store.put_brand(&acme, None).await.unwrap();
    assert!(matches!(
        store
            .put_brand(&brand("acme", "Someone else's Acme"), None)
            .await,
        Err(StoreError::Conflict { .. })
    ));

    // Updated from the version read; a stale update conflicts and changes nothing
    let mut renamed = created.clone();
    renamed.update(
        BrandProfile::parse("Acme Roasters", "Europe/Rome", true).unwrap(),
        now(),
    );
    let updated = store.put_brand(&renamed, Some(1)).await.unwrap();
    assert_eq!(updated.version, 2);
    assert!(matches!(
        store.put_brand(&created, Some(1)).await,
        Err(StoreError::Conflict { .. })
    ));
    let stored = store.get_brand(&acme.id).await.unwrap().unwrap();
    assert_eq!(stored, updated);
    assert_eq!(stored.name, "Acme Roasters");
    assert_eq!(store.get_brand(&brand_id("other")).await.unwrap(), None);
}

async fn channels_are_listed_updated_and_deleted_with_their_credentials(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let acme = brand_id("acme");

    // Given two channels of one brand and one of another
    let news = store
        .put_channel(&acme, &channel("News"), None)
        .await
        .unwrap();
    let offers = store
        .put_channel(&acme, &channel("Offers"), None)
        .await
        .unwrap();
    store
        .put_channel(&brand_id("other"), &channel("Theirs"), None)
        .await
        .unwrap();
    let mut listed = store.list_channels(&acme).await.unwrap();
    listed.sort_by_key(|c| c.name.clone());
    assert_eq!(listed, [news.clone(), offers.clone()]);

    // When one is renamed and connected with credentials
    let mut renamed = news.clone();
    let mut fields = renamed.fields();
    fields.name = "Newsroom".into();
    renamed.update(fields, now());
    let renamed = store.put_channel(&acme, &renamed, Some(1)).await.unwrap();
    assert!(matches!(
        store.put_channel(&acme, &news, Some(1)).await,
        Err(StoreError::Conflict { .. })
    ));
    let credentials = Credentials::parse(
        Network::Telegram,
        json!({ "bot_token": "123:secret" }).as_object().unwrap(),
    )
    .unwrap();
    let mut connected = renamed.clone();
    connected.credentials_stored(now());
    let connected = store
        .put_credentials(&acme, &connected, renamed.version, &credentials)
        .await
        .unwrap();

    // Then the channel and its credentials are stored together
    assert_eq!(connected.version, 3);
    assert_eq!(
        store.get_channel(&acme, &news.id).await.unwrap(),
        Some(connected.clone())
    );
    assert_eq!(
        store.get_credentials(&acme, &news.id).await.unwrap(),
        Some(credentials.clone())
    );
    assert_eq!(
        store
            .get_credentials(&brand_id("other"), &news.id)
            .await
            .unwrap(),
        None
    );
    // ... and stale credentials writes conflict
    assert!(matches!(
        store
            .put_credentials(&acme, &renamed, renamed.version, &credentials)
            .await,
        Err(StoreError::Conflict { index: 0 })
    ));

    // When it is deleted (a stale version first)
    assert!(matches!(
        store.delete_channel(&acme, &news.id, 2).await,
        Err(StoreError::Conflict { index: 0 })
    ));
    store.delete_channel(&acme, &news.id, 3).await.unwrap();

    // Then its credentials went with it and the other channel stays
    assert_eq!(store.get_channel(&acme, &news.id).await.unwrap(), None);
    assert_eq!(store.get_credentials(&acme, &news.id).await.unwrap(), None);
    assert_eq!(store.list_channels(&acme).await.unwrap(), [offers]);
}

async fn posts_are_created_updated_and_deleted_with_versions(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let acme = brand_id("acme");
    let draft = plain_post("Hello", Some("2027-02-01T09:00:00Z"));

    let created = store.put_post(&acme, &draft, None).await.unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(
        store.get_post(&acme, &draft.id).await.unwrap(),
        Some(created.clone())
    );
    let mut other = draft.clone();
    other.text = "Someone else's post with the same id".into();
    assert!(matches!(
        store.put_post(&acme, &other, None).await,
        Err(StoreError::Conflict { .. })
    ));

    let mut edited = created.clone();
    edited.text = "Hello, world".into();
    let edited = store.put_post(&acme, &edited, Some(1)).await.unwrap();
    assert_eq!(edited.version, 2);
    assert!(matches!(
        store.put_post(&acme, &created, Some(1)).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.get_post(&acme, &draft.id).await.unwrap(),
        Some(edited.clone())
    );

    assert!(matches!(
        store.delete_post(&acme, &draft.id, 1).await,
        Err(StoreError::Conflict { .. })
    ));
    store.delete_post(&acme, &draft.id, 2).await.unwrap();
    assert_eq!(store.get_post(&acme, &draft.id).await.unwrap(), None);
    let (left, more) = store
        .posts_between(&acme, Timestamp::MIN, Timestamp::MAX, 10)
        .await
        .unwrap();
    assert!(
        left.is_empty() && !more,
        "the deleted post left an index entry"
    );
}

async fn posts_are_listed_newest_first_across_pages(items: Arc<dyn ItemStore>) {
    // Given seven posts, some with a publish time, and a brand profile in the same partition
    let store = Store::new(items, keyring());
    let acme = brand_id("acme");
    store.put_brand(&brand("acme", "Acme"), None).await.unwrap();
    let posts = (1..=7)
        .map(|i| {
            let at = format!("2027-02-0{i}T09:00:00Z");
            plain_post(&format!("post {i}"), (i % 2 == 0).then_some(at.as_str()))
        })
        .collect();
    let posts = create_posts(&store, &acme, posts).await;

    for limit in [1, 2, 3, 7, 50] {
        // When every page is read by following the cursor
        let listed = list_all(&store, &acme, &PostFilter::default(), limit).await;

        // Then each post comes exactly once, newest first
        assert_eq!(ids(&listed), newest_first(&posts), "limit {limit}");
    }
    let first = store
        .list_posts(&acme, &PostFilter::default(), None, 7)
        .await
        .unwrap();
    assert_eq!(first.posts.len(), 7);
    assert!(first.posts.iter().all(|p| p.version == 1));
}

async fn post_listings_filter_by_status_label_channel_and_time(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let acme = brand_id("acme");
    let news = channel("News").id.to_string();
    let offers = channel("Offers").id.to_string();
    let ctx = Context {
        actor: "bob",
        now: now(),
        approval_required: false,
    };

    // Given posts with different labels, channels, times and statuses
    let mut in_review = post(PostSpec {
        text: "launch teaser",
        channels: vec![news.clone()],
        labels: &["launch"],
        publish_at: Some("2027-03-02T09:00:00Z"),
    });
    in_review.submit(&ctx).unwrap();
    let launch = post(PostSpec {
        text: "launch day",
        channels: vec![news.clone(), offers.clone()],
        labels: &["launch", "promo"],
        publish_at: Some("2027-03-10T09:00:00Z"),
    });
    let promo = post(PostSpec {
        text: "promo",
        channels: vec![offers.clone()],
        labels: &["promo"],
        publish_at: Some("2027-03-01T00:00:00Z"),
    });
    let unplanned = post(PostSpec {
        text: "someday",
        channels: vec![news.clone()],
        labels: &["launch"],
        publish_at: None,
    });
    let late = plain_post("april", Some("2027-04-01T00:00:00Z"));
    let all = create_posts(
        &store,
        &acme,
        vec![in_review, launch, promo, unplanned, late],
    )
    .await;
    let [in_review, launch, promo, unplanned, late] = &all[..] else {
        unreachable!()
    };

    let listed = async |filter: PostFilter| ids(&list_all(&store, &acme, &filter, 2).await);
    let by =
        |posts: &[&Post]| newest_first(&posts.iter().map(|p| (*p).clone()).collect::<Vec<_>>());
    let in_time_order =
        |posts: &[&Post]| posts.iter().map(|p| p.id.to_string()).collect::<Vec<_>>();

    // Then each filter keeps only its posts
    let status = PostFilter {
        status: Some(PostStatus::InReview),
        ..PostFilter::default()
    };
    assert_eq!(listed(status).await, by(&[in_review]));
    let label = PostFilter {
        label: Some("launch".into()),
        ..PostFilter::default()
    };
    assert_eq!(listed(label).await, by(&[in_review, launch, unplanned]));
    let on_offers = PostFilter {
        channel: Some(offers.parse().unwrap()),
        ..PostFilter::default()
    };
    assert_eq!(listed(on_offers).await, by(&[launch, promo]));

    // ... and a time range lists posts with a publish time in [from, to), in time order
    let march = PostFilter {
        from: Some("2027-03-01T00:00:00Z".parse().unwrap()),
        to: Some("2027-04-01T00:00:00Z".parse().unwrap()),
        ..PostFilter::default()
    };
    assert_eq!(
        listed(march.clone()).await,
        in_time_order(&[promo, in_review, launch])
    );
    let from_march_10 = PostFilter {
        from: Some("2027-03-10T09:00:00Z".parse().unwrap()),
        ..PostFilter::default()
    };
    assert_eq!(listed(from_march_10).await, in_time_order(&[launch, late]));
    let march_launches = PostFilter {
        label: Some("launch".into()),
        ..march
    };
    assert_eq!(
        listed(march_launches).await,
        in_time_order(&[in_review, launch])
    );
    assert_eq!(
        listed(PostFilter::default()).await.len(),
        5,
        "no filter lists every post"
    );
}

async fn posts_between_reads_the_time_index(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let acme = brand_id("acme");
    let posts = create_posts(
        &store,
        &acme,
        vec![
            plain_post("c", Some("2027-05-03T00:00:00Z")),
            plain_post("a", Some("2027-05-01T00:00:00Z")),
            plain_post("none", None),
            plain_post("b", Some("2027-05-02T23:59:59Z")),
            plain_post("end", Some("2027-05-04T00:00:00Z")),
        ],
    )
    .await;
    let from: Timestamp = "2027-05-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2027-05-04T00:00:00Z".parse().unwrap();

    let (within, more) = store.posts_between(&acme, from, to, 10).await.unwrap();
    assert_eq!(
        ids(&within),
        ids(&[posts[1].clone(), posts[3].clone(), posts[0].clone()])
    );
    assert!(!more);

    let (first_two, more) = store.posts_between(&acme, from, to, 2).await.unwrap();
    assert_eq!(ids(&first_two), ids(&within[..2]));
    assert!(more);

    let (other, _) = store
        .posts_between(&brand_id("other"), from, to, 10)
        .await
        .unwrap();
    assert!(other.is_empty());
}

async fn a_cursor_never_reaches_another_brands_posts(items: Arc<dyn ItemStore>) {
    // Given two brands with posts in the same time range
    let store = Store::new(items, keyring());
    let (a, b) = (brand_id("brand-a"), brand_id("brand-b"));
    let times = [
        "2027-06-01T00:00:00Z",
        "2027-06-02T00:00:00Z",
        "2027-06-03T00:00:00Z",
    ];
    let a_posts = create_posts(
        &store,
        &a,
        times.iter().map(|t| plain_post("a", Some(t))).collect(),
    )
    .await;
    let b_posts = create_posts(
        &store,
        &b,
        times.iter().map(|t| plain_post("b", Some(t))).collect(),
    )
    .await;
    let b_ids = ids(&b_posts);
    let in_june = PostFilter {
        from: Some("2027-06-01T00:00:00Z".parse().unwrap()),
        to: Some("2027-07-01T00:00:00Z".parse().unwrap()),
        ..PostFilter::default()
    };

    for filter in [PostFilter::default(), in_june] {
        // When brand B lists with a cursor taken from brand A's listing
        let a_page = store.list_posts(&a, &filter, None, 1).await.unwrap();
        let cursor = a_page.next.expect("brand A has more posts");
        let b_page = store
            .list_posts(&b, &filter, Some(cursor.as_str()), 10)
            .await
            .unwrap();

        // Then only B's posts come back
        assert!(
            ids(&b_page.posts).iter().all(|id| b_ids.contains(id)),
            "brand B saw another brand's posts"
        );
        assert!(
            ids(&b_page.posts)
                .iter()
                .all(|id| !ids(&a_posts).contains(id))
        );
    }

    // And a cursor that is not one is refused
    let refused = store
        .list_posts(&b, &PostFilter::default(), Some("not-a-cursor"), 10)
        .await;
    assert!(matches!(refused, Err(ListError::BadCursor(_))));
}

// ---- rate limits ----

fn rate_limits(burst: u32, per_minute: u32) -> RateLimits {
    RateLimits {
        write_burst: burst,
        writes_per_minute: per_minute,
        outstanding_uploads: 3,
        upload_bytes_per_day: 1_000,
    }
}

async fn rate_limit_items_change_only_from_the_version_read(items: Arc<dyn ItemStore>) {
    let store = Store::new(items.clone(), keyring());
    let acme = brand_id("acme");
    let limits = rate_limits(10, 60);
    let at = now();
    let full = WriteBucket::full(&limits, at);
    let one_taken = full.take(&limits, at).unwrap();

    // Created only where there is none, at version 1, with the TTL of a full bucket
    assert_eq!(store.write_bucket(&acme).await.unwrap(), None);
    store
        .put_write_bucket(&acme, &one_taken, &limits, None)
        .await
        .unwrap();
    assert_eq!(
        store.write_bucket(&acme).await.unwrap(),
        Some((one_taken.clone(), 1))
    );
    let raw = items
        .get(&keys::brand_pk(&acme), keys::WRITE_BUCKET_SK)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.expires_at, Some(one_taken.forgettable_at(&limits)));
    assert_eq!(raw.expires_at, Some(at.as_second() + 2));

    // Two requests that read version 1 at the same instant compute the same bucket; only the
    // first write lands (the second is a lost race, not a replay of the first)
    let two_taken = one_taken.take(&limits, at).unwrap();
    assert!(matches!(
        store
            .put_write_bucket(&acme, &one_taken, &limits, None)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    store
        .put_write_bucket(&acme, &two_taken, &limits, Some(1))
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_write_bucket(&acme, &two_taken, &limits, Some(1))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.write_bucket(&acme).await.unwrap(),
        Some((two_taken, 2))
    );

    // The upload allowance: the same rules, its TTL after its day and its last slot
    let until = at.checked_add(jiff::SignedDuration::from_mins(15)).unwrap();
    let allowance = UploadAllowance::unused(at)
        .take(&limits, at, AssetId::new(), 100, until)
        .unwrap();
    store
        .put_upload_allowance(&acme, &allowance, None)
        .await
        .unwrap();
    assert!(matches!(
        store.put_upload_allowance(&acme, &allowance, None).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.upload_allowance(&acme).await.unwrap(),
        Some((allowance.clone(), 1))
    );
    let raw = items
        .get(&keys::brand_pk(&acme), keys::UPLOAD_ALLOWANCE_SK)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.expires_at, Some(allowance.forgettable_at()));

    // And another brand has items of its own
    assert_eq!(store.write_bucket(&brand_id("rival")).await.unwrap(), None);
    assert_eq!(
        store.upload_allowance(&brand_id("rival")).await.unwrap(),
        None
    );
}

async fn racing_writers_never_share_the_last_token(items: Arc<dyn ItemStore>) {
    // Given a bucket of 4 and a clock that does not move (no refill during the race)
    let store = Store::new(items, keyring());
    let clock = Arc::new(ManualClock::new(now()));
    let limiter = RateLimiter::new(store.clone(), clock.clone(), rate_limits(4, 60));
    let (acme, rival) = (brand_id("acme"), brand_id("rival"));

    // When 7 writes of acme race (each reads, then writes on the version it read)
    let mut race = tokio::task::JoinSet::new();
    for _ in 0..7 {
        let (limiter, acme) = (limiter.clone(), acme.clone());
        race.spawn(async move { limiter.take_write(&acme).await });
    }
    let outcomes = race.join_all().await;

    // Then exactly 4 take a token and the others are told to wait
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 4);
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        let ServiceError::RateLimited(refusal) = refused else {
            panic!("{refused:?}");
        };
        assert_eq!(refusal.retry_after_secs, 1);
    }
    let (bucket, _) = store.write_bucket(&acme).await.unwrap().unwrap();
    assert_eq!(bucket.milli_tokens, 0);
    // And the other brand still has its whole bucket
    for _ in 0..4 {
        limiter.take_write(&rival).await.unwrap();
    }
    // And a second later acme has one token again
    clock.advance(jiff::SignedDuration::from_secs(1));
    limiter.take_write(&acme).await.unwrap();
    assert!(limiter.take_write(&acme).await.is_err());
}

async fn upload_slots_are_taken_and_freed_without_losing_a_race(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let clock = Arc::new(ManualClock::new(now()));
    let limiter = RateLimiter::new(store.clone(), clock.clone(), rate_limits(10, 60));
    let acme = brand_id("acme");
    let until = now()
        .checked_add(jiff::SignedDuration::from_mins(15))
        .unwrap();

    // When 5 upload URLs race for 3 slots
    let ids: Vec<AssetId> = (0..5).map(|_| AssetId::new()).collect();
    let mut race = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let (limiter, acme) = (limiter.clone(), acme.clone());
        race.spawn(async move { (id, limiter.take_upload(&acme, id, 10, until).await) });
    }
    let outcomes = race.join_all().await;
    let holders: Vec<AssetId> = outcomes
        .iter()
        .filter(|(_, o)| o.is_ok())
        .map(|(id, _)| *id)
        .collect();

    // Then 3 hold a slot, and the allowance counts exactly their bytes
    assert_eq!(holders.len(), 3);
    let (allowance, _) = store.upload_allowance(&acme).await.unwrap().unwrap();
    assert_eq!(allowance.bytes, 30);
    let mut held: Vec<AssetId> = allowance.slots.iter().map(|s| s.asset_id).collect();
    let mut expected = holders.clone();
    held.sort();
    expected.sort();
    assert_eq!(held, expected);

    // And freeing slots while others are taken loses neither
    let newcomer = AssetId::new();
    let (freed, taken) = tokio::join!(
        limiter.release_upload(&acme, &holders[0]),
        limiter.take_upload(&acme, newcomer, 10, until),
    );
    freed.unwrap();
    // (taken only if the release landed first)
    let (allowance, _) = store.upload_allowance(&acme).await.unwrap().unwrap();
    let held: Vec<AssetId> = allowance.slots.iter().map(|s| s.asset_id).collect();
    assert!(!held.contains(&holders[0]));
    assert_eq!(held.contains(&newcomer), taken.is_ok());
    assert_eq!(allowance.bytes, if taken.is_ok() { 40 } else { 30 });
}

// ---- the renewal lease and renewed credentials ----

async fn a_renewal_lease_has_one_holder_until_it_runs_out(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let (acme, ch) = (brand_id("acme"), palinsesto::domain::ChannelId::new());
    let t0 = now();
    let at = |secs: i64| {
        t0.checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap()
    };
    assert!(
        store
            .take_renewal_lease(&acme, &ch, "a", t0, at(30))
            .await
            .unwrap()
    );
    // Another worker waits while it runs; its holder may extend it.
    assert!(
        !store
            .take_renewal_lease(&acme, &ch, "b", at(1), at(31))
            .await
            .unwrap()
    );
    assert!(
        store
            .take_renewal_lease(&acme, &ch, "a", at(2), at(32))
            .await
            .unwrap()
    );
    // Other channels and brands have their own.
    let other = palinsesto::domain::ChannelId::new();
    assert!(
        store
            .take_renewal_lease(&acme, &other, "b", at(3), at(33))
            .await
            .unwrap()
    );
    assert!(
        store
            .take_renewal_lease(&brand_id("other"), &ch, "b", at(3), at(33))
            .await
            .unwrap()
    );
    // A lease whose holder died runs out and is taken over.
    assert!(
        store
            .take_renewal_lease(&acme, &ch, "b", at(33), at(63))
            .await
            .unwrap()
    );
    // Only the holder releases it.
    store.release_renewal_lease(&acme, &ch, "a").await.unwrap();
    assert!(
        !store
            .take_renewal_lease(&acme, &ch, "c", at(34), at(64))
            .await
            .unwrap()
    );
    store.release_renewal_lease(&acme, &ch, "b").await.unwrap();
    assert!(
        store
            .take_renewal_lease(&acme, &ch, "c", at(35), at(65))
            .await
            .unwrap()
    );
    // Two workers racing for a free lease: exactly one gets it.
    let free = palinsesto::domain::ChannelId::new();
    let (x, y) = tokio::join!(
        store.take_renewal_lease(&acme, &free, "x", t0, at(30)),
        store.take_renewal_lease(&acme, &free, "y", t0, at(30)),
    );
    assert!(x.unwrap() ^ y.unwrap());
}

async fn renewed_credentials_are_saved_only_on_the_version_read(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let acme = brand_id("acme");
    let saved = store
        .put_channel(&acme, &channel("News"), None)
        .await
        .unwrap();
    connect(&store, &acme, &saved).await;
    let (read_credentials, read) = store
        .credentials_with_version(&acme, &saved.id)
        .await
        .unwrap()
        .unwrap();
    let renewed = [("bot_token".to_owned(), "123:renewed".to_owned())];
    store
        .save_renewed_credentials(&acme, &saved.id, &read_credentials, read, &renewed)
        .await
        .unwrap();
    let (now_stored, version) = store
        .credentials_with_version(&acme, &saved.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now_stored.get("bot_token").unwrap().expose(), "123:renewed");
    assert_eq!(version, read + 1);
    // A second renewal from the same read (its refresh token already spent, so it got other
    // values) loses. (Identical values would be a replay of the first write, which the item
    // store answers as the success it was.)
    let other = [("bot_token".to_owned(), "123:renewed-elsewhere".to_owned())];
    assert!(matches!(
        store
            .save_renewed_credentials(&acme, &saved.id, &read_credentials, read, &other)
            .await,
        Err(StoreError::Conflict { .. })
    ));
}

async fn credentials_stored_before_sealing_are_read_and_sealed_on_their_next_write(
    items: Arc<dyn ItemStore>,
) {
    // Given credentials written by a version that stored them as a plain map
    let store = Store::new(items.clone(), keyring());
    let acme = brand_id("acme");
    let saved = store
        .put_channel(&acme, &channel("News"), None)
        .await
        .unwrap();
    let (pk, sk) = (keys::credentials_pk(&acme), keys::channel_sk(&saved.id));
    items
        .write(vec![Write::Put {
            item: Item {
                pk: pk.clone(),
                sk: sk.clone(),
                version: 7,
                indexes: vec![],
                expires_at: None,
                body: json!({ "bot_token": "123:plain" }),
            },
            condition: Condition::Absent,
        }])
        .await
        .unwrap();

    // when the publisher reads them, they are what was stored, at their version
    let (read, version) = store
        .credentials_with_version(&acme, &saved.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.get("bot_token").unwrap().expose(), "123:plain");
    assert_eq!(version, 7);

    // and their next write (a renewal) seals them
    let renewed = [("bot_token".to_owned(), "123:renewed".to_owned())];
    store
        .save_renewed_credentials(&acme, &saved.id, &read, version, &renewed)
        .await
        .unwrap();
    let raw = items.get(&pk, &sk).await.unwrap().unwrap().body.to_string();
    assert!(!raw.contains("123:"), "{raw}");
    assert!(raw.contains("ciphertext"), "{raw}");
    let (now_stored, _) = store
        .credentials_with_version(&acme, &saved.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now_stored.get("bot_token").unwrap().expose(), "123:renewed");

    // A store opened with another master key (a lost key file) cannot read them: an error that
    // says so, never garbage or an empty set.
    let elsewhere = Store::new(items, keyring());
    let e = elsewhere
        .credentials_with_version(&acme, &saved.id)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    assert!(e.to_string().contains("do not open"), "{e}");
}

/// A keyring that really encrypts, for the credentials the contract stores.
fn keyring() -> std::sync::Arc<dyn palinsesto::sealing::Keyring> {
    std::sync::Arc::new(palinsesto::adapters::local_keyring::LocalKeyring::ephemeral())
}

// ---- the sandbox network and erasure ----

fn sandbox_post(remote_id: &str, text: &str) -> palinsesto::domain::sandbox::SandboxPost {
    palinsesto::domain::sandbox::SandboxPost {
        remote_id: remote_id.into(),
        text: text.into(),
        thread: vec![],
        media: vec![],
        published_at: now(),
        followers: 1_000,
        in_reply_to: None,
    }
}

async fn a_sandbox_post_is_kept_once(items: Arc<dyn ItemStore>) {
    let store = Store::new(items, keyring());
    let (acme, sandbox) = (brand_id("acme"), channel("Sandbox").id);

    // A first attempt keeps the post; a retry of the same target keeps nothing new
    assert!(
        store
            .put_sandbox_post(&acme, &sandbox, &sandbox_post("p1-c1", "first"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_sandbox_post(&acme, &sandbox, &sandbox_post("p1-c1", "retry"))
            .await
            .unwrap()
    );
    let kept = store
        .get_sandbox_post(&acme, &sandbox, "p1-c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.text, "first");
    // Nothing under another brand or another channel
    assert_eq!(
        store
            .get_sandbox_post(&brand_id("rival"), &sandbox, "p1-c1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get_sandbox_post(&acme, &channel("Other").id, "p1-c1")
            .await
            .unwrap(),
        None
    );
}

async fn erasing_a_brand_leaves_nothing_of_it_and_every_other_brand_whole(
    items: Arc<dyn ItemStore>,
) {
    let store = Store::new(items, keyring());
    // Given two brands, one whose id starts with the other's, each with a profile, a connected
    // channel, posts (some on the time index) and a sandbox post
    let mut seeded = Vec::new();
    for id in ["acme", "acme-two"] {
        let brand_id = brand_id(id);
        store.put_brand(&brand(id, "Acme"), None).await.unwrap();
        let created = store
            .put_channel(&brand_id, &channel("News"), None)
            .await
            .unwrap();
        connect(&store, &brand_id, &created).await;
        let posts = (0..120)
            .map(|i| {
                plain_post(
                    &format!("post {i}"),
                    (i % 2 == 0).then_some("2027-02-01T09:00:00Z"),
                )
            })
            .collect();
        create_posts(&store, &brand_id, posts).await;
        store
            .put_sandbox_post(&brand_id, &created.id, &sandbox_post("x-y", "kept"))
            .await
            .unwrap();
        seeded.push((brand_id, created.id));
    }
    let (acme, acme_channel) = seeded[0].clone();
    let (two, two_channel) = seeded[1].clone();

    // When acme is erased
    let erased = store.erase_brand(&acme).await.unwrap();

    // Then nothing of it is left, on the table or its indexes
    assert!(erased >= 123, "{erased}");
    assert_eq!(store.get_brand(&acme).await.unwrap(), None);
    assert!(store.list_channels(&acme).await.unwrap().is_empty());
    assert!(
        store
            .get_credentials(&acme, &acme_channel)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        list_all(&store, &acme, &PostFilter::default(), 50)
            .await
            .is_empty()
    );
    let (timed, _) = store
        .posts_between(
            &acme,
            "2027-01-01T00:00:00Z".parse().unwrap(),
            "2027-03-01T00:00:00Z".parse().unwrap(),
            500,
        )
        .await
        .unwrap();
    assert!(timed.is_empty(), "{} on the time index", timed.len());
    assert_eq!(
        store
            .get_sandbox_post(&acme, &acme_channel, "x-y")
            .await
            .unwrap(),
        None
    );
    // And the other brand is whole
    assert!(store.get_brand(&two).await.unwrap().is_some());
    assert_eq!(store.list_channels(&two).await.unwrap().len(), 1);
    assert!(
        store
            .get_credentials(&two, &two_channel)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        list_all(&store, &two, &PostFilter::default(), 50)
            .await
            .len(),
        120
    );
    assert!(
        store
            .get_sandbox_post(&two, &two_channel, "x-y")
            .await
            .unwrap()
            .is_some()
    );
    // And erasing again finds nothing more
    assert_eq!(store.erase_brand(&acme).await.unwrap(), 0);
}
