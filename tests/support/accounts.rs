//! What connector tests need around a connector: a channel with credentials, a sink that records
//! refreshed credentials, and an in-memory media library whose assets are also served over
//! loopback HTTP (for networks that fetch media by URL).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use palinsesto::domain::OutboundPolicy;
use palinsesto::domain::channel::ChannelFields;
use palinsesto::domain::{
    Asset, AssetId, AssetStatus, Channel, ChannelStatus, Credentials, MediaKind, Network, Secret,
};
use palinsesto::networks::{
    Account, CredentialsSink, MediaFiles, Outgoing, PublishContext, PublishError,
};
use palinsesto::outbound::{OutboundClient, SystemLookup, Timeouts};
use serde_json::Value;

/// A channel on `network` with these settings (a JSON object).
pub fn channel(network: Network, settings: Value) -> Channel {
    let fields = ChannelFields::parse(
        network,
        "Test channel",
        "@test",
        settings
            .as_object()
            .expect("settings are an object")
            .clone(),
        ChannelStatus::Active,
        OutboundPolicy::PRIVATE_ALLOWED,
    )
    .expect("valid channel settings");
    Channel::create(network, fields, jiff::Timestamp::now())
}

/// Credentials as the store holds them: what a person gave (checked against the network's
/// table) and what Palinsesto wrote itself (a session, renewal times).
pub fn credentials(network: Network, values: Value) -> Credentials {
    let values = values.as_object().expect("credentials are an object");
    let keys = network.credential_keys();
    let given: serde_json::Map<String, Value> = values
        .iter()
        .filter(|(k, _)| !keys.server.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut stored = Credentials::parse(network, &given)
        .expect("valid credentials")
        .expose_all();
    for (key, value) in values
        .iter()
        .filter(|(k, _)| keys.server.contains(&k.as_str()))
    {
        stored.insert(key.clone(), value.as_str().expect("a string").to_owned());
    }
    Credentials::from_stored(stored)
}

/// The guarded client as the tests use it: private networks allowed (the fakes are on loopback).
pub fn outbound() -> OutboundClient {
    OutboundClient::new(OutboundPolicy::PRIVATE_ALLOWED).expect("the client builds")
}

/// Records every credentials update a connector makes, applying the same rule as the real one:
/// empty values never overwrite.
#[derive(Default, Clone)]
pub struct RecordingSink(pub Arc<Mutex<Vec<Update>>>);

/// One credentials update: the keys and values a connector saved.
pub type Update = Vec<(String, String)>;

impl RecordingSink {
    pub fn updates(&self) -> Vec<Update> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl CredentialsSink for RecordingSink {
    async fn update(&self, changes: Vec<(String, Secret)>) -> Result<(), PublishError> {
        self.0.lock().unwrap().push(
            changes
                .into_iter()
                .map(|(k, v)| (k, v.expose().to_owned()))
                .collect(),
        );
        Ok(())
    }
}

type Files = Arc<Mutex<HashMap<AssetId, Bytes>>>;

/// An in-memory media library, also served at `{base}/media/{asset id}`.
#[derive(Clone)]
pub struct MemoryMedia {
    files: Files,
    pub base: String,
    fetches: Arc<Mutex<usize>>,
}

impl MemoryMedia {
    pub async fn start() -> Self {
        let files: Files = Arc::default();
        let fetches: Arc<Mutex<usize>> = Arc::default();
        let app = Router::new()
            .route("/media/{id}", get(serve))
            .with_state((files.clone(), fetches.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            files,
            base,
            fetches,
        }
    }

    /// Adds an asset with these bytes and returns its description.
    pub fn add(
        &self,
        kind: MediaKind,
        content_type: &str,
        bytes: Vec<u8>,
        alt_text: Option<&str>,
    ) -> Asset {
        let id = AssetId::new();
        let now = jiff::Timestamp::now();
        let asset = Asset {
            id,
            kind,
            content_type: content_type.to_owned(),
            size: bytes.len() as u64,
            width: Some(1200),
            height: Some(800),
            duration_ms: (kind == MediaKind::Video).then_some(12_000),
            alt_text: alt_text.map(str::to_owned),
            object_key: format!("library/test/{id}"),
            status: AssetStatus::Ready,
            version: 1,
            created_at: now,
            updated_at: now,
            details: Default::default(),
        };
        self.files.lock().unwrap().insert(id, Bytes::from(bytes));
        asset
    }

    /// How many times a network fetched media by URL.
    pub fn fetches(&self) -> usize {
        *self.fetches.lock().unwrap()
    }
}

async fn serve(
    State((files, fetches)): State<(Files, Arc<Mutex<usize>>)>,
    Path(id): Path<String>,
) -> impl IntoResponse {
    *fetches.lock().unwrap() += 1;
    match AssetId::parse(&id)
        .ok()
        .and_then(|id| files.lock().unwrap().get(&id).cloned())
    {
        Some(bytes) => (StatusCode::OK, bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[async_trait]
impl MediaFiles for MemoryMedia {
    async fn read(&self, asset: &Asset, range: Range<u64>) -> Result<Bytes, PublishError> {
        let files = self.files.lock().unwrap();
        let bytes = files.get(&asset.id).ok_or_else(|| {
            PublishError::InvalidMedia(format!("asset {} is not in the library", asset.id))
        })?;
        let end = range.end.min(bytes.len() as u64) as usize;
        Ok(bytes.slice(range.start as usize..end))
    }

    async fn fetch_url(&self, asset: &Asset) -> Result<String, PublishError> {
        Ok(format!("{}/media/{}", self.base, asset.id))
    }
}

/// A channel, its credentials, a sink and a media library, ready to make a [`PublishContext`].
pub struct TestAccount {
    pub brand: palinsesto::domain::BrandId,
    pub channel: Channel,
    pub credentials: Credentials,
    pub sink: RecordingSink,
    pub media: MemoryMedia,
}

impl TestAccount {
    pub async fn new(network: Network, settings: Value, credentials_json: Value) -> Self {
        let channel = channel(network, settings);
        let credentials = credentials(network, credentials_json)
            .bind_to(&channel)
            .expect("the channel has a server");
        Self {
            brand: palinsesto::domain::BrandId::parse("acme").expect("a brand id"),
            channel,
            credentials,
            sink: RecordingSink::default(),
            media: MemoryMedia::start().await,
        }
    }

    pub fn context(&self) -> PublishContext<'_> {
        PublishContext {
            account: self.account(),
            media: &self.media,
        }
    }

    pub fn account(&self) -> Account<'_> {
        Account::new(&self.brand, &self.channel, &self.credentials, &self.sink)
            .expect("the credentials were given for this channel's server")
    }
}

/// A text post with a fresh key.
pub fn outgoing(text: &str) -> Outgoing {
    Outgoing {
        key: format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new()),
        text: text.to_owned(),
        thread: Vec::new(),
        media: Vec::new(),
        first_attempt_at: jiff::Timestamp::now(),
    }
}

/// A client with a short timeout, so `AnswerLate` faults turn into unknown outcomes quickly.
pub fn impatient_http() -> OutboundClient {
    outbound_within(impatient_timeouts().total)
}

/// The guarded client with private networks allowed and `total` as each call's time limit.
pub fn outbound_within(total: std::time::Duration) -> OutboundClient {
    OutboundClient::with(
        OutboundPolicy::PRIVATE_ALLOWED,
        Timeouts {
            total,
            ..Timeouts::default()
        },
        Arc::new(SystemLookup),
    )
    .expect("the client builds")
}

/// How the AWS-path tests reach the networks: loopback fakes through the guarded client (5 s a
/// call, private networks allowed), the default API bases, and media polled every 5 ms.
pub fn loopback_networks() -> palinsesto::wiring::NetworkAccess {
    palinsesto::wiring::NetworkAccess {
        http: outbound_within(std::time::Duration::from_secs(5)),
        endpoints: palinsesto::networks::NetworkEndpoints::default(),
        polling: palinsesto::networks::Polling {
            interval: std::time::Duration::from_millis(5),
            max_wait: std::time::Duration::from_secs(5),
        },
        bluesky_appview: palinsesto::networks::public::BLUESKY_PUBLIC_APPVIEW.into(),
        sandbox: false,
        apps: Default::default(),
    }
}

pub fn impatient_timeouts() -> Timeouts {
    Timeouts {
        total: std::time::Duration::from_millis(1500),
        ..Timeouts::default()
    }
}
