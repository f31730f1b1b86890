//! Competitors: public Bluesky and Mastodon accounts a brand watches. Adding one starts following
//! it, so the metrics tick reads its public profile like the brand's own channels.

use tokio::task::JoinSet;

use crate::domain::metrics::{Subject, Tracker};
use crate::domain::{
    Actor, Competitor, CompetitorFields, CompetitorId, DomainError, Network, Permission, Validation,
};
use crate::store::MAX_COMPETITORS_PER_BRAND;

use super::{Ports, ServiceError, check_version, with_retries};

/// Choosing whom to watch is the same kind of work as managing the brand's channels.
const MANAGE: Permission = Permission::ManageChannels;

#[derive(Debug, Default, Clone)]
pub struct NewCompetitor {
    pub network: String,
    pub handle: String,
    pub name: Option<String>,
    pub server: Option<String>,
}

/// A competitor with the state of its readings (`None`: not followed).
#[derive(Debug, Clone)]
pub struct WatchedCompetitor {
    pub competitor: Competitor,
    pub tracker: Option<Tracker>,
}

#[derive(Clone)]
pub struct CompetitorService {
    ports: Ports,
}

impl CompetitorService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<WatchedCompetitor>, ServiceError> {
        actor.require(Permission::Read)?;
        let competitors = self.ports.store.list_competitors(&actor.brand).await?;
        // At most MAX_COMPETITORS_PER_BRAND point reads, at the same time rather than in a row.
        let mut reads = JoinSet::new();
        for (i, c) in competitors.iter().enumerate() {
            let store = self.ports.store.clone();
            let brand = actor.brand.clone();
            let subject = subject(&c.id);
            reads.spawn(async move { (i, store.get_tracker(&brand, &subject).await) });
        }
        let mut trackers = vec![None; competitors.len()];
        while let Some(done) = reads.join_next().await {
            // Nothing aborts these tasks, so a join error is a panic: let it go on unwinding.
            let (i, tracker) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            trackers[i] = tracker?;
        }
        Ok(competitors
            .into_iter()
            .zip(trackers)
            .map(|(competitor, tracker)| WatchedCompetitor {
                competitor,
                tracker,
            })
            .collect())
    }

    pub async fn get(
        &self,
        actor: &Actor,
        id: &CompetitorId,
    ) -> Result<WatchedCompetitor, ServiceError> {
        actor.require(Permission::Read)?;
        let competitor = self.load(actor, id).await?;
        let tracker = self
            .ports
            .store
            .get_tracker(&actor.brand, &subject(id))
            .await?;
        Ok(WatchedCompetitor {
            competitor,
            tracker,
        })
    }

    /// Starts watching an account; its first snapshot is taken at the next metrics tick.
    pub async fn create(
        &self,
        actor: &Actor,
        new: NewCompetitor,
    ) -> Result<WatchedCompetitor, ServiceError> {
        actor.require(MANAGE)?;
        let mut v = Validation::new();
        let network = v.check("network", Network::parse(&new.network));
        v.finish()?;
        self.ports
            .require_network("network", network.expect("checked"))?;
        let fields = CompetitorFields::parse(
            network.expect("checked"),
            &new.handle,
            new.name.as_deref(),
            new.server.as_deref(),
        )?;
        fields.check_server(self.ports.outbound)?;
        let now = self.ports.clock.now();
        let competitor = Competitor::new(fields, now);
        let watched = self.ports.store.list_competitors(&actor.brand).await?;
        if let Some(same) = watched.iter().find(|w| same_account(w, &competitor)) {
            return Err(ServiceError::AlreadyExists(format!(
                "the {} account {} is already watched as competitor {}",
                competitor.network.as_str(),
                competitor.handle,
                same.id
            )));
        }
        if watched.len() >= MAX_COMPETITORS_PER_BRAND {
            return Err(DomainError::InvalidState(format!(
                "a brand can watch at most {MAX_COMPETITORS_PER_BRAND} competitors: remove one you no longer need first"
            ))
            .into());
        }
        let tracker = Tracker::for_account(subject(&competitor.id), competitor.network, now);
        let competitor = self
            .ports
            .store
            .create_competitor(&actor.brand, &competitor, &tracker)
            .await?;
        Ok(WatchedCompetitor {
            competitor,
            tracker: Some(tracker),
        })
    }

    /// Stops watching; the snapshots already taken expire on their own.
    pub async fn delete(
        &self,
        actor: &Actor,
        id: &CompetitorId,
        expected: Option<u64>,
    ) -> Result<(), ServiceError> {
        actor.require(MANAGE)?;
        with_retries(expected, "competitor", || async {
            let competitor = self.load(actor, id).await?;
            check_version(expected, competitor.version, "competitor")?;
            Ok(self
                .ports
                .store
                .delete_competitor(&actor.brand, id, competitor.version)
                .await?)
        })
        .await
    }

    async fn load(&self, actor: &Actor, id: &CompetitorId) -> Result<Competitor, ServiceError> {
        self.ports
            .store
            .get_competitor(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("competitor"))
    }
}

fn subject(id: &CompetitorId) -> Subject {
    Subject::Competitor { competitor_id: *id }
}

/// Handles are case-insensitive on both networks, and a Mastodon account can be named as
/// `user@server` or as `user` with the server set: both name the same account.
fn same_account(a: &Competitor, b: &Competitor) -> bool {
    a.network == b.network
        && match a.network {
            Network::Mastodon => {
                a.account_name().eq_ignore_ascii_case(b.account_name())
                    && a.api_base("").eq_ignore_ascii_case(&b.api_base(""))
            }
            _ => a.handle.eq_ignore_ascii_case(&b.handle),
        }
}
