//! The people who talk to the brand: one record per person per brand, made the first time they
//! interact and kept up to date with each interaction (handles per network, first and last
//! seen, counts), which managers enrich (tags such as vip, journalist, ambassador, detractor;
//! notes) and link (the same person's handles on other networks). A person's data can be erased
//! for good: what is left is a suppression key, an HMAC of network and author id, so the person's
//! later content is dropped.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::channel::Network;
use super::error::{DomainError, Validation};
use super::ids::{ChannelId, PersonId};
use super::inbox::{Author, Interaction, InteractionKind};

/// One of a person's accounts. `author_id` is the network's id of the account, unknown for a
/// handle a manager linked before the person wrote from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonHandle {
    pub network: Network,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    pub handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
}

impl PersonHandle {
    /// The handle compared without case or a leading `@`.
    pub fn folded(handle: &str) -> String {
        handle.trim().trim_start_matches('@').to_lowercase()
    }
}

/// A person, as the brand knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    /// The name they last wrote under.
    pub name: String,
    pub handles: Vec<PersonHandle>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Interactions per kind (`reply`, `comment`, `mention`, `quote`, `direct_message`).
    pub counts: BTreeMap<String, u64>,
    /// When they last wrote a direct message, per channel: the messaging windows start there.
    #[serde(default)]
    pub last_direct: BTreeMap<ChannelId, Timestamp>,
    pub tags: Vec<String>,
    pub notes: String,
    /// Records of the same person a manager linked into this one: their interactions still
    /// name them, so erasure and export read them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<PersonId>,
    #[serde(default)]
    pub version: u64,
}

/// Longest notes on a person.
pub const MAX_NOTES: usize = 4000;
/// At most this many tags on a person.
pub const MAX_PERSON_TAGS: usize = 20;

impl Person {
    /// A person first seen writing `interaction`.
    pub fn first(interaction: &Interaction) -> Self {
        let mut person = Self {
            id: PersonId::new(),
            name: String::new(),
            handles: Vec::new(),
            first_seen: interaction.created_at,
            last_seen: interaction.created_at,
            counts: BTreeMap::new(),
            last_direct: BTreeMap::new(),
            tags: Vec::new(),
            notes: String::new(),
            merged: Vec::new(),
            version: 0,
        };
        person.saw(interaction);
        person
    }

    /// All their interactions.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Counts `interaction` and keeps its author's handle, name and followers current.
    pub fn saw(&mut self, interaction: &Interaction) {
        let a: &Author = &interaction.author;
        *self
            .counts
            .entry(interaction.kind.as_str().to_owned())
            .or_default() += 1;
        self.first_seen = self.first_seen.min(interaction.created_at);
        if interaction.created_at >= self.last_seen {
            self.last_seen = interaction.created_at;
            if !a.name.is_empty() {
                self.name = a.name.clone();
            }
        }
        if self.name.is_empty() {
            self.name = if a.name.is_empty() {
                a.handle.clone()
            } else {
                a.name.clone()
            };
        }
        if interaction.kind == InteractionKind::DirectMessage {
            let last = self
                .last_direct
                .entry(interaction.channel)
                .or_insert(interaction.created_at);
            *last = (*last).max(interaction.created_at);
        }
        let folded = PersonHandle::folded(&a.handle);
        let known = self.handles.iter_mut().find(|h| {
            h.network == interaction.network
                && (h.author_id.as_deref() == Some(a.id.as_str())
                    || (h.author_id.is_none() && PersonHandle::folded(&h.handle) == folded))
        });
        match known {
            Some(h) => {
                h.author_id = Some(a.id.clone());
                h.handle = a.handle.clone();
                if a.followers.is_some() {
                    h.followers = a.followers;
                }
            }
            None => self.handles.push(PersonHandle {
                network: interaction.network,
                author_id: Some(a.id.clone()),
                handle: a.handle.clone(),
                followers: a.followers,
            }),
        }
    }

