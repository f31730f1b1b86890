//! The brand profile: created once by an owner, then read by everyone and changed by owners.

use crate::domain::{Actor, Brand, BrandProfile, PeriodKind, Permission};

use super::{Ports, ServiceError, check_version, with_retries};

/// A partial change to the profile; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct BrandChanges {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub approval_required: Option<bool>,
    pub late_window_minutes: Option<u32>,
    pub publish_late: Option<bool>,
    pub report_period: Option<PeriodKind>,
    /// Inbox settings to change (an object; absent fields keep their value).
    pub inbox: Option<serde_json::Value>,
}

/// A whole profile as the caller gave it; `None` takes the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct NewProfile<'a> {
    pub name: &'a str,
    pub time_zone: &'a str,
    pub approval_required: bool,
    pub late_window_minutes: Option<u32>,
    pub publish_late: Option<bool>,
    pub report_period: Option<PeriodKind>,
}

#[derive(Clone)]
pub struct BrandService {
    ports: Ports,
}

impl BrandService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    pub async fn get(&self, actor: &Actor) -> Result<Brand, ServiceError> {
        actor.require(Permission::Read)?;
        self.ports
            .store
            .get_brand(&actor.brand)
            .await?
            .ok_or(ServiceError::NotFound("brand profile"))
    }

    /// Creates the profile the first time (returns `true`), or replaces it.
    pub async fn put(
        &self,
        actor: &Actor,
        new: NewProfile<'_>,
        expected: Option<u64>,
    ) -> Result<(Brand, bool), ServiceError> {
        actor.require(Permission::ManageBrand)?;
        let mut profile = BrandProfile::parse(new.name, new.time_zone, new.approval_required)?
            .with_publishing(new.late_window_minutes, new.publish_late)?;
        profile.report_period = new.report_period.unwrap_or_default();
        let saved = with_retries(expected, "brand profile", || async {
            let now = self.ports.clock.now();
            match self.ports.store.get_brand(&actor.brand).await? {
                None => {
                    if expected.is_some() {
                        return Err(ServiceError::Stale("brand profile"));
                    }
                    let brand = Brand::create(actor.brand.clone(), profile.clone(), now);
                    let audit = audit(actor, &brand, now)?;
                    Ok((
                        self.ports.store.put_brand_with(&brand, None, audit).await?,
                        true,
                    ))
                }
                Some(mut brand) => {
                    check_version(expected, brand.version, "brand profile")?;
                    let version = brand.version;
                    brand.update(profile.clone(), now);
                    let audit = audit(actor, &brand, now)?;
                    Ok((
                        self.ports
                            .store
                            .put_brand_with(&brand, Some(version), audit)
                            .await?,
                        false,
                    ))
                }
            }
        })
        .await?;
        super::reports::ensure_schedule(&self.ports, &saved.0).await?;
        Ok(saved)
    }

    pub async fn patch(
        &self,
        actor: &Actor,
        changes: BrandChanges,
        expected: Option<u64>,
    ) -> Result<Brand, ServiceError> {
        actor.require(Permission::ManageBrand)?;
        let saved = with_retries(expected, "brand profile", || async {
            let mut brand = self
                .ports
                .store
                .get_brand(&actor.brand)
                .await?
                .ok_or(ServiceError::NotFound("brand profile"))?;
            check_version(expected, brand.version, "brand profile")?;
            let current = brand.profile();
            let profile = BrandProfile::parse(
                changes.name.as_deref().unwrap_or(&current.name),
                changes
                    .time_zone
                    .as_deref()
                    .unwrap_or(current.time_zone.as_str()),
                changes
                    .approval_required
                    .unwrap_or(current.approval_required),
            )?
            .with_publishing(
                Some(
                    changes
                        .late_window_minutes
                        .unwrap_or(current.late_window_minutes),
                ),
                Some(changes.publish_late.unwrap_or(current.publish_late)),
            )?;
            let mut profile = profile;
            profile.report_period = changes.report_period.unwrap_or(current.report_period);
            let version = brand.version;
            let now = self.ports.clock.now();
            brand.update(profile, now);
            if let Some(inbox) = &changes.inbox {
                brand.inbox.apply(inbox)?;
            }
            let audit = audit(actor, &brand, now)?;
            Ok(self
                .ports
                .store
                .put_brand_with(&brand, Some(version), audit)
                .await?)
        })
        .await?;
        super::reports::ensure_schedule(&self.ports, &saved).await?;
        Ok(saved)
    }
}

/// The audit entry of a profile change: whether posts need approval and when late ones go out
/// decide what reaches the public.
fn audit(
    actor: &Actor,
    brand: &Brand,
    at: jiff::Timestamp,
) -> Result<Vec<crate::store::Write>, ServiceError> {
    let profile = brand.profile();
    let entry = crate::domain::audit::AuditEntry::new(
        actor,
        crate::domain::audit::action::BRAND_UPDATED,
        format!("brand/{}", brand.id),
        at,
        serde_json::json!({
            "approval_required": profile.approval_required,
            "late_window_minutes": profile.late_window_minutes,
            "publish_late": profile.publish_late,
            "time_zone": profile.time_zone.as_str(),
        }),
    );
    Ok(vec![crate::store::audit::audit_write(
        &actor.brand,
        &entry,
    )?])
}
