// THROWAWAY: delete before handing in.
#[path = "../../tests/support/dynamodb.rs"]
mod support;

use palinsesto::store::*;
use serde_json::json;

fn item(pk: &str, sk: &str, v: u64, idx: Option<(&str, &str)>) -> Item {
    Item {
        pk: pk.into(),
        sk: sk.into(),
        version: v,
        indexes: idx
            .map(|(p, s)| {
                vec![(
                    Index::PostsByTime,
                    IndexKey {
                        pk: p.into(),
                        sk: s.into(),
                    },
                )]
            })
            .unwrap_or_default(),
        expires_at: Some(1_900_000_000),
        body: json!({"n": 1, "f": 2.5, "big": u64::MAX, "neg": -3, "s": "", "nested": {"a": [1, null, true]}}),
    }
}

fn put(i: Item, c: Condition) -> Write {
    Write::Put {
        item: i,
        condition: c,
    }
}

#[tokio::test]
async fn scratch() {
    let store = support::fresh_store().await;
    let a = item("B#1", "P#a", 1, Some(("B#1#P", "2027-01-01T00:00:00Z#a")));
    store
        .write(vec![put(a.clone(), Condition::Absent)])
        .await
        .unwrap();
    assert_eq!(store.get("B#1", "P#a").await.unwrap().unwrap(), a);
    assert!(store.get("B#1", "P#zz").await.unwrap().is_none());
    let e = store
        .write(vec![put(a.clone(), Condition::Absent)])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { index: 0 }), "{e:?}");
    let e = store
        .write(vec![put(
            item("B#1", "P#a", 3, None),
            Condition::Version(2),
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { index: 0 }), "{e:?}");
    store
        .write(vec![put(
            item("B#1", "P#a", 2, Some(("B#1#P", "2027-01-01T00:00:00Z#a"))),
            Condition::Version(1),
        )])
        .await
        .unwrap();
    let e = store
        .write(vec![Write::Delete {
            pk: "B#1".into(),
            sk: "P#nope".into(),
            condition: Condition::Version(1),
        }])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { index: 0 }), "{e:?}");
    // transaction
    let e = store
        .write(vec![
            put(item("B#1", "P#b", 1, None), Condition::Absent),
            put(item("B#1", "P#a", 9, None), Condition::Version(1)),
        ])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { index: 1 }), "{e:?}");
    assert!(store.get("B#1", "P#b").await.unwrap().is_none());
    for (i, c) in ["b", "c", "d", "e"].iter().enumerate() {
        store
            .write(vec![
                put(
                    item(
                        "B#1",
                        &format!("P#{c}"),
                        1,
                        Some(("B#1#P", &format!("2027-01-0{}T00:00:00Z#{c}", i + 2))),
                    ),
                    Condition::Absent,
                ),
                put(item("B#1", &format!("CH#{c}"), 1, None), Condition::Any),
            ])
            .await
            .unwrap();
    }
    let e = store
        .write(vec![
            put(item("B#1", "P#x", 1, None), Condition::Any),
            Write::Delete {
                pk: "B#1".into(),
                sk: "P#x".into(),
                condition: Condition::Any,
            },
        ])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    // paging table desc
    let mut q = Query {
        pk: "B#1".into(),
        index: None,
        range: KeyRange::Prefix("P#".into()),
        after: None,
        limit: 2,
        descending: true,
    };
    let mut seen = vec![];
    loop {
        let p = store.query(&q).await.unwrap();
        seen.extend(p.items.iter().map(|i| i.sk.clone()));
        println!(
            "{:?} next {:?}",
            p.items.iter().map(|i| &i.sk).collect::<Vec<_>>(),
            p.next
        );
        match p.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ["P#e", "P#d", "P#c", "P#b", "P#a"]);
    // index paging
    let mut q = Query {
        pk: "B#1".into(),
        index: Some((Index::PostsByTime, "B#1#P".into())),
        range: KeyRange::Between("2027-01-02".into(), "2027-01-05~".into()),
        after: None,
        limit: 2,
        descending: false,
    };
    let mut seen = vec![];
    loop {
        let p = store.query(&q).await.unwrap();
        seen.extend(p.items.iter().map(|i| i.sk.clone()));
        println!(
            "{:?} next {:?}",
            p.items.iter().map(|i| &i.sk).collect::<Vec<_>>(),
            p.next
        );
        match p.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ["P#b", "P#c", "P#d", "P#e"]);
    // cursor outside range
    q.after = Some(StartAfter {
        sk: "P#zz".into(),
        index_sk: Some("2028".into()),
    });
    assert!(store.query(&q).await.unwrap().items.is_empty());
    q.after = Some(StartAfter {
        sk: "P#zz".into(),
        index_sk: Some("2026".into()),
    });
    assert_eq!(store.query(&q).await.unwrap().items.len(), 2);
    q.descending = true;
    q.after = None;
    q.limit = 10;
    let p = store.query(&q).await.unwrap();
    assert_eq!(
        p.items.iter().map(|i| i.sk.as_str()).collect::<Vec<_>>(),
        ["P#e", "P#d", "P#c", "P#b"]
    );
    assert!(p.next.is_none());
    // empty prefix
    let q = Query {
        pk: "B#1".into(),
        index: None,
        range: KeyRange::Prefix("".into()),
        after: None,
        limit: 100,
        descending: false,
    };
    assert_eq!(store.query(&q).await.unwrap().items.len(), 9);
    // delete with version
    store
        .write(vec![Write::Delete {
            pk: "B#1".into(),
            sk: "P#a".into(),
            condition: Condition::Version(2),
        }])
        .await
        .unwrap();
    assert!(store.get("B#1", "P#a").await.unwrap().is_none());
    // 100 writes
    let many: Vec<_> = (0..100)
        .map(|i| {
            put(
                item("B#2", &format!("P#{i:03}"), 1, None),
                Condition::Absent,
            )
        })
        .collect();
    store.write(many).await.unwrap();
    let many: Vec<_> = (0..101)
        .map(|i| {
            put(
                item("B#2", &format!("P#{i:03}"), 1, None),
                Condition::Absent,
            )
        })
        .collect();
    assert!(matches!(
        store.write(many).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    let e = store
        .write(vec![put(item("", "x", 1, None), Condition::Any)])
        .await
        .unwrap_err();
    println!("{e}");
    let bad =
        palinsesto::adapters::dynamodb::DynamoStore::new(support::client().await, "no-such-table");
    let e = bad.get("a", "b").await.unwrap_err();
    println!("{e}");
}