    /// Adds a handle a manager linked; refused when the person has it already.
    pub fn link(&mut self, network: Network, handle: &str) -> Result<PersonHandle, DomainError> {
        let folded = PersonHandle::folded(handle);
        if folded.is_empty() || folded.chars().count() > 200 {
            return Err(DomainError::invalid(
                "handle",
                "must be 1 to 200 characters",
            ));
        }
        if self
            .handles
            .iter()
            .any(|h| h.network == network && PersonHandle::folded(&h.handle) == folded)
        {
            return Err(DomainError::InvalidState(format!(
                "{} is already one of this person's {} handles",
                handle.trim(),
                network.display_name()
            )));
        }
        let added = PersonHandle {
            network,
            author_id: None,
            handle: handle.trim().to_owned(),
            followers: None,
        };
        self.handles.push(added.clone());
        Ok(added)
    }

    /// Every id their interactions may carry: their own and the records linked into it.
    pub fn ids(&self) -> Vec<PersonId> {
        std::iter::once(self.id)
            .chain(self.merged.iter().copied())
            .collect()
    }

    /// Takes in `other`, the same person seen under another handle (a manager linked them):
    /// handles, counts, first and last seen, tags and notes.
    pub fn absorb(&mut self, other: Person) {
        self.merged.push(other.id);
        self.merged.extend(other.merged);
        for h in other.handles {
            if !self.handles.contains(&h) {
                self.handles.push(h);
            }
        }
        for (kind, n) in other.counts {
            *self.counts.entry(kind).or_default() += n;
        }
        for (channel, at) in other.last_direct {
            let last = self.last_direct.entry(channel).or_insert(at);
            *last = (*last).max(at);
        }
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        for tag in other.tags {
            if !self.tags.contains(&tag) && self.tags.len() < MAX_PERSON_TAGS {
                self.tags.push(tag);
            }
        }
        if !other.notes.is_empty() {
            let joined = if self.notes.is_empty() {
                other.notes
            } else {
                format!("{}\n\n{}", self.notes, other.notes)
            };
            self.notes = joined.chars().take(MAX_NOTES).collect();
        }
    }

    pub fn apply(&mut self, patch: PersonPatch) {
        if let Some(tags) = patch.tags {
            self.tags = tags;
        }
        if let Some(notes) = patch.notes {
            self.notes = notes;
        }
        if let Some(name) = patch.name {
            self.name = name;
        }
    }
}

/// A manager's changes to a person, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonPatch {
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
}

impl PersonPatch {
    pub fn parse(
        name: Option<String>,
        tags: Option<Vec<String>>,
        notes: Option<String>,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        let name = name.map(|n| n.trim().to_owned());
        if let Some(n) = &name
            && (n.is_empty() || n.chars().count() > 200)
        {
            v.add("name", "must be 1 to 200 characters");
        }
        let tags = tags.map(|tags| clean_tags(&tags, &mut v));
        if let Some(n) = &notes
            && n.chars().count() > MAX_NOTES
        {
            v.add("notes", format!("must be at most {MAX_NOTES} characters"));
        }
        v.finish()?;
        Ok(Self { name, tags, notes })
    }
}

/// Tags as people and interactions keep them: trimmed, lower case, 1 to 40 characters, once
/// each, at most [`MAX_PERSON_TAGS`].
pub fn clean_tags(tags: &[String], v: &mut Validation) -> Vec<String> {
    let mut clean: Vec<String> = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > 40 {
            v.add(format!("tags.{i}"), "must be 1 to 40 characters");
        } else if !clean.contains(&tag) {
            clean.push(tag);
        }
    }
    if clean.len() > MAX_PERSON_TAGS {
        v.add("tags", format!("at most {MAX_PERSON_TAGS} tags"));
    }
    clean
}

