//! The local runner's relay: reads the embedded store's stream (new outbox items) and hands the
//! events to the same relay service the relay function runs in AWS, then moves its checkpoint.
//! A batch the relay fails is read again (at least once); every `tick` it also retries the
//! webhook deliveries that are due.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::embedded::EmbeddedStore;
use crate::services::relay::RelayService;
use crate::store::outbox::outbox_event;

/// The checkpoint's name in the store.
const READER: &str = "relay";
/// Records relayed per batch.
const BATCH: usize = 100;
/// How long to wait before reading a batch the relay failed again.
const RETRY_AFTER: Duration = Duration::from_secs(2);

pub struct LocalRelay {
    store: Arc<EmbeddedStore>,
    relay: RelayService,
    /// How often due webhook deliveries are retried.
    tick: Duration,
}

/// The running relay; `stop` ends it after the batch in hand, dropping it cuts it short (what it
/// had not finished is relayed by the next start).
pub struct RunningRelay {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningRelay {
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl LocalRelay {
    pub fn new(store: Arc<EmbeddedStore>, relay: RelayService, tick: Duration) -> Self {
        Self { store, relay, tick }
    }

    pub fn start(self) -> RunningRelay {
        let (stop, stopped) = watch::channel(false);
        let task = Some(tokio::spawn(self.run(stopped)));
        RunningRelay { stop, task }
    }

    /// Relays everything the stream holds now; returns how many events went out. Errors leave
    /// the checkpoint where it was.
    pub async fn relay_pending(&self) -> Result<usize, String> {
        let mut relayed = 0;
        loop {
            let after = self
                .store
                .stream_checkpoint(READER)
                .map_err(|e| e.to_string())?;
            let records = self
                .store
                .stream_after(after, BATCH)
                .map_err(|e| e.to_string())?;
            let Some(last) = records.last().map(|r| r.sequence) else {
                return Ok(relayed);
            };
            let mut events = Vec::with_capacity(records.len());
            for record in &records {
                match outbox_event(&record.item) {
                    Ok(event) => events.push(event),
                    // Nothing would ever read it better: say so and go past it.
                    Err(e) => {
                        tracing::error!(error = %e, "an outbox item cannot be read; it is skipped")
                    }
                }
            }
            relayed += events.len();
            self.relay.relay(events).await.map_err(|e| e.to_string())?;
            self.store
                .finish_stream(READER, last)
                .map_err(|e| e.to_string())?;
        }
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let waker = self.store.stream_waker();
        let mut tick = tokio::time::interval(self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if let Err(e) = self.relay_pending().await {
                tracing::error!(error = %e, "events could not be relayed; trying again shortly");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                    _ = stopped.changed() => return,
                }
                continue;
            }
            tokio::select! {
                _ = waker.appended() => {}
                _ = tick.tick() => {
                    if let Err(e) = self.relay.deliver_due().await {
                        tracing::error!(error = %e, "due webhook deliveries could not be read");
                    }
                }
                _ = stopped.changed() => return,
            }
        }
    }
}
