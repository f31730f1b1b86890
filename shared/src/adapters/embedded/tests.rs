//! Unit tests for the embedded store: grouped commits, durability across reopen and refused calls.

use std::path::PathBuf;

use serde_json::json;

use super::*;

/// A store file in a folder of its own, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("palinsesto-embedded-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("store.redb")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Racing writers each write their own body: identical items would be replays, not races.
fn by_writer(mut item: Item, writer: usize) -> Item {
    item.body = serde_json::json!({ "writer": writer });
    item
}

fn item(sk: &str, version: u64, at: Option<&str>) -> Item {
    Item {
        pk: "B#acme".into(),
        sk: sk.into(),
        version,
        indexes: at
            .map(|at| {
                (
                    Index::PostsByTime,
                    IndexKey {
                        pk: "B#acme#P".into(),
                        sk: format!("{at}#{sk}"),
                    },
                )
            })
            .into_iter()
            .collect(),
        expires_at: Some(1_900_000_000),
        body: json!({ "sk": sk, "version_written": version }),
    }
}

fn put(item: Item, condition: Condition) -> Write {
    Write::Put { item, condition }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_commit_answers_many_calls_each_on_its_own() {
    // Given a store whose writer is held back until every call below is queued
    let scratch = Scratch::new();
    let store = EmbeddedStore::open(&scratch.file()).unwrap();
    let gate = store.shared.gate.lock().unwrap();
    let mut answers = Vec::new();
    let mut submit = |writes: Vec<Write>| {
        answers.push(store.submit(prepare(writes).unwrap()).unwrap());
    };
    // When 100 calls race to create 25 keys (four per key) ...
    for i in 0..100 {
        submit(vec![put(
            by_writer(item(&format!("K#{:02}", i % 25), 1, None), i),
            Condition::Absent,
        )]);
    }
    // ... 10 calls pair a fresh create with a stale update, which must sink the create too ...
    for i in 0..10 {
        submit(vec![
            put(item(&format!("F#{i}"), 1, None), Condition::Absent),
            put(item(&format!("K#{i:02}"), 8, None), Condition::Version(7)),
        ]);
    }
    // ... and two calls update K#00 from version 1, the second after the first within the batch.
    submit(vec![put(
        item("K#00", 2, Some("2027-01-01T00:00:00Z")),
        Condition::Version(1),
    )]);
    submit(vec![put(
        by_writer(item("K#00", 2, None), 111),
        Condition::Version(1),
    )]);
    drop(gate);
    let mut outcomes = Vec::new();
    for answer in answers {
        outcomes.push(answer.await.expect("every call is answered"));
    }

    // Then they shared one commit, and each call got its own answer in queue order
    assert_eq!(store.commits(), 1);
    for (i, outcome) in outcomes.iter().enumerate() {
        match i {
            0..25 | 110 => assert!(outcome.is_ok(), "call {i}: {outcome:?}"),
            25..100 | 111 => assert!(
                matches!(outcome, Err(StoreError::Conflict { index: 0 })),
                "call {i}: {outcome:?}"
            ),
            _ => assert!(
                matches!(outcome, Err(StoreError::Conflict { index: 1 })),
                "call {i}: {outcome:?}"
            ),
        }
    }
    for i in 0..10 {
        assert_eq!(store.get("B#acme", &format!("F#{i}")).await.unwrap(), None);
    }
    let k00 = store.get("B#acme", "K#00").await.unwrap().unwrap();
    assert_eq!(k00.version, 2);
    assert!(k00.index_key(Index::PostsByTime).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_are_grouped_and_all_answered() {
    // Given 400 tasks writing at once, two per key
    let scratch = Scratch::new();
    let store = Arc::new(EmbeddedStore::open(&scratch.file()).unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let write = put(
                by_writer(item(&format!("K#{:03}", i % 200), 1, None), i),
                Condition::Absent,
            );
            store.write(vec![write]).await
        });
    }
    // When they all finish
    let (mut created, mut conflicts) = (0, 0);
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::Conflict { index: 0 }) => conflicts += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    // Then exactly one create per key won, and calls shared commits
    assert_eq!((created, conflicts), (200, 200));
    assert!(store.commits() < 400, "{} commits", store.commits());
}

#[tokio::test]
async fn what_was_committed_survives_close_and_reopen() {
    // Given a store with items, an index entry and a delete, closed after a shutdown
    let scratch = Scratch::new();
    let store = EmbeddedStore::open(&scratch.file()).unwrap();
    let pending: Vec<_> = (0..5)
        .map(|i| {
            let at = format!("2027-01-0{}T00:00:00Z", i + 1);
            let write = put(item(&format!("P#{i}"), 1, Some(&at)), Condition::Absent);
            store.submit(prepare(vec![write]).unwrap()).unwrap()
        })
        .collect();
    store.shutdown();
    for answer in pending {
        answer.await.unwrap().unwrap();
    }
    let refused = store
        .write(vec![put(item("P#9", 1, None), Condition::Any)])
        .await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    drop(store);

    // When it is reopened and changed once more
    let store = EmbeddedStore::open(&scratch.file()).unwrap();
    store
        .write(vec![Write::Delete {
            pk: "B#acme".into(),
            sk: "P#0".into(),
            condition: Condition::Version(1),
        }])
        .await
        .unwrap();
    drop(store);
    let store = EmbeddedStore::open(&scratch.file()).unwrap();

    // Then every answered write is there, with its index entries, and nothing else
    let p1 = store.get("B#acme", "P#1").await.unwrap().unwrap();
    assert_eq!(p1, item("P#1", 1, Some("2027-01-02T00:00:00Z")));
    assert_eq!(store.get("B#acme", "P#0").await.unwrap(), None);
    assert_eq!(store.get("B#acme", "P#9").await.unwrap(), None);
    let page = store
        .query(&Query {
            pk: "B#acme".into(),
            index: Some((Index::PostsByTime, "B#acme#P".into())),
            range: KeyRange::Prefix("2027-".into()),
            after: None,
            limit: 10,
            descending: false,
        })
        .await
        .unwrap();
    let sks: Vec<_> = page.items.iter().map(|i| i.sk.as_str()).collect();
    assert_eq!(sks, ["P#1", "P#2", "P#3", "P#4"]);
}

#[tokio::test]
async fn calls_dynamodb_would_refuse_are_refused() {
    let scratch = Scratch::new();
    let store = EmbeddedStore::open(&scratch.file()).unwrap();
    let twice = vec![
        put(item("P#1", 1, None), Condition::Any),
        Write::Delete {
            pk: "B#acme".into(),
            sk: "P#1".into(),
            condition: Condition::Any,
        },
    ];
    let too_many = (0..=MAX_WRITES_PER_CALL)
        .map(|i| put(item(&format!("P#{i}"), 1, None), Condition::Any))
        .collect();
    let nul = vec![put(item("P#\0", 1, None), Condition::Any)];
    for writes in [twice, too_many, nul, vec![]] {
        let outcome = store.write(writes).await;
        assert!(
            matches!(outcome, Err(StoreError::Invalid(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(store.commits(), 0);
}
