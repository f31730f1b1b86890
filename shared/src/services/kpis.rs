//! KPI targets: what the strategist wants a metric to reach over a report period, for one channel
//! or for all of them. Reports compare the period's figures with these.

use crate::domain::kpi::{MAX_KPIS_PER_BRAND, check_target};
use crate::domain::{
    Actor, ChannelId, DomainError, Kpi, KpiDirection, KpiId, KpiMetric, PeriodKind, Permission,
    Validation,
};

use super::{Ports, ServiceError, check_version, with_retries};

/// Changing targets is the same kind of work as managing the brand's channels: a manager's.
const MANAGE: Permission = Permission::ManageChannels;

#[derive(Debug, Clone)]
pub struct NewKpi {
    pub metric: String,
    /// `None`: all channels together.
    pub channel_id: Option<String>,
    pub target: f64,
    pub period: String,
    /// `None`: the metric's usual direction.
    pub direction: Option<String>,
}

/// A partial change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct KpiChanges {
    pub metric: Option<String>,
    /// `Some(None)`: all channels together.
    pub channel_id: Option<Option<String>>,
    pub target: Option<f64>,
    pub period: Option<String>,
    /// `Some(None)`: back to the metric's usual direction.
    pub direction: Option<Option<String>>,
}

#[derive(Clone)]
pub struct KpiService {
    ports: Ports,
}

impl KpiService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<Kpi>, ServiceError> {
        actor.require(Permission::Read)?;
        Ok(self.ports.store.list_kpis(&actor.brand).await?)
    }

    pub async fn get(&self, actor: &Actor, id: &KpiId) -> Result<Kpi, ServiceError> {
        actor.require(Permission::Read)?;
        self.load(actor, id).await
    }

    pub async fn create(&self, actor: &Actor, new: NewKpi) -> Result<Kpi, ServiceError> {
        actor.require(MANAGE)?;
        let mut v = Validation::new();
        let metric = v.check("metric", parse_metric(&new.metric));
        let period = v.check("period", PeriodKind::parse(&new.period));
        let direction = v.check(
            "direction",
            new.direction
                .as_deref()
                .map(KpiDirection::parse)
                .transpose(),
        );
        let channel = v.check(
            "channel_id",
            self.channel_in_brand(actor, new.channel_id.as_deref())
                .await?,
        );
        if let Some(metric) = metric {
            collect(&mut v, check_target(metric, new.target));
        }
        v.finish()?;
        let (metric, period, channel) = (
            metric.expect("checked"),
            period.expect("checked"),
            channel.expect("checked"),
        );
        if self.ports.store.list_kpis(&actor.brand).await?.len() >= MAX_KPIS_PER_BRAND {
            return Err(DomainError::InvalidState(format!(
                "a brand can have at most {MAX_KPIS_PER_BRAND} KPI targets: delete one you no longer need first"
            ))
            .into());
        }
        let mut kpi = Kpi::new(metric, channel, new.target, period, self.ports.clock.now())?;
        kpi.direction = direction.flatten();
        Ok(self.ports.store.put_kpi(&actor.brand, &kpi, None).await?)
    }

    pub async fn patch(
        &self,
        actor: &Actor,
        id: &KpiId,
        changes: KpiChanges,
        expected: Option<u64>,
    ) -> Result<Kpi, ServiceError> {
        actor.require(MANAGE)?;
        let mut v = Validation::new();
        let metric = match changes.metric.as_deref() {
            Some(raw) => v.check("metric", parse_metric(raw)).map(Some),
            None => Some(None),
        };
        let period = match changes.period.as_deref() {
            Some(raw) => v.check("period", PeriodKind::parse(raw)).map(Some),
            None => Some(None),
        };
        let direction = match changes.direction.as_ref() {
            Some(raw) => v
                .check(
                    "direction",
                    raw.as_deref().map(KpiDirection::parse).transpose(),
                )
                .map(Some),
            None => Some(None),
        };
        let channel = match changes.channel_id.as_ref() {
            Some(raw) => v
                .check(
                    "channel_id",
                    self.channel_in_brand(actor, raw.as_deref()).await?,
                )
                .map(Some),
            None => Some(None),
        };
        if let (Some(Some(metric)), Some(target)) = (metric, changes.target) {
            collect(&mut v, check_target(metric, target));
        }
        v.finish()?;
        let (metric, period, channel, direction) = (
            metric.expect("checked"),
            period.expect("checked"),
            channel.expect("checked"),
            direction.expect("checked"),
        );
        with_retries(expected, "KPI target", || async {
            let mut kpi = self.load(actor, id).await?;
            check_version(expected, kpi.version, "KPI target")?;
            let version = kpi.version;
            kpi.metric = metric.unwrap_or(kpi.metric);
            // A target that was fine for the old metric may not be for the new one.
            kpi.target = check_target(kpi.metric, changes.target.unwrap_or(kpi.target))?;
            kpi.period = period.unwrap_or(kpi.period);
            if let Some(direction) = direction {
                kpi.direction = direction;
            }
            if let Some(channel) = channel {
                kpi.channel = channel;
            }
            kpi.updated_at = self.ports.clock.now();
            Ok(self
                .ports
                .store
                .put_kpi(&actor.brand, &kpi, Some(version))
                .await?)
        })
        .await
    }

    pub async fn delete(
        &self,
        actor: &Actor,
        id: &KpiId,
        expected: Option<u64>,
    ) -> Result<(), ServiceError> {
        actor.require(MANAGE)?;
        with_retries(expected, "KPI target", || async {
            let kpi = self.load(actor, id).await?;
            check_version(expected, kpi.version, "KPI target")?;
            Ok(self
                .ports
                .store
                .delete_kpi(&actor.brand, id, kpi.version)
                .await?)
        })
        .await
    }

    /// `None` (all channels), or a channel of the caller's brand; the inner error is for the
    /// user, the outer one is the store's.
    async fn channel_in_brand(
        &self,
        actor: &Actor,
        raw: Option<&str>,
    ) -> Result<Result<Option<ChannelId>, String>, ServiceError> {
        let Some(raw) = raw else {
            return Ok(Ok(None));
        };
        let id = match ChannelId::parse(raw) {
            Ok(id) => id,
            Err(message) => return Ok(Err(message)),
        };
        let found = self.ports.store.get_channel(&actor.brand, &id).await?;
        Ok(found.map(|_| Some(id)).ok_or_else(|| {
            format!(
                "there is no channel {raw} in this brand; leave channel_id out (or null) for all channels"
            )
        }))
    }

    async fn load(&self, actor: &Actor, id: &KpiId) -> Result<Kpi, ServiceError> {
        self.ports
            .store
            .get_kpi(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("KPI target"))
    }
}

fn parse_metric(raw: &str) -> Result<KpiMetric, String> {
    KpiMetric::ALL
        .into_iter()
        .find(|m| m.as_str() == raw)
        .ok_or_else(|| {
            format!(
                "{raw:?} is not a metric: use one of {}",
                KpiMetric::ALL.map(KpiMetric::as_str).join(", ")
            )
        })
}

/// Adds a domain check's field errors to the ones already collected.
fn collect<T>(v: &mut Validation, checked: Result<T, DomainError>) {
    match checked {
        Ok(_) => {}
        Err(DomainError::Invalid(errors)) => {
            for e in errors {
                v.add(e.field, e.message);
            }
        }
        Err(other) => v.add("target", other.to_string()),
    }
}
