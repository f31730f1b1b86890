//! Response times and volumes of a period's interactions, as a brand reads them: first response
//! in business minutes (the brand's hours, holidays and zone), median and p90, the share
//! answered within the brand's target, the response rate (answered / needing an answer), the
//! backlog by age, the volume by hour of day, and the same per network, channel and assignee.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::business_hours::{BusinessHours, median, percentile, share_within};
use super::inbox::{Interaction, InteractionKind, InteractionState};

/// Whether an interaction asks for an answer: not one the brand ignored, and not a kind that
/// only informs (a quote shares the brand's post; it is not addressed to the brand).
pub fn needs_answer(i: &Interaction) -> bool {
    i.state != InteractionState::Ignored && i.kind != InteractionKind::Quote
}

/// The first response time of `i` in business minutes, once it has one.
pub fn first_response_minutes(
    i: &Interaction,
    hours: &BusinessHours,
    zone: &TimeZone,
) -> Option<i64> {
    let at = i.first_response_at?;
    Some(hours.business_minutes(zone, i.created_at, at))
}

/// When `minutes` business minutes will have passed since `from`: the moment a first response
/// becomes late. `None` when the hours never add up to it within a year.
pub fn deadline(
    hours: &BusinessHours,
    zone: &TimeZone,
    from: Timestamp,
    minutes: u32,
) -> Option<Timestamp> {
    let minutes = i64::from(minutes);
    let hi = from
        .checked_add(jiff::SignedDuration::from_hours(366 * 24))
        .ok()?;
    if hours.business_minutes(zone, from, hi) < minutes {
        return None;
    }
    // Business minutes only grow with the end of the span: the first second that reaches the
    // target, by bisection (about 25 evaluations).
    let (mut lo, mut hi) = (from.as_second(), hi.as_second());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let at = Timestamp::from_second(mid).ok()?;
        if hours.business_minutes(zone, from, at) >= minutes {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Timestamp::from_second(hi).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_skips_closed_hours() {
        let hours = BusinessHours::parse(&serde_json::json!({
            "weekly": {"mon": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]]}
        }))
        .unwrap();
        let zone = TimeZone::get("Europe/Rome").unwrap();
        // Friday 2027-01-15 17:30 Rome: 30 minutes left that day, 30 more on Monday from 09:00.
        let from: Timestamp = "2027-01-15T16:30:00Z".parse().unwrap();
        let due = deadline(&hours, &zone, from, 60).unwrap();
        assert_eq!(due, "2027-01-18T08:30:00Z".parse::<Timestamp>().unwrap());
        let always = deadline(&BusinessHours::always(), &zone, from, 60).unwrap();
        assert_eq!(always, from + jiff::SignedDuration::from_hours(1));
    }
}

/// Figures of a group of interactions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResponseFigures {
    pub interactions: usize,
    pub needing_answer: usize,
    pub answered: usize,
    /// answered / needing an answer (0 to 1); absent when nothing needed one.
    pub response_rate: Option<f64>,
    /// Median first response, business minutes.
    pub first_response_median_minutes: Option<f64>,
    /// 90th percentile (nearest rank), business minutes.
    pub first_response_p90_minutes: Option<f64>,
    /// Share of the answered ones answered within the target (0 to 1).
    pub within_target: Option<f64>,
}

/// A period's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InboxStats {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub target_minutes: u32,
    #[serde(flatten)]
    pub overall: ResponseFigures,
    /// Still waiting (new or open), by age now: `under_1h`, `1h_to_4h`, `4h_to_24h`, `over_24h`.
    pub backlog_by_age: BTreeMap<String, usize>,
    /// Interactions received per hour of the day, in the brand's zone (0 to 23).
    pub volume_by_hour: Vec<usize>,
    pub by_network: BTreeMap<String, ResponseFigures>,
    pub by_channel: BTreeMap<String, ResponseFigures>,
    /// Keyed by assignee; `unassigned` for the others.
    pub by_assignee: BTreeMap<String, ResponseFigures>,
}

/// The response figures of `group`, answered at any time before now.
pub fn response_figures<'a>(
    group: impl Iterator<Item = &'a Interaction>,
    hours: &BusinessHours,
    zone: &TimeZone,
    target: u32,
) -> ResponseFigures {
    let mut f = ResponseFigures::default();
    let mut times = Vec::new();
    for i in group {
        f.interactions += 1;
        if !needs_answer(i) {
            continue;
        }
        f.needing_answer += 1;
        if let Some(m) = first_response_minutes(i, hours, zone) {
            f.answered += 1;
            times.push(m);
        }
    }
    f.response_rate = (f.needing_answer > 0).then(|| f.answered as f64 / f.needing_answer as f64);
    f.first_response_median_minutes = median(&mut times.clone());
    f.first_response_p90_minutes = percentile(&mut times.clone(), 90);
    f.within_target = share_within(&times, i64::from(target));
    f
}

/// The figures of `interactions` (those created in the period), at `now`.
pub fn inbox_stats(
    interactions: &[Interaction],
    hours: &BusinessHours,
    zone: &TimeZone,
    target: u32,
    now: Timestamp,
) -> InboxStats {
    let mut stats = InboxStats {
        target_minutes: target,
        overall: response_figures(interactions.iter(), hours, zone, target),
        volume_by_hour: vec![0; 24],
        ..InboxStats::default()
    };
    for bucket in ["under_1h", "1h_to_4h", "4h_to_24h", "over_24h"] {
        stats.backlog_by_age.insert(bucket.into(), 0);
    }
    let mut networks: BTreeMap<String, Vec<&Interaction>> = BTreeMap::new();
    let mut channels: BTreeMap<String, Vec<&Interaction>> = BTreeMap::new();
    let mut assignees: BTreeMap<String, Vec<&Interaction>> = BTreeMap::new();
    for i in interactions {
        let hour = i.created_at.to_zoned(zone.clone()).hour();
        stats.volume_by_hour[hour as usize] += 1;
        if i.state.is_open() {
            let age = now.duration_since(i.created_at).as_hours();
            let bucket = match age {
                ..1 => "under_1h",
                1..4 => "1h_to_4h",
                4..24 => "4h_to_24h",
                _ => "over_24h",
            };
            *stats.backlog_by_age.entry(bucket.into()).or_default() += 1;
        }
        networks
            .entry(i.network.as_str().into())
            .or_default()
            .push(i);
        channels.entry(i.channel.to_string()).or_default().push(i);
        assignees
            .entry(i.assignee.clone().unwrap_or_else(|| "unassigned".into()))
            .or_default()
            .push(i);
    }
    let group = |g: BTreeMap<String, Vec<&Interaction>>| {
        g.into_iter()
            .map(|(k, v)| (k, response_figures(v.into_iter(), hours, zone, target)))
            .collect()
    };
    stats.by_network = group(networks);
    stats.by_channel = group(channels);
    stats.by_assignee = group(assignees);
    stats
}
