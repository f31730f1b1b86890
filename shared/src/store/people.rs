//! The people who talk to the brand (`domain::people`):
//!
//! | item              | pk          | sk                                  | notes |
//! |-------------------|-------------|-------------------------------------|-------|
//! | person            | `B#{brand}` | `PE#{id}`                           | |
//! | link by author id | `B#{brand}` | `PHA#{network}#{sha256(author id)}` | `{person}`: finds the person writing |
//! | link by handle    | `B#{brand}` | `PHN#{network}#{sha256(handle)}`    | `{person}`: a handle a manager linked before it wrote |
//! | suppression key   | `B#{brand}` | `SUPK`                              | the brand's random HMAC key, made at its first erasure |
//! | suppression       | `B#{brand}` | `SUP#{hmac(network, account)}`      | an erased account: its content is dropped |
//!
//! A person's interactions are found through the inbox listing `pe#{person}` (see
//! `store::inbox`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::inbox::{Listing, PageRequest};
use super::repository::{ListError, MAX_EXAMINED_PER_LISTING, decode, encode};
use super::{Condition, Cursor, KeyRange, Query, Store, StoreError, Write, keys};
use crate::domain::connection::secret_hash;
use crate::domain::inbox::Interaction;
use crate::domain::people::{Person, PersonHandle};
use crate::domain::{BrandId, Network, PersonId};

fn person_sk(id: &PersonId) -> String {
    format!("PE#{id}")
}

fn by_author_sk(network: Network, author_id: &str) -> String {
    format!("PHA#{}#{}", network.as_str(), secret_hash(author_id))
}

fn by_handle_sk(network: Network, handle: &str) -> String {
    format!(
        "PHN#{}#{}",
        network.as_str(),
        secret_hash(&PersonHandle::folded(handle))
    )
}

const SUPPRESSION_KEY_SK: &str = "SUPK";

fn suppression_sk(key: &str) -> String {
    format!("SUP#{key}")
}

#[derive(Serialize, Deserialize)]
struct Link {
    person: PersonId,
}

#[derive(Serialize, Deserialize)]
struct SuppressionKey {
    key: String,
}

#[derive(Serialize, Deserialize)]
struct Suppression {
    at: jiff::Timestamp,
}

fn decode_person(item: super::Item) -> Result<Person, StoreError> {
    decode(item, |p: &mut Person, v| p.version = v)
}

/// A page of the brand's people.
#[derive(Debug, Clone)]
pub struct PeoplePage {
    pub items: Vec<Person>,
    pub next: Option<Cursor>,
}

impl Store {
    pub async fn get_person(
        &self,
        brand: &BrandId,
        id: &PersonId,
    ) -> Result<Option<Person>, StoreError> {
        self.items()
            .get(&keys::brand_pk(brand), &person_sk(id))
            .await?
            .map(decode_person)
            .transpose()
    }

    async fn linked(&self, brand: &BrandId, sk: &str) -> Result<Option<Person>, StoreError> {
        let Some(item) = self.items().get(&keys::brand_pk(brand), sk).await? else {
            return Ok(None);
        };
        let link: Link = serde_json::from_value(item.body)
            .map_err(|e| StoreError::Corrupt(format!("a person link: {e}")))?;
        self.get_person(brand, &link.person).await
    }

    /// The person who writes as `author_id` on `network`, or, failing that, the person a
    /// manager linked `handle` to.
    pub async fn find_person(
        &self,
        brand: &BrandId,
        network: Network,
        author_id: &str,
        handle: &str,
    ) -> Result<Option<Person>, StoreError> {
        if let Some(p) = self
            .linked(brand, &by_author_sk(network, author_id))
            .await?
        {
            return Ok(Some(p));
        }
        // A handle alone identifies only one a manager linked before it wrote: two accounts of
        // two servers may share a handle without being one person.
        let folded = PersonHandle::folded(handle);
        Ok(self
            .linked(brand, &by_handle_sk(network, handle))
            .await?
            .filter(|p| {
                p.handles.iter().any(|h| {
                    h.network == network
                        && h.author_id.is_none()
                        && PersonHandle::folded(&h.handle) == folded
                })
            }))
    }

