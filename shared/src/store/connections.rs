//! Connection flows (`domain::connection`): global lookup items found by a hash of the secret a
//! browser brings back (`OAUTH#{sha256}` / `START` for a start link, `STATE` for a state at the
//! network), the apps registered on Mastodon instances (`MAPP#{host}`), and pending connections
//! under the brand (`B#{brand}` / `PC#{id}`). Links and states expire (TTL) and are deleted on
//! use, on condition of the version read, so each works once.
//!
//! The connection worker's tasks sit under the brand too (`B#{brand}` /
//! `CW#{channel}#{DISCONNECT|WATCH}`), on the sparse due index (`CDUE#0` /
//! `{due}#{brand}#{channel}#{kind}`): one partition, as connections change rarely.
//!
//! Grants (`GRANT#{app}#{user}` / `{brand}#{channel}`) find the channels a person connected when
//! Meta calls a deauthorize or data-deletion callback; `MDEL#{code}` keeps what a data deletion
//! did for 90 days.

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Condition, Index, IndexKey, Item, Store, StoreError, Write, keys};
use crate::domain::connection::{
    ConnectionWork, DELETION_STATUS_LIFETIME, DeletionRecord, FlowStart, FlowState, GrantOwner,
    GrantedChannel, OAuthApp, PendingConnection,
};
use crate::domain::{BrandId, Channel, ChannelId, Credentials};
use crate::sealing::{SealContext, Sealed};

const START: &str = "START";
const STATE: &str = "STATE";
const APP: &str = "APP";

fn flow_pk(hash: &str) -> String {
    format!("OAUTH#{hash}")
}

fn app_pk(host: &str) -> String {
    format!("MAPP#{host}")
}

fn pending_sk(id: &str) -> String {
    format!("PC#{id}")
}

fn item<T: Serialize>(
    pk: String,
    sk: &str,
    value: &T,
    expires_at: Option<Timestamp>,
) -> Result<Item, StoreError> {
    Ok(Item {
        pk,
        sk: sk.to_owned(),
        version: 1,
        indexes: vec![],
        expires_at: expires_at.map(|t| t.as_second()),
        body: serde_json::to_value(value).map_err(|e| StoreError::Invalid(e.to_string()))?,
    })
}

fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_json::from_value(item.body)
        .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", item.pk, item.sk)))
}

