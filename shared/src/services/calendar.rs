//! The editorial calendar: posts grouped by the brand's local day.

use jiff::ToSpan;
use jiff::civil::Date;

use crate::domain::time::parse_date;
use crate::domain::{Actor, Permission, Post, PostStatus, TimeZoneName, Validation};

use super::{Ports, ServiceError};

pub const MAX_DAYS: i32 = 93;
pub const MAX_POSTS: usize = 2_000;

pub struct CalendarDay {
    pub date: Date,
    pub posts: Vec<Post>,
}

pub struct Calendar {
    pub time_zone: TimeZoneName,
    pub from: Date,
    pub to: Date,
    pub days: Vec<CalendarDay>,
    /// True when the range held more than [`MAX_POSTS`] posts and only the first ones are shown.
    pub truncated: bool,
}

#[derive(Clone)]
pub struct CalendarService {
    ports: Ports,
}

impl CalendarService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Every day from `from` to `to` (inclusive, brand-local), each with its posts in time order.
    /// Cancelled posts are left out: the calendar shows what is planned.
    pub async fn range(
        &self,
        actor: &Actor,
        from: &str,
        to: &str,
    ) -> Result<Calendar, ServiceError> {
        actor.require(Permission::Read)?;
        let brand = self.ports.brand(actor).await?;
        let mut v = Validation::new();
        let from = v.check("from", parse_date(from));
        let to = v.check("to", parse_date(to));
        if let (Some(f), Some(t)) = (from, to) {
            let days = f.until(t).map(|s| s.get_days()).unwrap_or(i32::MAX);
            if t < f {
                v.add("to", "must not be before from");
            } else if days >= MAX_DAYS {
                v.add("to", format!("a calendar covers at most {MAX_DAYS} days"));
            }
        }
        v.finish()?;
        let (from, to) = (from.expect("checked"), to.expect("checked"));
        let zone = brand.time_zone;
        let (start, end) = zone
            .day_bounds(from, to)
            .map_err(ServiceError::BadRequest)?;
        let (posts, truncated) = self
            .ports
            .store
            .posts_between(&actor.brand, start, end, MAX_POSTS)
            .await?;
        let mut days: Vec<CalendarDay> = Vec::new();
        let mut day = from;
        while day <= to {
            days.push(CalendarDay {
                date: day,
                posts: Vec::new(),
            });
            day = day
                .checked_add(1.day())
                .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        }
        for post in posts
            .into_iter()
            .filter(|p| p.status() != PostStatus::Cancelled)
        {
            let Some(at) = post.publish_at else { continue };
            let date = zone.local_date(at);
            if let Some(slot) = days.iter_mut().find(|d| d.date == date) {
                slot.posts.push(post);
            }
        }
        Ok(Calendar {
            time_zone: zone,
            from,
            to,
            days,
            truncated,
        })
    }
}