    /// The person a manager or a message linked `handle` to on `network`.
    pub async fn person_with_handle(
        &self,
        brand: &BrandId,
        network: Network,
        handle: &str,
    ) -> Result<Option<Person>, StoreError> {
        self.linked(brand, &by_handle_sk(network, handle)).await
    }

    /// The writes that save `person` over the version `before` (`None`: a new record) with a
    /// link for each of its handles.
    pub fn person_writes(
        brand: &BrandId,
        before: Option<u64>,
        person: &Person,
    ) -> Result<Vec<Write>, StoreError> {
        let version = before.map_or(1, |v| v + 1);
        let mut writes = vec![Write::Put {
            item: encode(
                keys::brand_pk(brand),
                person_sk(&person.id),
                version,
                vec![],
                person,
            )?,
            condition: before.map_or(Condition::Absent, Condition::Version),
        }];
        let link = Link { person: person.id };
        // Two accounts may share a handle (on two servers): each link is written once.
        let mut sks = std::collections::BTreeSet::new();
        for h in &person.handles {
            sks.insert(by_handle_sk(h.network, &h.handle));
            if let Some(id) = &h.author_id {
                sks.insert(by_author_sk(h.network, id));
            }
        }
        for sk in sks {
            writes.push(Write::Put {
                item: encode(keys::brand_pk(brand), sk, 1, vec![], &link)?,
                condition: Condition::Any,
            });
        }
        Ok(writes)
    }

    /// Saves `person` over the version `before` with `also` in the same write.
    pub async fn save_person(
        &self,
        brand: &BrandId,
        before: Option<u64>,
        person: &Person,
        also: Vec<Write>,
    ) -> Result<Person, StoreError> {
        let mut writes = Self::person_writes(brand, before, person)?;
        writes.extend(also);
        self.items().write(writes).await?;
        let mut saved = person.clone();
        saved.version = before.map_or(1, |v| v + 1);
        Ok(saved)
    }

    /// The write that deletes a person record (one linked into another).
    pub fn person_delete(brand: &BrandId, person: &Person) -> Write {
        Write::Delete {
            pk: keys::brand_pk(brand),
            sk: person_sk(&person.id),
            condition: Condition::Version(person.version),
        }
    }

    /// A page of the brand's people, oldest record first, keeping those `keep` accepts.
    pub async fn list_people(
        &self,
        brand: &BrandId,
        cursor: Option<&str>,
        limit: usize,
        keep: impl Fn(&Person) -> bool,
    ) -> Result<PeoplePage, ListError> {
        let after = cursor
            .map(|c| Cursor::decode(c, ""))
            .transpose()
            .map_err(ListError::BadCursor)?;
        let query = Query {
            pk: keys::brand_pk(brand),
            index: None,
            range: KeyRange::Prefix("PE#".into()),
            after,
            limit: 0,
            descending: false,
        };
        let (items, next) = self
            .collect(query, limit, MAX_EXAMINED_PER_LISTING, decode_person, keep)
            .await?;
        Ok(PeoplePage {
            items,
            next: next.map(|a| Cursor::encode(&a)),
        })
    }

    /// Every interaction of `person` (and of the records linked into it), newest first, at most
    /// `max`.
    pub async fn person_interactions(
        &self,
        brand: &BrandId,
        person: &Person,
        max: usize,
    ) -> Result<Vec<Interaction>, StoreError> {
        let mut all = Vec::new();
        for id in person.ids() {
            let mut cursor: Option<Cursor> = None;
            loop {
                let page = self
                    .list_interactions(
                        brand,
                        &Listing::Person(id),
                        PageRequest {
                            range: (None, None),
                            oldest_first: false,
                            cursor: cursor.as_ref().map(Cursor::as_str),
                            limit: 100,
                        },
                        |_| true,
                    )
                    .await
                    .map_err(|e| match e {
                        ListError::Store(e) => e,
                        ListError::BadCursor(why) => StoreError::Corrupt(why),
                    })?;
                all.extend(page.items);
                match page.next {
                    Some(next) if all.len() < max => cursor = Some(next),
                    _ => break,
                }
            }
        }
        all.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        all.truncate(max);
        Ok(all)
    }

