//! The people who talk to the brand, as its team uses them: the list (by tag), one person with
//! their recent interactions, managers' tags and notes, linking a person's handle on another
//! network, the export of everything the brand holds on a person, and erasure for good (a
//! suppression key keeps their later content out). Direct messages stay with editors and up.

use serde::Serialize;
use serde_json::json;

use super::{Ports, ServiceError, check_version};
use crate::domain::audit::{AuditEntry, action};
use crate::domain::inbox::{Interaction, OutgoingReply};
use crate::domain::people::{Person, PersonPatch, suppression_key, suppression_names};
use crate::domain::{Actor, DomainError, Network, Permission, PersonId};
use crate::store::audit::audit_write;
use crate::store::inbox::Note;
use crate::store::people::PeoplePage;
use crate::store::{ListError, Store, StoreError};

/// At most this many interactions shown with a person, and exported.
pub const PERSON_INTERACTIONS: usize = 50;
pub const MAX_EXPORT_INTERACTIONS: usize = 10_000;

/// One person and their latest interactions (those the caller may read).
#[derive(Debug, Clone)]
pub struct PersonDetail {
    pub person: Person,
    pub interactions: Vec<Interaction>,
}

/// Everything the brand holds on a person (`GET /v1/people/{id}/export`).
#[derive(Debug, Clone, Serialize)]
pub struct PersonExport {
    pub person: Person,
    pub interactions: Vec<ExportedInteraction>,
    pub exported_at: jiff::Timestamp,
}

/// One of the person's interactions with what the brand wrote about it and in answer to it.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedInteraction {
    #[serde(flatten)]
    pub interaction: Interaction,
    pub notes: Vec<Note>,
    pub replies: Vec<OutgoingReply>,
}

#[derive(Clone)]
pub struct PeopleService {
    ports: Ports,
}

