//! The local fan-out: publish jobs run in-process, at most `per_network` at once per network and
//! `per_account` at once per channel, so a slow network or account never holds the others back
//! and no account is hammered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::domain::{ChannelId, Network};
use crate::fanout::{DispatchError, Dispatcher, PublishJob};
use crate::services::publishing::PublishingService;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub per_network: usize,
    pub per_account: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            per_network: 16,
            per_account: 1,
        }
    }
}

/// The sending side, handed to the publishing service as its [`Dispatcher`].
#[derive(Clone)]
pub struct LocalQueue {
    jobs: mpsc::UnboundedSender<PublishJob>,
}

#[async_trait]
impl Dispatcher for LocalQueue {
    async fn dispatch(&self, jobs: Vec<PublishJob>) -> Result<(), DispatchError> {
        for job in jobs {
            self.jobs
                .send(job)
                .map_err(|_| DispatchError("the local publishing queue has stopped".into()))?;
        }
        Ok(())
    }
}

/// The receiving side: run it with [`QueueRunner::run`] once the service exists.
pub struct QueueRunner {
    jobs: mpsc::UnboundedReceiver<PublishJob>,
    caps: Caps,
}

pub fn local_queue(caps: Caps) -> (LocalQueue, QueueRunner) {
    let (tx, rx) = mpsc::unbounded_channel();
    (LocalQueue { jobs: tx }, QueueRunner { jobs: rx, caps })
}

impl QueueRunner {
    /// Runs jobs until every sender is gone, then waits for the jobs in flight.
    pub async fn run(mut self, service: PublishingService) {
        let networks: Arc<Mutex<HashMap<Network, Arc<Semaphore>>>> = Arc::default();
        let accounts: Arc<Mutex<HashMap<ChannelId, Arc<Semaphore>>>> = Arc::default();
        let mut running = JoinSet::new();
        while let Some(job) = self.jobs.recv().await {
            let network = semaphore(&networks, job.network, self.caps.per_network);
            let account = semaphore(&accounts, job.channel_id, self.caps.per_account);
            let service = service.clone();
            running.spawn(async move {
                // The account first: a job waiting for its busy account must not hold a network slot.
                let Ok(_account) = account.acquire_owned().await else { return };
                let Ok(_network) = network.acquire_owned().await else { return };
                match service.publish_target(&job).await {
                    Ok(report) => tracing::debug!(post = %job.post_id, channel = %job.channel_id, ?report, "publish job done"),
                    Err(e) => tracing::error!(post = %job.post_id, channel = %job.channel_id, error = %e, "publish job failed; its claim will expire and be retried"),
                }
            });
            // Reap finished jobs so the set does not grow with the queue's history.
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
    }
}

fn semaphore<K: std::hash::Hash + Eq>(
    map: &Mutex<HashMap<K, Arc<Semaphore>>>,
    key: K,
    permits: usize,
) -> Arc<Semaphore> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(key)
        .or_insert_with(|| Arc::new(Semaphore::new(permits.max(1))))
        .clone()
}