    /// The brand's suppression key; made (random, 32 bytes) when `create` and there is none.
    pub async fn suppression_key(
        &self,
        brand: &BrandId,
        create: bool,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let pk = keys::brand_pk(brand);
        for _ in 0..2 {
            if let Some(item) = self.items().get(&pk, SUPPRESSION_KEY_SK).await? {
                let key: SuppressionKey = serde_json::from_value(item.body)
                    .map_err(|e| StoreError::Corrupt(format!("the suppression key: {e}")))?;
                return STANDARD
                    .decode(key.key)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(format!("the suppression key: {e}")));
            }
            if !create {
                return Ok(None);
            }
            let bytes: [u8; 32] = rand::random();
            let item = encode(
                pk.clone(),
                SUPPRESSION_KEY_SK.into(),
                1,
                vec![],
                &SuppressionKey {
                    key: STANDARD.encode(bytes),
                },
            )?;
            match self
                .items()
                .write(vec![Write::Put {
                    item,
                    condition: Condition::Absent,
                }])
                .await
            {
                Ok(()) => return Ok(Some(bytes.to_vec())),
                // Made by another erasure at the same moment: read it.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict { index: 0 })
    }

    /// Whether any of `keys` (suppression keys) is suppressed.
    pub async fn suppressed(&self, brand: &BrandId, keys_: &[String]) -> Result<bool, StoreError> {
        for key in keys_ {
            if self
                .items()
                .get(&keys::brand_pk(brand), &suppression_sk(key))
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Erases `person` for good: each of their interactions (with what hangs off it), their
    /// record and links, leaving `suppress` (suppression keys) and `also` (the audit entry) in
    /// the last write. Safe to run again after a failure part way. Returns the interactions
    /// erased.
    pub async fn erase_person(
        &self,
        brand: &BrandId,
        person: &Person,
        suppress: &[String],
        now: jiff::Timestamp,
        also: Vec<Write>,
    ) -> Result<usize, StoreError> {
        let pk = keys::brand_pk(brand);
        // Suppressions first: content arriving while the erasure runs is dropped already.
        let mut writes = Vec::new();
        for key in suppress {
            writes.push(Write::Put {
                item: encode(
                    pk.clone(),
                    suppression_sk(key),
                    1,
                    vec![],
                    &Suppression { at: now },
                )?,
                condition: Condition::Any,
            });
        }
        for chunk in writes.chunks(100) {
            self.items().write(chunk.to_vec()).await?;
        }
        let mut erased = 0;
        let mut conflicts = 0;
        loop {
            let batch = self.person_interactions(brand, person, 100).await?;
            if batch.is_empty() {
                break;
            }
            for interaction in &batch {
                match self.erase_interaction(brand, interaction).await {
                    Ok(_) => erased += 1,
                    // Changed meanwhile: read again on the next round.
                    Err(StoreError::Conflict { index }) => {
                        conflicts += 1;
                        if conflicts > 100 {
                            return Err(StoreError::Conflict { index });
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let delete = |sk: String| Write::Delete {
            pk: pk.clone(),
            sk,
            condition: Condition::Any,
        };
        let mut last = vec![Write::Delete {
            pk: pk.clone(),
            sk: person_sk(&person.id),
            condition: Condition::Version(person.version),
        }];
        let mut links = std::collections::BTreeSet::new();
        for h in &person.handles {
            links.insert(by_handle_sk(h.network, &h.handle));
            if let Some(id) = &h.author_id {
                links.insert(by_author_sk(h.network, id));
            }
        }
        last.extend(links.into_iter().map(delete));
        last.extend(also);
        self.items().write(last).await?;
        Ok(erased)
    }
}
