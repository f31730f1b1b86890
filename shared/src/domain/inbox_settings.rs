//! A brand's inbox settings: when its team answers (business hours), the first-response time it
//! aims at, whether replies need a manager's approval, and how long what people wrote is kept.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::business_hours::BusinessHours;
use super::error::{DomainError, Validation};

/// How long interactions and their replies are kept by default (13 months: a year's comparison
/// and a month to make it), after which the store deletes them (TTL).
pub const DEFAULT_RETENTION: SignedDuration = SignedDuration::from_hours(395 * 24);

/// A brand's inbox settings (`PATCH /v1/brand` with `inbox`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxSettings {
    /// When the team answers, in the brand's time zone: response times count only these.
    #[serde(default)]
    pub business_hours: BusinessHours,
    /// The first-response time the brand aims at, in business minutes.
    #[serde(default = "default_target")]
    pub response_target_minutes: u32,
    /// Replies wait for a manager's approval before they are sent.
    #[serde(default)]
    pub replies_need_approval: bool,
    /// How long interactions and replies are kept (days).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

fn default_target() -> u32 {
    60
}

fn default_retention_days() -> u32 {
    (DEFAULT_RETENTION.as_hours() / 24) as u32
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            business_hours: BusinessHours::always(),
            response_target_minutes: default_target(),
            replies_need_approval: false,
            retention_days: default_retention_days(),
        }
    }
}

impl InboxSettings {
    pub fn retention(&self) -> SignedDuration {
        SignedDuration::from_hours(i64::from(self.retention_days) * 24)
    }

    /// Applies the fields of `raw` (an object; absent fields keep their value), checked.
    pub fn apply(&mut self, raw: &Value) -> Result<(), DomainError> {
        let Some(object) = raw.as_object() else {
            return Err(DomainError::invalid("inbox", "must be an object"));
        };
        let mut v = Validation::new();
        for (key, value) in object {
            let field = format!("inbox.{key}");
            match key.as_str() {
                "business_hours" => match BusinessHours::parse(value) {
                    Ok(hours) => self.business_hours = hours,
                    Err(DomainError::Invalid(errors)) => {
                        for e in errors {
                            v.add(format!("inbox.{}", e.field), e.message);
                        }
                    }
                    Err(e) => v.add(field, e.to_string()),
                },
                "response_target_minutes" => match value.as_u64() {
                    Some(m @ 1..=10_080) => self.response_target_minutes = m as u32,
                    _ => v.add(field, "must be 1 to 10,080 minutes (a week)"),
                },
                "replies_need_approval" => match value.as_bool() {
                    Some(b) => self.replies_need_approval = b,
                    None => v.add(field, "must be true or false"),
                },
                "retention_days" => match value.as_u64() {
                    Some(d @ 30..=3_650) => self.retention_days = d as u32,
                    _ => v.add(field, "must be 30 to 3,650 days"),
                },
                _ => v.add(
                    field,
                    "is not an inbox setting (business_hours, response_target_minutes, replies_need_approval, retention_days)",
                ),
            }
        }
        v.finish()
    }
}
