//! What the sandbox network keeps: the posts published to it, under the brand's partition
//! (`B#{brand}` / `SBX#{channel}#{remote id}`), so they go wherever the brand's data goes.

use super::{Condition, Item, Store, StoreError, Write, keys};
use crate::domain::sandbox::SandboxPost;
use crate::domain::{BrandId, ChannelId};

fn sandbox_post_sk(channel: &ChannelId, remote_id: &str) -> String {
    format!("SBX#{channel}#{remote_id}")
}

impl Store {
    /// Keeps a post published to a sandbox channel. `false` when a post with that id is already
    /// there (an earlier attempt of the same target made it): nothing is written twice.
    pub async fn put_sandbox_post(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
        post: &SandboxPost,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_value(post).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let write = Write::Put {
            item: Item {
                pk: keys::brand_pk(brand),
                sk: sandbox_post_sk(channel, &post.remote_id),
                version: 1,
                indexes: vec![],
                expires_at: None,
                body,
            },
            condition: Condition::Absent,
        };
        match self.items().write(vec![write]).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_sandbox_post(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
        remote_id: &str,
    ) -> Result<Option<SandboxPost>, StoreError> {
        let Some(item) = self
            .items()
            .get(&keys::brand_pk(brand), &sandbox_post_sk(channel, remote_id))
            .await?
        else {
            return Ok(None);
        };
        serde_json::from_value(item.body)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", item.pk, item.sk)))
    }
}
