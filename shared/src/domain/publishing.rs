//! The publishing state machine of a post's targets, as pure rules:
//! pending -> publishing (claimed with an attempt id and a lease) -> published | failed | unknown.
//! An expired lease or an unknown outcome is never retried blindly: the next claim carries
//! `verify_first`, and the attempt reads back on the network before posting.

use jiff::{SignedDuration, Timestamp};

use super::ChannelId;
use super::post::{Failure, MISSED, Post, TargetState, Workflow};

/// Back-off after a transient failure: the n-th retry waits `BACKOFF[n - 1]`; after the last one
/// the target fails.
pub const BACKOFF: [SignedDuration; 4] = [
    SignedDuration::from_mins(1),
    SignedDuration::from_mins(5),
    SignedDuration::from_mins(30),
    SignedDuration::from_hours(2),
];

/// After this many attempts in a row lose their lease (the worker crashed or ran out of time
/// before recording anything), the next attempt only reads back: it never publishes.
pub const MAX_LOST_LEASES: u32 = 3;

/// How long one attempt may talk to the network (read back, upload, publish, its thread). The
/// publisher cancels an attempt that takes longer and records its outcome as unknown (read back
/// before any retry), so an attempt always ends inside its lease and inside the function's own
/// time limit (`template.yaml`'s publisher `Timeout`, checked against this in the template tests).
pub const ATTEMPT_TIME_LIMIT: SignedDuration = SignedDuration::from_secs(140);

/// How publishing treats time, per brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishPolicy {
    /// How late a first attempt may start before the target is `missed` instead.
    pub late_window: SignedDuration,
    /// Publish anyway when late (no `missed`).
    pub publish_late: bool,
    /// How long one attempt holds its claim. The publisher's own time limit must be shorter.
    pub lease: SignedDuration,
}

impl Default for PublishPolicy {
    fn default() -> Self {
        Self {
            late_window: SignedDuration::from_mins(15),
            publish_late: false,
            lease: SignedDuration::from_mins(5),
        }
    }
}

/// One target claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub channel_id: ChannelId,
    pub attempt_id: String,
    pub verify_first: bool,
    /// Only read back; never publish (see [`MAX_LOST_LEASES`]).
    pub check_only: bool,
}

/// What an attempt ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published {
        remote_id: String,
        url: Option<String>,
        notes: Vec<String>,
    },
    /// `retry_at` is the network's own reset time, when it gave one.
    Failed {
        failure: Failure,
        retry_at: Option<Timestamp>,
    },
    Unknown {
        message: String,
    },
}

impl Outcome {
    /// The outcome with every text a network may have written cut to the stored length.
    fn capped(self) -> Self {
        use super::error::cap_reason;
        match self {
            Self::Published {
                remote_id,
                url,
                notes,
            } => Self::Published {
                remote_id,
                url,
                notes: notes.into_iter().map(cap_reason).collect(),
            },
            Self::Failed { failure, retry_at } => Self::Failed {
                failure: Failure {
                    message: cap_reason(failure.message),
                    ..failure
                },
                retry_at,
            },
            Self::Unknown { message } => Self::Unknown {
                message: cap_reason(message),
            },
        }
    }
}

/// Why a target whose attempts kept losing their lease was given up, in plain words;
/// `not_posted` when a final read-back found no post on the network.
pub fn lost_lease_failure(lost: u32, not_posted: bool) -> Failure {
    let stopped = format!(
        "the publisher stopped {lost} times in a row while publishing this (it crashed or ran out of time)"
    );
    Failure {
        kind: LOST_LEASE.into(),
        retryable: false,
        message: if not_posted {
            format!(
                "{stopped}; the post is not on the network and was not tried again: publish it again when ready"
            )
        } else {
            format!(
                "{stopped}, and whether the post was made could not be checked: look at the account, then publish it again if it is not there"
            )
        },
    }
}

/// The failure kind of a target given up after its attempts kept losing their lease.
pub const LOST_LEASE: &str = "lost_lease";

