//! A Mastodon server's own limits (`/api/v2/instance`), read into the rules preflight checks a
//! post against.

use std::time::Duration;

use serde::Deserialize;

use super::MastodonConnector;
use super::client::{Call, decode, refused};
use crate::domain::Secret;
use crate::domain::preflight::{InstanceLimits, Rules};
use crate::networks::PublishError;

/// Instance limits change rarely; reading them once per post would spend the account's
/// 300-requests-per-5-minutes budget on nothing.
pub(super) const RULES_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Deserialize, Default)]
#[serde(default)]
struct Instance {
    configuration: Configuration,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Configuration {
    statuses: StatusLimits,
    media_attachments: MediaLimits,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusLimits {
    max_characters: Option<usize>,
    max_media_attachments: Option<usize>,
    characters_reserved_per_url: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MediaLimits {
    supported_mime_types: Option<Vec<String>>,
    image_size_limit: Option<u64>,
    video_size_limit: Option<u64>,
    description_limit: Option<usize>,
}

impl MastodonConnector {
    pub(super) async fn fetch_rules(
        &self,
        base: &str,
        token: Option<&Secret>,
    ) -> Result<Rules, PublishError> {
        let mut request = self.http.get(format!("{base}/api/v2/instance"));
        // The instance description is public; the token only helps on servers that hide it.
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            request = request.bearer_auth(token.expose());
        }
        let (status, headers, body) = self.exchange(Call::Read, request).await?;
        if !status.is_success() {
            return Err(refused(Call::Read, status, &headers, &body));
        }
        let instance: Instance = decode(Call::Read, &body)?;
        Ok(rules_from(instance.configuration))
    }
}

/// The domain owns how a server's limits adjust Mastodon's rules; this only carries them over.
fn rules_from(config: Configuration) -> Rules {
    let statuses = config.statuses;
    let media = config.media_attachments;
    Rules::mastodon_instance(InstanceLimits {
        max_characters: statuses.max_characters,
        characters_reserved_per_url: statuses.characters_reserved_per_url,
        max_media_attachments: statuses.max_media_attachments,
        supported_mime_types: media.supported_mime_types,
        image_size_limit: media.image_size_limit,
        video_size_limit: media.video_size_limit,
        description_limit: media.description_limit,
    })
}