impl Store {
    async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        self.items()
            .write(vec![Write::Put {
                item,
                condition: Condition::Absent,
            }])
            .await
    }

    /// Keeps a start link's flow, with `also` (its audit entry) in the same write.
    pub async fn put_flow_start(
        &self,
        hash: &str,
        start: &FlowStart,
        also: Vec<Write>,
    ) -> Result<(), StoreError> {
        let mut writes = vec![Write::Put {
            item: item(flow_pk(hash), START, start, Some(start.expires_at))?,
            condition: Condition::Absent,
        }];
        writes.extend(also);
        self.items().write(writes).await
    }

    /// The flow a start link began, taken once: a second opening, or one after it expired, finds
    /// nothing.
    pub async fn take_flow_start(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<FlowStart>, StoreError> {
        self.take(flow_pk(hash), START, now, |s: &FlowStart| s.expires_at)
            .await
    }

    pub async fn put_flow_state(&self, hash: &str, state: &FlowState) -> Result<(), StoreError> {
        self.put_new(item(
            flow_pk(hash),
            STATE,
            state,
            Some(state.start.expires_at),
        )?)
        .await
    }

    /// The flow a state names, if it is there and has not expired (not taken: a callback from
    /// the wrong browser must not spend it).
    pub async fn get_flow_state(
        &self,
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<(FlowState, u64)>, StoreError> {
        let Some(item) = self.items().get(&flow_pk(hash), STATE).await? else {
            return Ok(None);
        };
        let version = item.version;
        let state: FlowState = decode(item)?;
        Ok((state.start.expires_at > now).then_some((state, version)))
    }

    /// Spends a state: `false` when another callback spent it first.
    pub async fn spend_flow_state(&self, hash: &str, version: u64) -> Result<bool, StoreError> {
        match self
            .items()
            .write(vec![Write::Delete {
                pk: flow_pk(hash),
                sk: STATE.into(),
                condition: Condition::Version(version),
            }])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn take<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        now: Timestamp,
        expires: impl Fn(&T) -> Timestamp,
    ) -> Result<Option<T>, StoreError> {
        let Some(item) = self.items().get(&pk, sk).await? else {
            return Ok(None);
        };
        let version = item.version;
        let value: T = decode(item)?;
        let spent = self
            .items()
            .write(vec![Write::Delete {
                pk,
                sk: sk.into(),
                condition: Condition::Version(version),
            }])
            .await;
        match spent {
            Ok(()) if expires(&value) > now => Ok(Some(value)),
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The app Palinsesto registered on the server at `host`, if any.
    pub async fn get_oauth_app(&self, host: &str) -> Result<Option<OAuthApp>, StoreError> {
        self.items()
            .get(&app_pk(host), APP)
            .await?
            .map(decode)
            .transpose()
    }

    /// Keeps the app registered on `host`; when another process registered one first, that one
    /// is kept and returned.
    pub async fn put_oauth_app(&self, host: &str, app: &OAuthApp) -> Result<OAuthApp, StoreError> {
        let write = Write::Put {
            item: item(app_pk(host), APP, app, None)?,
            condition: Condition::Absent,
        };
        match self.items().write(vec![write]).await {
            Ok(()) => Ok(app.clone()),
            Err(StoreError::Conflict { .. }) => self
                .get_oauth_app(host)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("the app of {host} vanished"))),
            Err(e) => Err(e),
        }
    }

    /// Keeps `app` as the one registered on `host`, replacing an older registration (made for
    /// another callback address).
    pub async fn replace_oauth_app(
        &self,
        host: &str,
        app: &OAuthApp,
    ) -> Result<OAuthApp, StoreError> {
        let write = Write::Put {
            item: item(app_pk(host), APP, app, None)?,
            condition: Condition::Any,
        };
        self.items().write(vec![write]).await?;
        Ok(app.clone())
    }

    pub async fn put_pending_connection(
        &self,
        brand: &BrandId,
        pending: &PendingConnection,
    ) -> Result<(), StoreError> {
        self.put_new(item(
            keys::brand_pk(brand),
            &pending_sk(&pending.id),
            pending,
            Some(pending.expires_at),
        )?)
        .await
    }

    /// A pending connection of the brand, unless it expired.
    pub async fn get_pending_connection(
        &self,
        brand: &BrandId,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(PendingConnection, u64)>, StoreError> {
        let Some(item) = self
            .items()
            .get(&keys::brand_pk(brand), &pending_sk(id))
            .await?
        else {
            return Ok(None);
        };
        let version = item.version;
        let pending: PendingConnection = decode(item)?;
        Ok((pending.expires_at > now).then_some((pending, version)))
    }

    /// The write that spends a pending connection, in the same write as its confirmation.
    pub fn pending_connection_spent(brand: &BrandId, id: &str, version: u64) -> Write {
        Write::Delete {
            pk: keys::brand_pk(brand),
            sk: pending_sk(id),
            condition: Condition::Version(version),
        }
    }

    /// `credentials` sealed under the brand and the channel, as the credentials item holds them.
    pub async fn seal_credentials(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
        credentials: &Credentials,
    ) -> Result<Sealed, StoreError> {
        let plaintext = serde_json::to_vec(&credentials.expose_all())
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.keyring()
            .seal(&SealContext::credentials(brand, channel), &plaintext)
            .await
            .map_err(|e| StoreError::Invalid(format!("credentials could not be sealed: {e}")))
    }

    /// Saves the channel and credentials already sealed for it (a confirmed connection: nothing
    /// is opened on the way), with `also` in the same write.
    pub async fn put_sealed_credentials_with(
        &self,
        brand: &BrandId,
        channel: &Channel,
        expected: u64,
        sealed: &Sealed,
        also: Vec<Write>,
    ) -> Result<Channel, StoreError> {
        let secret = super::repository::encode(
            keys::credentials_pk(brand),
            keys::channel_sk(&channel.id),
            rand::random::<u64>() >> 1,
            vec![],
            sealed,
        )?;
        let mut writes = vec![Write::Put {
            item: secret,
            condition: Condition::Any,
        }];
        writes.extend(also);
        self.put_channel_with(brand, channel, expected, writes)
            .await
    }

    /// The write that puts `work` (replacing the channel's task of the same kind).
    pub fn connection_work_write(
        brand: &BrandId,
        work: &ConnectionWork,
    ) -> Result<Write, StoreError> {
        let kind = work.task.key();
        let index = IndexKey {
            pk: CONNECTION_DUE_PK.to_owned(),
            sk: format!(
                "{}#{brand}#{}#{kind}",
                keys::time_key(work.due),
                work.channel
            ),
        };
        Ok(Write::Put {
            item: super::repository::encode(
                keys::brand_pk(brand),
                work_sk(&work.channel, kind),
                1,
                vec![(Index::Due, index)],
                work,
            )?,
            condition: Condition::Any,
        })
    }

    /// The write that removes the channel's task of `kind` ([`ConnectionTask::key`]).
    pub fn connection_work_done(brand: &BrandId, channel: &ChannelId, kind: &str) -> Write {
        Write::Delete {
            pk: keys::brand_pk(brand),
            sk: work_sk(channel, kind),
            condition: Condition::Any,
        }
    }

    pub async fn put_connection_work(
        &self,
        brand: &BrandId,
        work: &ConnectionWork,
    ) -> Result<(), StoreError> {
        self.items()
            .write(vec![Self::connection_work_write(brand, work)?])
            .await
    }

    pub async fn finish_connection_work(
        &self,
        brand: &BrandId,
        work: &ConnectionWork,
    ) -> Result<(), StoreError> {
        self.items()
            .write(vec![Self::connection_work_done(
                brand,
                &work.channel,
                work.task.key(),
            )])
            .await
    }

    /// The channel's task of `kind`, if any.
    pub async fn get_connection_work(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
        kind: &str,
    ) -> Result<Option<ConnectionWork>, StoreError> {
        match self
            .items()
            .get(&keys::brand_pk(brand), &work_sk(channel, kind))
            .await?
        {
            Some(item) => Ok(Some(decode(item)?)),
            None => Ok(None),
        }
    }

    /// Up to `limit` tasks of any brand due at or before `now`, oldest first.
    pub async fn due_connection_work(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, ConnectionWork)>, StoreError> {
        self.due_entries(CONNECTION_DUE_PK.to_owned(), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode(item)?)))
            .collect()
    }
}