/// The attempt no longer holds the claim (a duplicate delivery, or its lease ran out and another
/// attempt took over): it must not record anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the attempt no longer holds its claim on this target")]
pub struct StaleAttempt;

impl Post {
    /// When this post next needs the publisher: its earliest due target, or `None`.
    pub fn next_due(&self) -> Option<Timestamp> {
        if self.workflow != Workflow::Scheduled {
            return None;
        }
        let publish_at = self.publish_at?;
        self.targets
            .iter()
            .filter_map(|t| match &t.state {
                TargetState::Pending { retry_at, .. } => {
                    Some(retry_at.map_or(publish_at, |r| r.max(publish_at)))
                }
                TargetState::Publishing { lease_until, .. } => Some(*lease_until),
                TargetState::Unknown { check_at, .. } => Some(*check_at),
                TargetState::Published { .. } | TargetState::Failed { .. } => None,
            })
            .min()
    }

    /// Claims every target due at `now`. A first attempt later than the brand's window fails as
    /// missed (unless the brand publishes late). Returns the claims to carry out.
    pub fn claim_due(
        &mut self,
        now: Timestamp,
        policy: &PublishPolicy,
        mut attempt_id: impl FnMut() -> String,
    ) -> Vec<Claim> {
        let mut claims = Vec::new();
        if self.workflow != Workflow::Scheduled {
            return claims;
        }
        let Some(publish_at) = self.publish_at else {
            return claims;
        };
        let lease_until = now.checked_add(policy.lease).unwrap_or(now);
        for target in &mut self.targets {
            let (attempts, verify_first, lost_leases, check_only) = match &target.state {
                TargetState::Pending {
                    attempts, retry_at, ..
                } => {
                    if retry_at.map_or(publish_at, |r| r.max(publish_at)) > now {
                        continue;
                    }
                    let late = now.duration_since(publish_at) > policy.late_window;
                    if *attempts == 0 && late && !policy.publish_late {
                        let local = self
                            .time_zone
                            .local(publish_at)
                            .strftime("%Y-%m-%d %H:%M %Z");
                        target.state = TargetState::Failed {
                            failure: Failure {
                                kind: MISSED.into(),
                                retryable: false,
                                message: format!(
                                    "not published: it was due at {local} and the publisher only got to it {} minutes later, past the brand's {}-minute window",
                                    now.duration_since(publish_at).as_mins(),
                                    policy.late_window.as_mins()
                                ),
                            },
                            attempts: 0,
                        };
                        continue;
                    }
                    (*attempts, false, 0, false)
                }
                // The attempt holding the lease died or hung: it may have posted.
                TargetState::Publishing {
                    lease_until,
                    attempts,
                    lost_leases,
                    check_only,
                    ..
                } if *lease_until <= now => {
                    let lost = lost_leases + 1;
                    if *check_only {
                        // Even the check did not come back: stop here, in plain words.
                        target.state = TargetState::Failed {
                            failure: lost_lease_failure(lost, false),
                            attempts: *attempts,
                        };
                        continue;
                    }
                    let give_up = lost >= MAX_LOST_LEASES || *attempts > BACKOFF.len() as u32;
                    (*attempts, true, lost, give_up)
                }
                TargetState::Unknown {
                    check_at, attempts, ..
                } if *check_at <= now => (*attempts, true, 0, false),
                _ => continue,
            };
            let channel_id = target.channel_id;
            let id = attempt_id();
            target.first_attempt_at.get_or_insert(now);
            target.state = TargetState::Publishing {
                attempt_id: id.clone(),
                lease_until,
                attempts: attempts + 1,
                verify_first,
                lost_leases,
                check_only,
            };
            claims.push(Claim {
                channel_id,
                attempt_id: id,
                verify_first,
                check_only,
            });
        }
        claims
    }