impl PeopleService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    fn store(&self) -> &Store {
        &self.ports.store
    }

    async fn load(&self, actor: &Actor, id: &PersonId) -> Result<Person, ServiceError> {
        actor.require(Permission::Read)?;
        self.store()
            .get_person(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("person"))
    }

    /// `GET /v1/people`: the brand's people, oldest record first, with `tag` if given.
    pub async fn list(
        &self,
        actor: &Actor,
        tag: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<PeoplePage, ServiceError> {
        actor.require(Permission::Read)?;
        let tag = tag.map(|t| t.trim().to_lowercase());
        self.store()
            .list_people(&actor.brand, cursor, limit.clamp(1, 100), |p| {
                tag.as_ref().is_none_or(|t| p.tags.contains(t))
            })
            .await
            .map_err(|e| match e {
                ListError::BadCursor(why) => DomainError::invalid("cursor", why).into(),
                ListError::Store(e) => e.into(),
            })
    }

    /// `GET /v1/people/{id}`: the person and their latest interactions.
    pub async fn get(&self, actor: &Actor, id: &PersonId) -> Result<PersonDetail, ServiceError> {
        let person = self.load(actor, id).await?;
        let interactions = self
            .store()
            .person_interactions(&actor.brand, &person, PERSON_INTERACTIONS)
            .await?
            .into_iter()
            .filter(|i| !i.is_direct() || actor.can(Permission::ReadDirectMessages))
            .collect();
        Ok(PersonDetail {
            person,
            interactions,
        })
    }

    /// `PATCH /v1/people/{id}` (managers): name, tags, notes, on the version read. Audited.
    pub async fn patch(
        &self,
        actor: &Actor,
        id: &PersonId,
        patch: PersonPatch,
        expected: Option<u64>,
    ) -> Result<Person, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        let expected = expected.ok_or(ServiceError::VersionRequired("person"))?;
        let before = self.load(actor, id).await?;
        check_version(Some(expected), before.version, "person")?;
        let mut after = before.clone();
        after.apply(patch);
        let audit = self.audit(actor, action::PERSON_UPDATED, id, json!({}))?;
        self.save(actor, Some(before.version), &after, vec![audit])
            .await
    }

    /// `POST /v1/people/{id}/handles` (managers): the person's handle on `network`. A record
    /// the brand already has for that handle is the same person: it is taken into this one.
    /// Audited.
    pub async fn link(
        &self,
        actor: &Actor,
        id: &PersonId,
        network: Network,
        handle: &str,
    ) -> Result<Person, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        let before = self.load(actor, id).await?;
        let mut after = before.clone();
        let added = after.link(network, handle)?;
        let mut also = vec![self.audit(
            actor,
            action::PERSON_LINKED,
            id,
            json!({"network": network.as_str()}),
        )?];
        if let Some(other) = self
            .store()
            .person_with_handle(&actor.brand, network, &added.handle)
            .await?
            .filter(|o| o.id != after.id)
        {
            also.push(Store::person_delete(&actor.brand, &other));
            // Its handles (the one linked among them) come over with the rest.
            after.handles.retain(|h| h != &added);
            after.absorb(other);
        }
        self.save(actor, Some(before.version), &after, also).await
    }

    async fn save(
        &self,
        actor: &Actor,
        before: Option<u64>,
        person: &Person,
        also: Vec<crate::store::Write>,
    ) -> Result<Person, ServiceError> {
        match self
            .store()
            .save_person(&actor.brand, before, person, also)
            .await
        {
            Ok(saved) => Ok(saved),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("person")),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /v1/people/{id}/export` (managers): everything the brand holds on the person, their
    /// direct messages included (a person's request for their data). Audited.
    pub async fn export(&self, actor: &Actor, id: &PersonId) -> Result<PersonExport, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        let person = self.load(actor, id).await?;
        let found = self
            .store()
            .person_interactions(&actor.brand, &person, MAX_EXPORT_INTERACTIONS)
            .await?;
        let mut interactions = Vec::with_capacity(found.len());
        for interaction in found {
            let notes = self
                .store()
                .list_notes(&actor.brand, &interaction.id)
                .await?;
            let replies = self
                .store()
                .replies_of(&actor.brand, &interaction.id)
                .await?;
            interactions.push(ExportedInteraction {
                interaction,
                notes,
                replies,
            });
        }
        let now = self.ports.clock.now();
        let audit = self.audit(
            actor,
            action::PERSON_EXPORTED,
            id,
            json!({"interactions": interactions.len()}),
        )?;
        self.store().items().write(vec![audit]).await?;
        Ok(PersonExport {
            person,
            interactions,
            exported_at: now,
        })
    }

    /// `DELETE /v1/people/{id}` (owners and managers): erases the person for good: their record,
    /// their interactions with their notes and the brand's replies, and their dedupe items;
    /// leaves suppression keys (HMACs of network and account) so later polls and webhooks drop
    /// their content. Audited (without their name or handles). Returns the interactions erased.
    pub async fn erase(&self, actor: &Actor, id: &PersonId) -> Result<usize, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        let person = self.load(actor, id).await?;
        let key = self
            .store()
            .suppression_key(&actor.brand, true)
            .await?
            .ok_or(ServiceError::NotFound("suppression key"))?;
        let suppress: Vec<String> = person
            .handles
            .iter()
            .flat_map(|h| {
                suppression_names(h)
                    .into_iter()
                    .map(|who| suppression_key(&key, h.network, &who))
            })
            .collect();
        let now = self.ports.clock.now();
        let audit = self.audit(
            actor,
            action::PERSON_ERASED,
            id,
            json!({"handles": person.handles.len()}),
        )?;
        match self
            .store()
            .erase_person(&actor.brand, &person, &suppress, now, vec![audit])
            .await
        {
            Ok(erased) => Ok(erased),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("person")),
            Err(e) => Err(e.into()),
        }
    }

    fn audit(
        &self,
        actor: &Actor,
        what: &str,
        id: &PersonId,
        details: serde_json::Value,
    ) -> Result<crate::store::Write, ServiceError> {
        Ok(audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                what,
                format!("person/{id}"),
                self.ports.clock.now(),
                details,
            ),
        )?)
    }
}