/// The key that remembers an erased account without naming it: HMAC-SHA256 of network and
/// author id (or, for a handle linked but never seen, of network and folded handle), keyed by
/// the brand's suppression key. Hex.
pub fn suppression_key(key: &[u8], network: Network, who: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(network.as_str().as_bytes());
    mac.update(b"\x1f");
    mac.update(who.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What identifies an account for suppression: its author id when known, else `@` and its
/// folded handle.
pub fn suppression_names(handle: &PersonHandle) -> Vec<String> {
    let mut names = vec![format!("@{}", PersonHandle::folded(&handle.handle))];
    if let Some(id) = &handle.author_id {
        names.push(id.clone());
    }
    names
}

/// The suppression keys an author of `network` is checked against: by author id and by handle.
pub fn suppression_keys(key: &[u8], network: Network, author: &Author) -> Vec<String> {
    vec![
        suppression_key(key, network, &author.id),
        suppression_key(
            key,
            network,
            &format!("@{}", PersonHandle::folded(&author.handle)),
        ),
    ]
}

/// The most engaged people of a period, for the report's "key members": by interactions in the
/// period, then by name.
pub fn key_members(
    counts: &BTreeMap<PersonId, (String, u64)>,
    top: usize,
) -> Vec<(PersonId, String, u64)> {
    let mut all: Vec<(PersonId, String, u64)> = counts
        .iter()
        .map(|(id, (name, n))| (*id, name.clone(), *n))
        .collect();
    all.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    all.truncate(top);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inbox::{Incoming, ReplyTarget};

    fn from(
        network: Network,
        id: &str,
        handle: &str,
        kind: InteractionKind,
        at: &str,
    ) -> Interaction {
        Interaction::received(
            Incoming {
                external_id: format!("{id}-{at}"),
                kind,
                permalink: None,
                parent: None,
                root: None,
                author: Author {
                    id: id.into(),
                    handle: handle.into(),
                    name: format!("Name of {handle}"),
                    followers: Some(10),
                },
                text: "hi".into(),
                raw: serde_json::Value::Null,
                target: ReplyTarget {
                    id: "1".into(),
                    cid: None,
                    root_id: None,
                    root_cid: None,
                    visibility: None,
                    chat: None,
                },
                created_at: at.parse().unwrap(),
            },
            ChannelId::new(),
            network,
            None,
            at.parse().unwrap(),
        )
    }

    #[test]
    fn a_person_counts_interactions_and_keeps_handles_and_the_last_direct_message() {
        let first = from(
            Network::Mastodon,
            "1",
            "ada@social.example",
            InteractionKind::Reply,
            "2027-03-02T10:00:00Z",
        );
        let mut p = Person::first(&first);
        let dm = from(
            Network::Mastodon,
            "1",
            "ada@social.example",
            InteractionKind::DirectMessage,
            "2027-03-03T10:00:00Z",
        );
        p.saw(&dm);
        let older = from(
            Network::Mastodon,
            "1",
            "ada@social.example",
            InteractionKind::Reply,
            "2027-03-01T10:00:00Z",
        );
        p.saw(&older);
        assert_eq!(p.total(), 3);
        assert_eq!(p.counts["reply"], 2);
        assert_eq!(
            p.first_seen,
            "2027-03-01T10:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            p.last_seen,
            "2027-03-03T10:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(p.handles.len(), 1);
        assert_eq!(p.last_direct[&dm.channel], dm.created_at);
    }

    #[test]
    fn a_linked_handle_gets_its_author_id_when_the_person_writes_from_it() {
        let mut p = Person::first(&from(
            Network::Mastodon,
            "1",
            "ada",
            InteractionKind::Reply,
            "2027-03-02T10:00:00Z",
        ));
        p.link(Network::Bluesky, "@Ada.bsky.social").unwrap();
        assert!(p.link(Network::Bluesky, "ada.bsky.social").is_err());
        p.saw(&from(
            Network::Bluesky,
            "did:plc:ada",
            "ada.bsky.social",
            InteractionKind::Mention,
            "2027-03-04T10:00:00Z",
        ));
        assert_eq!(p.handles.len(), 2);
        assert_eq!(p.handles[1].author_id.as_deref(), Some("did:plc:ada"));
    }

    #[test]
    fn suppression_keys_depend_on_the_key_network_and_account() {
        let a = suppression_key(b"k1", Network::X, "42");
        assert_eq!(a.len(), 64);
        assert_eq!(a, suppression_key(b"k1", Network::X, "42"));
        assert_ne!(a, suppression_key(b"k2", Network::X, "42"));
        assert_ne!(a, suppression_key(b"k1", Network::Threads, "42"));
        assert_ne!(a, suppression_key(b"k1", Network::X, "43"));
    }

    #[test]
    fn key_members_are_the_most_engaged_first() {
        let (a, b, c) = (PersonId::new(), PersonId::new(), PersonId::new());
        let counts = BTreeMap::from([
            (a, ("Ada".to_owned(), 3)),
            (b, ("Bob".to_owned(), 9)),
            (c, ("Cy".to_owned(), 3)),
        ]);
        let top = key_members(&counts, 2);
        assert_eq!(
            top.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["Bob", "Ada"]
        );
    }
}