    /// Records what attempt `attempt_id` on `channel` ended with.
    pub fn record(
        &mut self,
        channel: &ChannelId,
        attempt_id: &str,
        outcome: Outcome,
        now: Timestamp,
    ) -> Result<(), StaleAttempt> {
        let target = self
            .targets
            .iter_mut()
            .find(|t| t.channel_id == *channel)
            .ok_or(StaleAttempt)?;
        let attempts = match &target.state {
            TargetState::Publishing {
                attempt_id: held,
                attempts,
                ..
            } if held == attempt_id => *attempts,
            _ => return Err(StaleAttempt),
        };
        target.state = match outcome.capped() {
            Outcome::Published {
                remote_id,
                url,
                notes,
            } => TargetState::Published {
                remote_id,
                url,
                published_at: now,
                notes,
            },
            Outcome::Unknown { message } => {
                let retries_used = attempts.saturating_sub(1) as usize;
                match BACKOFF.get(retries_used) {
                    // Not at once: a network may still be processing what it received, and a
                    // read-back that comes too early would miss it and post a duplicate.
                    Some(wait) => TargetState::Unknown {
                        check_at: now.checked_add(*wait).unwrap_or(now),
                        attempts,
                        message,
                    },
                    None => TargetState::Failed {
                        failure: Failure {
                            kind: "unknown_outcome".into(),
                            retryable: false,
                            message: format!(
                                "{message}; after {attempts} attempts it is still not known whether the post was made: check the account before publishing it again"
                            ),
                        },
                        attempts,
                    },
                }
            }
            Outcome::Failed { failure, retry_at } => {
                let retries_used = attempts.saturating_sub(1) as usize;
                if failure.retryable && retries_used < BACKOFF.len() {
                    let backoff = now.checked_add(BACKOFF[retries_used]).unwrap_or(now);
                    TargetState::Pending {
                        attempts,
                        retry_at: Some(retry_at.map_or(backoff, |r| r.max(now))),
                        last_error: Some(failure),
                    }
                } else {
                    let failure = if failure.retryable {
                        Failure {
                            message: format!(
                                "{} (gave up after {attempts} attempts)",
                                failure.message
                            ),
                            retryable: false,
                            ..failure
                        }
                    } else {
                        failure
                    };
                    TargetState::Failed { failure, attempts }
                }
            }
        };
        Ok(())
    }