impl Store {
    /// The write that files `channel` under its grant's owner (`GRANT#{app}#{user}` /
    /// `{brand}#{channel}`, global: one person may connect channels of several brands).
    pub fn granted_channel_write(
        grant: &GrantOwner,
        channel: &GrantedChannel,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: item(
                grant_pk(grant),
                &format!("{}#{}", channel.brand, channel.channel),
                channel,
                None,
            )?,
            condition: Condition::Any,
        })
    }

    /// The channels connected through the grants of `grant`'s owner.
    pub async fn granted_channels(
        &self,
        grant: &GrantOwner,
    ) -> Result<Vec<GrantedChannel>, StoreError> {
        let page = self
            .items()
            .query(&super::Query {
                pk: grant_pk(grant),
                index: None,
                range: super::KeyRange::Prefix(String::new()),
                after: None,
                limit: 500,
                descending: false,
            })
            .await?;
        page.items.into_iter().map(decode).collect()
    }

    /// The write that forgets `channel` under its grant's owner.
    pub fn granted_channel_done(grant: &GrantOwner, channel: &GrantedChannel) -> Write {
        Write::Delete {
            pk: grant_pk(grant),
            sk: format!("{}#{}", channel.brand, channel.channel),
            condition: Condition::Any,
        }
    }

    /// Keeps what a data-deletion callback did, readable at its status URL for 90 days.
    pub async fn put_deletion_record(&self, record: &DeletionRecord) -> Result<(), StoreError> {
        self.put_new(item(
            format!("MDEL#{}", record.code),
            "RECORD",
            record,
            Some(record.at + DELETION_STATUS_LIFETIME),
        )?)
        .await
    }

    pub async fn get_deletion_record(
        &self,
        code: &str,
    ) -> Result<Option<DeletionRecord>, StoreError> {
        match self.items().get(&format!("MDEL#{code}"), "RECORD").await? {
            Some(item) => Ok(Some(decode(item)?)),
            None => Ok(None),
        }
    }
}

fn grant_pk(grant: &GrantOwner) -> String {
    format!("GRANT#{}#{}", grant.app, grant.user_id)
}

/// The due index partition of the connection worker's tasks.
const CONNECTION_DUE_PK: &str = "CDUE#0";

fn work_sk(channel: &ChannelId, kind: &str) -> String {
    format!("CW#{channel}#{kind}")
}
