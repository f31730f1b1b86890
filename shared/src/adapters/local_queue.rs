//! The local fan-out: publish jobs run in-process, at most `per_network` at once per network and
//! `per_account` at once per channel, so a slow network or account never holds the others back
//! and no account is hammered. The caps cover a job's network part; recording its outcome in the
//! store happens after the job has given its slots back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::domain::{ChannelId, Network};
use crate::fanout::{DispatchError, Dispatcher, JobRunner, PublishJob};

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
    closing: Arc<Notify>,
}

impl LocalQueue {
    /// Stops the runner taking jobs: those queued already still run, later dispatches fail. The
    /// channel cannot close by itself, since the service the runner runs jobs with holds a sender.
    pub fn close(&self) {
        self.closing.notify_one();
    }
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
    closing: Arc<Notify>,
    caps: Caps,
}

pub fn local_queue(caps: Caps) -> (LocalQueue, QueueRunner) {
    let (tx, rx) = mpsc::unbounded_channel();
    let closing = Arc::new(Notify::new());
    (
        LocalQueue {
            jobs: tx,
            closing: closing.clone(),
        },
        QueueRunner {
            jobs: rx,
            closing,
            caps,
        },
    )
}

impl QueueRunner {
    /// Runs jobs until the queue is closed (or every sender is gone), then waits for the jobs
    /// queued and in flight.
    pub async fn run<R: JobRunner>(mut self, runner: R) {
        let networks: Arc<Mutex<HashMap<Network, Arc<Semaphore>>>> = Arc::default();
        let accounts: Arc<Mutex<HashMap<ChannelId, Arc<Semaphore>>>> = Arc::default();
        let mut running = JoinSet::new();
        loop {
            let job = tokio::select! {
                job = self.jobs.recv() => job,
                () = self.closing.notified() => {
                    // Refuses new jobs; `recv` hands out the queued ones, then ends.
                    self.jobs.close();
                    continue;
                }
            };
            let Some(job) = job else { break };
            let network = semaphore(&networks, job.network, self.caps.per_network);
            let account = semaphore(&accounts, job.channel_id, self.caps.per_account);
            let runner = runner.clone();
            running.spawn(async move {
                let attempted = {
                    // The account first: a job waiting for its busy account must not hold a network slot.
                    let Ok(_account) = account.acquire_owned().await else { return };
                    let Ok(_network) = network.acquire_owned().await else { return };
                    runner.attempt(&job).await
                };
                // The slots are free again: recording waits for a durable store write, not for
                // the network, and holding them through it left the network idle (the publishing
                // benchmark measured a slot busy ~15% longer per target).
                if let Err(e) = runner.record(&job, attempted).await {
                    tracing::error!(post = %job.post_id, channel = %job.channel_id, error = %e, "publish job failed; its claim will expire and be retried");
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