    /// Whether the post reached a final status (published, partially published, failed, missed).
    pub fn is_settled(&self) -> bool {
        self.workflow == Workflow::Scheduled
            && self.targets.iter().all(|t| {
                matches!(
                    t.state,
                    TargetState::Published { .. } | TargetState::Failed { .. }
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::post::{Context, PostInput};
    use crate::domain::{PostDraft, PostStatus, TimeZoneName};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn scheduled(channels: usize, publish_at: &str) -> (Post, Vec<ChannelId>) {
        let ids: Vec<ChannelId> = (0..channels).map(|_| ChannelId::new()).collect();
        let draft = PostDraft::parse(PostInput {
            text: "hi".into(),
            channels: ids.iter().map(ToString::to_string).collect(),
            publish_at: Some(publish_at.into()),
            ..Default::default()
        })
        .unwrap();
        let ctx = Context {
            actor: "a",
            now: at("2027-01-01T00:00:00Z"),
            approval_required: false,
        };
        let mut post = Post::create(draft, TimeZoneName::parse("Europe/Rome").unwrap(), &ctx);
        post.schedule(None, &ctx).unwrap();
        (post, ids)
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("attempt-{n}")
        }
    }

    fn transient() -> Outcome {
        Outcome::Failed {
            failure: Failure {
                kind: "transient".into(),
                retryable: true,
                message: "503".into(),
            },
            retry_at: None,
        }
    }

    #[test]
    fn nothing_is_claimed_before_its_time_and_everything_at_it() {
        let (mut post, _) = scheduled(2, "2027-02-01T09:00:00Z");
        let policy = PublishPolicy::default();
        assert_eq!(post.next_due(), Some(at("2027-02-01T09:00:00Z")));
        assert!(
            post.claim_due(at("2027-02-01T08:59:59Z"), &policy, ids())
                .is_empty()
        );
        let claims = post.claim_due(at("2027-02-01T09:00:10Z"), &policy, ids());
        assert_eq!(claims.len(), 2);
        assert!(claims.iter().all(|c| !c.verify_first));
        // Claimed targets are due again only when their lease runs out.
        assert_eq!(post.next_due(), Some(at("2027-02-01T09:05:10Z")));
        assert!(
            post.claim_due(at("2027-02-01T09:01:00Z"), &policy, ids())
                .is_empty(),
            "a second tick claims nothing"
        );
        assert_eq!(post.status(), PostStatus::Publishing);
    }

    #[test]
    fn an_expired_lease_is_reclaimed_with_a_read_back_first() {
        let (mut post, _) = scheduled(1, "2027-02-01T09:00:00Z");
        let policy = PublishPolicy::default();
        let first = post
            .claim_due(at("2027-02-01T09:00:00Z"), &policy, ids())
            .remove(0);
        let second = post
            .claim_due(at("2027-02-01T09:05:00Z"), &policy, || "late".into())
            .remove(0);
        assert!(second.verify_first);
        // The dead attempt can no longer record anything.
        let published = Outcome::Published {
            remote_id: "1".into(),
            url: None,
            notes: vec![],
        };
        assert_eq!(
            post.record(
                &first.channel_id,
                &first.attempt_id,
                published.clone(),
                at("2027-02-01T09:06:00Z")
            ),
            Err(StaleAttempt)
        );
        post.record(
            &second.channel_id,
            "late",
            published,
            at("2027-02-01T09:06:00Z"),
        )
        .unwrap();
        assert_eq!(post.status(), PostStatus::Published);
        assert!(post.is_settled());
        assert_eq!(post.next_due(), None);
    }

    #[test]
    fn lost_leases_end_in_a_check_then_a_plain_failure() {
        let (mut post, _) = scheduled(1, "2027-02-01T09:00:00Z");
        let policy = PublishPolicy::default();
        let mut now = at("2027-02-01T09:00:00Z");
        // Workers that take the target and die before recording anything.
        let mut claims = Vec::new();
        for _ in 0..MAX_LOST_LEASES {
            claims.push(post.claim_due(now, &policy, ids()).remove(0));
            now = now.checked_add(policy.lease).unwrap();
        }
        assert!(!claims[0].verify_first && !claims[0].check_only);
        assert!(claims[1..].iter().all(|c| c.verify_first && !c.check_only));
        // The next one only looks for the post.
        let check = post.claim_due(now, &policy, ids()).remove(0);
        assert!(check.verify_first && check.check_only, "{check:?}");
        // And when even that one is lost, the target fails instead of being retaken forever.
        now = now.checked_add(policy.lease).unwrap();
        assert!(post.claim_due(now, &policy, ids()).is_empty());
        let TargetState::Failed { failure, attempts } = &post.targets[0].state else {
            panic!("{:?}", post.targets[0].state)
        };
        assert_eq!(failure.kind, LOST_LEASE);
        assert!(!failure.retryable);
        assert!(
            failure.message.contains("stopped 4 times in a row"),
            "{}",
            failure.message
        );
        assert_eq!(*attempts, MAX_LOST_LEASES + 1);
        assert!(post.is_settled());
        assert_eq!(post.next_due(), None);
    }

    #[test]
    fn a_lost_lease_between_recorded_failures_still_counts() {
        let (mut post, ch) = scheduled(1, "2027-02-01T09:00:00Z");
        let policy = PublishPolicy::default();
        let mut now = at("2027-02-01T09:00:00Z");
        // Every retry used up by transient failures, then one worker dies: no more publishing.
        for _ in 0..=BACKOFF.len() - 1 {
            let claim = post.claim_due(now, &policy, ids()).remove(0);
            post.record(&ch[0], &claim.attempt_id, transient(), now)
                .unwrap();
            now = post.next_due().unwrap();
        }
        let _dies = post.claim_due(now, &policy, ids()).remove(0);
        now = now.checked_add(policy.lease).unwrap();
        let check = post.claim_due(now, &policy, ids()).remove(0);
        assert!(check.check_only, "{check:?}");
    }

    #[test]
    fn transient_failures_back_off_then_give_up() {
        let (mut post, ch) = scheduled(1, "2027-02-01T09:00:00Z");
        let policy = PublishPolicy::default();
        let mut now = at("2027-02-01T09:00:00Z");
        let waits = [1, 5, 30, 120];
        for wait in waits {
            let claim = post.claim_due(now, &policy, ids()).remove(0);
            post.record(&ch[0], &claim.attempt_id, transient(), now)
                .unwrap();
            let due = post.next_due().unwrap();
            assert_eq!(due.duration_since(now).as_mins(), wait);
            assert_eq!(post.status(), PostStatus::Publishing);
            now = due;
        }
        let claim = post.claim_due(now, &policy, ids()).remove(0);
        post.record(&ch[0], &claim.attempt_id, transient(), now)
            .unwrap();
        let TargetState::Failed { failure, attempts } = &post.targets[0].state else {
            panic!("{:?}", post.targets[0].state)
        };
        assert_eq!((*attempts, failure.retryable), (5, false));
        assert!(failure.message.contains("gave up after 5 attempts"));
        assert_eq!(post.status(), PostStatus::Failed);
    }

    #[test]
    fn a_rate_limit_waits_for_the_networks_reset() {
        let (mut post, ch) = scheduled(1, "2027-02-01T09:00:00Z");
        let now = at("2027-02-01T09:00:00Z");
        let claim = post
            .claim_due(now, &PublishPolicy::default(), ids())
            .remove(0);
        let limited = Outcome::Failed {
            failure: Failure {
                kind: "rate_limited".into(),
                retryable: true,
                message: "slow down".into(),
            },
            retry_at: Some(at("2027-02-01T09:17:00Z")),
        };
        post.record(&ch[0], &claim.attempt_id, limited, now)
            .unwrap();
        assert_eq!(post.next_due(), Some(at("2027-02-01T09:17:00Z")));
    }

    #[test]
    fn an_unknown_outcome_is_read_back_on_the_next_claim() {
        let (mut post, ch) = scheduled(1, "2027-02-01T09:00:00Z");
        let now = at("2027-02-01T09:00:00Z");
        let policy = PublishPolicy::default();
        let claim = post.claim_due(now, &policy, ids()).remove(0);
        post.record(
            &ch[0],
            &claim.attempt_id,
            Outcome::Unknown {
                message: "timeout".into(),
            },
            now,
        )
        .unwrap();
        let check_at = at("2027-02-01T09:01:00Z");
        assert_eq!(post.next_due(), Some(check_at));
        assert!(
            post.claim_due(now, &policy, ids()).is_empty(),
            "not read back at once"
        );
        let again = post.claim_due(check_at, &policy, ids()).remove(0);
        assert!(again.verify_first);
        assert_eq!(post.targets[0].first_attempt_at, Some(now));
    }

    #[test]
    fn a_late_first_attempt_is_missed_unless_the_brand_publishes_late() {
        let (mut post, _) = scheduled(1, "2027-02-01T09:00:00Z");
        let late = at("2027-02-01T09:16:00Z");
        assert!(
            post.claim_due(late, &PublishPolicy::default(), ids())
                .is_empty()
        );
        assert_eq!(post.status(), PostStatus::Missed);
        let TargetState::Failed { failure, .. } = &post.targets[0].state else {
            panic!()
        };
        assert!(
            failure.message.contains("2027-02-01 10:00 CET"),
            "{}",
            failure.message
        );

        let (mut post, _) = scheduled(1, "2027-02-01T09:00:00Z");
        let policy = PublishPolicy {
            publish_late: true,
            ..PublishPolicy::default()
        };
        assert_eq!(post.claim_due(late, &policy, ids()).len(), 1);
    }

    #[test]
    fn drafts_are_never_due() {
        let (mut post, _) = scheduled(1, "2027-02-01T09:00:00Z");
        post.workflow = Workflow::Draft;
        assert_eq!(post.next_due(), None);
        assert!(
            post.claim_due(at("2027-02-01T09:00:00Z"), &PublishPolicy::default(), ids())
                .is_empty()
        );
    }
}
