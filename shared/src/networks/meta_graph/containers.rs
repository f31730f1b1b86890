//! Instagram's and Threads' media containers: created (a carousel's items first), waited on while
//! Meta fetches and processes the media, then published.

use serde_json::Value;

use super::client::{Call, Graph, GraphFailure, Params, id_of};
use crate::domain::Secret;
use crate::networks::{Polling, PublishError};

/// A container to prepare: one item, or carousel items and the carousel that holds them.
pub enum Container {
    Single(Params),
    Carousel {
        items: Vec<Params>,
        carousel: Params,
    },
}

/// Instagram's and Threads' two-step publishing: containers (Meta fetches the media from its URL
/// and processes it), then a publish call that makes the post.
#[derive(Clone)]
pub struct Containers {
    pub graph: Graph,
    pub polling: Polling,
    /// The edge that creates containers (`media`, `threads`).
    pub create_edge: &'static str,
    /// The edge that publishes one (`media_publish`, `threads_publish`).
    pub publish_edge: &'static str,
    /// The field holding the status (`status_code`, `status`) and the one holding the reason of
    /// an ERROR (`status`, `error_message`).
    pub status_field: &'static str,
    pub reason_field: &'static str,
}

impl Containers {
    /// Meta processes a reel for minutes; waiting less would throw the work away and start over.
    pub fn default_polling() -> Polling {
        Polling {
            interval: std::time::Duration::from_secs(3),
            max_wait: std::time::Duration::from_secs(300),
        }
    }

    /// Creates the container (a carousel's items first) and waits until Meta has processed it.
    /// Nothing here is visible: a failure is safe to retry from scratch.
    pub async fn prepare(
        &self,
        user: &str,
        token: &Secret,
        container: Container,
    ) -> Result<String, PublishError> {
        match container {
            Container::Single(params) => {
                let id = self.create(user, token, &params).await?;
                self.wait(token, &id).await?;
                Ok(id)
            }
            Container::Carousel {
                items,
                mut carousel,
            } => {
                // All items first, so that Meta fetches and processes them side by side.
                let mut ids = Vec::with_capacity(items.len());
                for item in &items {
                    ids.push(self.create(user, token, item).await?);
                }
                for id in &ids {
                    self.wait(token, id).await?;
                }
                carousel.push(("children", ids.join(",")));
                let id = self.create(user, token, &carousel).await?;
                self.wait(token, &id).await?;
                Ok(id)
            }
        }
    }

    async fn create(
        &self,
        user: &str,
        token: &Secret,
        params: &[(&'static str, String)],
    ) -> Result<String, PublishError> {
        let answer = self
            .graph
            .post(Call::MEDIA, &[user, self.create_edge], token, params)
            .await?;
        id_of(self.graph.network, Call::MEDIA, &answer, "id")
    }

    /// Polls the container's status until it is ready. A failed poll is retried until the deadline,
    /// because giving up would throw away media Meta may have nearly finished.
    async fn wait(&self, token: &Secret, id: &str) -> Result<(), PublishError> {
        let network = self.graph.network;
        let deadline = tokio::time::Instant::now() + self.polling.max_wait;
        let fields = format!("{},{}", self.status_field, self.reason_field);
        loop {
            let last_problem = match self
                .graph
                .get(&[id], token, &[("fields", fields.clone())])
                .await
            {
                Ok(answer) => {
                    let status = answer
                        .get(self.status_field)
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    match status {
                        "FINISHED" | "PUBLISHED" => return Ok(()),
                        "ERROR" => {
                            let reason = answer
                                .get(self.reason_field)
                                .and_then(Value::as_str)
                                .filter(|r| !r.trim().is_empty())
                                .unwrap_or("no reason given");
                            return Err(PublishError::InvalidMedia(format!(
                                "{network} could not process the media: {reason}"
                            )));
                        }
                        // Containers expire after 24 h; a new attempt makes new ones.
                        "EXPIRED" => {
                            return Err(PublishError::Transient(format!(
                                "{network}'s media container expired before it was published"
                            )));
                        }
                        _ => format!("{network} was still processing the media"),
                    }
                }
                Err(GraphFailure {
                    error: PublishError::Transient(problem),
                    ..
                }) => problem,
                Err(f) => return Err(f.error),
            };
            if tokio::time::Instant::now() + self.polling.interval > deadline {
                return Err(PublishError::Transient(format!(
                    "{last_problem} after {} s; it will be tried again",
                    self.polling.max_wait.as_secs()
                )));
            }
            tokio::time::sleep(self.polling.interval).await;
        }
    }

    /// Publishes a prepared container: the call that makes the post.
    pub async fn publish(
        &self,
        user: &str,
        token: &Secret,
        container_id: &str,
    ) -> Result<String, GraphFailure> {
        let answer = self
            .graph
            .post(
                Call::POST,
                &[user, self.publish_edge],
                token,
                &[("creation_id", container_id.to_owned())],
            )
            .await?;
        Ok(id_of(self.graph.network, Call::POST, &answer, "id")?)
    }
}
