//! The brand: whose desk this is, which time zone its calendar lives in, and whether posts need a
//! manager's approval before they can be scheduled.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::publishing::PublishPolicy;
use super::{BrandId, DomainError, TimeZoneName, Validation};

pub const MAX_NAME_CHARS: usize = 100;

/// The editable part of a brand, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandProfile {
    pub name: String,
    pub time_zone: TimeZoneName,
    pub approval_required: bool,
    /// How late (minutes) the publisher may start a post before it counts as missed.
    pub late_window_minutes: u32,
    /// Publish late posts anyway instead of marking them missed.
    pub publish_late: bool,
    pub report_period: super::PeriodKind,
}

pub const DEFAULT_LATE_WINDOW_MINUTES: u32 = 15;
pub const MAX_LATE_WINDOW_MINUTES: u32 = 24 * 60;

impl BrandProfile {
    pub fn parse(
        name: &str,
        time_zone: &str,
        approval_required: bool,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        let name = v.check("name", parse_name(name));
        let time_zone = v.check("time_zone", TimeZoneName::parse(time_zone));
        v.finish()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            time_zone: time_zone.expect("checked"),
            approval_required,
            late_window_minutes: DEFAULT_LATE_WINDOW_MINUTES,
            publish_late: false,
            report_period: super::PeriodKind::Week,
        })
    }

    /// Sets the publishing policy; `None` keeps the current value.
    pub fn with_publishing(
        mut self,
        late_window_minutes: Option<u32>,
        publish_late: Option<bool>,
    ) -> Result<Self, DomainError> {
        if let Some(minutes) = late_window_minutes {
            if minutes == 0 || minutes > MAX_LATE_WINDOW_MINUTES {
                return Err(DomainError::invalid(
                    "late_window_minutes",
                    format!("must be between 1 and {MAX_LATE_WINDOW_MINUTES} minutes"),
                ));
            }
            self.late_window_minutes = minutes;
        }
        if let Some(late) = publish_late {
            self.publish_late = late;
        }
        Ok(self)
    }
}

pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 {
        Err("must not be empty".into())
    } else if chars > MAX_NAME_CHARS {
        Err(format!(
            "must be at most {MAX_NAME_CHARS} characters (it has {chars})"
        ))
    } else {
        Ok(name.to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub id: BrandId,
    pub name: String,
    pub time_zone: TimeZoneName,
    pub approval_required: bool,
    #[serde(default = "default_late_window")]
    pub late_window_minutes: u32,
    #[serde(default)]
    pub publish_late: bool,
    /// How often the report is written: every week or every other week (Monday 08:00 local).
    #[serde(default)]
    pub report_period: super::PeriodKind,
    /// The inbox: business hours, response target, reply approval, retention.
    #[serde(default)]
    pub inbox: super::inbox_settings::InboxSettings,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn default_late_window() -> u32 {
    DEFAULT_LATE_WINDOW_MINUTES
}

impl Brand {
    pub fn create(id: BrandId, profile: BrandProfile, now: Timestamp) -> Self {
        Self {
            id,
            name: profile.name,
            time_zone: profile.time_zone,
            approval_required: profile.approval_required,
            late_window_minutes: profile.late_window_minutes,
            publish_late: profile.publish_late,
            report_period: profile.report_period,
            inbox: Default::default(),
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn update(&mut self, profile: BrandProfile, now: Timestamp) {
        self.name = profile.name;
        self.time_zone = profile.time_zone;
        self.approval_required = profile.approval_required;
        self.late_window_minutes = profile.late_window_minutes;
        self.publish_late = profile.publish_late;
        self.report_period = profile.report_period;
        self.updated_at = now;
    }

    pub fn policy(&self) -> PublishPolicy {
        PublishPolicy {
            late_window: jiff::SignedDuration::from_mins(i64::from(self.late_window_minutes)),
            publish_late: self.publish_late,
            ..PublishPolicy::default()
        }
    }

    pub fn profile(&self) -> BrandProfile {
        BrandProfile {
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            approval_required: self.approval_required,
            late_window_minutes: self.late_window_minutes,
            publish_late: self.publish_late,
            report_period: self.report_period,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let DomainError::Invalid(errors) =
            BrandProfile::parse("  ", "Nowhere/Land", true).unwrap_err()
        else {
            panic!("expected a validation error")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "time_zone"]);
    }

    #[test]
    fn names_are_trimmed() {
        let p = BrandProfile::parse("  Acme Coffee ", "Europe/Rome", false).unwrap();
        assert_eq!(p.name, "Acme Coffee");
    }
}
