//! The sandbox network's simulated audience: followers, and each post's figures growing with its
//! age, deterministically from a seed. The same seed and the same ages always give the same
//! figures, on every machine and release, so a demo, a frontend's screenshot test and a report
//! are reproducible.

use jiff::{SignedDuration, Timestamp};

use super::metrics::{Counters, PublicPost, PublicProfile};

/// How fast a post's audience arrives: at age `t` hours a post has `1 − e^(−t / 6)` of its final
/// reach: 15% in the first hour, 63% after 6 hours, 98% after a day, then flat.
const POST_TIME_CONSTANT_HOURS: f64 = 6.0;

/// The account's followers `age` after the channel was made: a few hundred to a few thousand to
/// start with, growing steadily by 0.2% to 1% of that a day.
pub fn followers(seed: &str, age: SignedDuration) -> u64 {
    let base = 800.0 + 4_200.0 * unit(seed, "followers");
    let daily = 0.002 + 0.008 * unit(seed, "growth");
    let days = (age.as_secs_f64() / 86_400.0).max(0.0);
    (base * (1.0 + daily * days)).floor() as u64
}

/// A post's lifetime counters at `age` after it was published, for an account that had
/// `followers` then. Each counter only grows: fast in the first hours, then flattening.
pub fn post_counters(seed: &str, post_key: &str, age: SignedDuration, followers: u64) -> Counters {
    let key = |what: &str| format!("{post_key}/{what}");
    let hours = (age.as_secs_f64() / 3_600.0).max(0.0);
    let progress = 1.0 - (-hours / POST_TIME_CONSTANT_HOURS).exp();
    // Final views: 30% to 150% of the followers (a post that travels, one that does not).
    let final_views = (followers as f64 * (0.3 + 1.2 * unit(seed, &key("views")))).max(50.0);
    let views = (final_views * progress).floor();
    let likes = (views * (0.02 + 0.06 * unit(seed, &key("likes")))).floor();
    let share = |what: &str, low: f64, spread: f64| {
        (likes * (low + spread * unit(seed, &key(what)))).floor() as u64
    };
    Counters {
        likes: Some(likes as u64),
        reposts: Some(share("reposts", 0.1, 0.2)),
        replies: Some(share("replies", 0.05, 0.1)),
        quotes: Some(share("quotes", 0.0, 0.05)),
        views: Some(views as u64),
        saves: Some(share("saves", 0.05, 0.1)),
        ..Counters::default()
    }
}

/// How many days of a sandbox competitor's posts its public profile shows.
const COMPETITOR_POST_DAYS: i64 = 20;

/// A competitor on the sandbox, as its public profile reads at `now`: followers grown since
/// `since` (when it was first watched), and about one post a day at a time fixed by its handle.
pub fn public_profile(handle: &str, since: Timestamp, now: Timestamp) -> PublicProfile {
    let followers_now = followers(handle, now.duration_since(since));
    let today = now.as_second().div_euclid(86_400);
    let mut recent_posts = Vec::new();
    for day in (today - COMPETITOR_POST_DAYS + 1..=today).rev() {
        let key = format!("day-{day}");
        // Most days one post, some none.
        if unit(handle, &format!("{key}/skip")) < 0.2 {
            continue;
        }
        let hour = 7 + (unit(handle, &format!("{key}/hour")) * 14.0) as i64;
        let Ok(created_at) = Timestamp::from_second(day * 86_400 + hour * 3_600) else {
            continue;
        };
        if created_at > now {
            continue;
        }
        recent_posts.push(PublicPost {
            id: format!("{handle}/{key}"),
            created_at,
            url: None,
            counters: post_counters(handle, &key, now.duration_since(created_at), followers_now),
        });
    }
    PublicProfile {
        counters: Counters {
            followers: Some(followers_now),
            ..Counters::default()
        },
        posts_count: None,
        recent_posts,
        raw: serde_json::json!({"simulated": true}),
    }
}

/// At most this many simulated people comment on one sandbox post (the inbox's share of its
/// `replies` figure: enough to try the inbox, not a flood).
pub const MAX_COMMENTS_PER_POST: u64 = 6;

/// The simulated people who comment on sandbox posts: a handle and a name.
const PEOPLE: [(&str, &str); 12] = [
    ("ada", "Ada Rossi"),
    ("bruno", "Bruno Costa"),
    ("chiara", "Chiara Neri"),
    ("dario", "Dario Gallo"),
    ("elena", "Elena Ferri"),
    ("fabio", "Fabio Villa"),
    ("giulia", "Giulia Conti"),
    ("hugo", "Hugo Martin"),
    ("irene", "Irene Lombardi"),
    ("jonas", "Jonas Berg"),
    ("kemal", "Kemal Aydın"),
    ("lea", "Léa Moreau"),
];

/// What they say: some praise, some questions that want an answer.
const LINES: [&str; 10] = [
    "Love this!",
    "Where can I buy it?",
    "Is it available in my country?",
    "Great news, congratulations to the team",
    "How much does it cost?",
    "My order hasn't arrived yet, can you help?",
    "This made my day 😊",
    "Do you ship to Switzerland?",
    "Any discount for students?",
    "Beautiful photo, who took it?",
];

/// A simulated comment on a sandbox post.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedComment {
    /// 1 for the first comment on the post, 2 for the next...
    pub index: u64,
    pub at: Timestamp,
    pub handle: &'static str,
    pub name: &'static str,
    pub followers: u64,
    pub text: &'static str,
}

/// The comments on a post published at `published_at` to `followers` that have arrived by
/// `now`, in order. They arrive as its audience does (most in the first hours): the `k`-th of
/// `n` when the post has reached `k / (n + 1)` of its audience.
pub fn comments(
    seed: &str,
    post_key: &str,
    published_at: Timestamp,
    followers: u64,
    now: Timestamp,
) -> Vec<SimulatedComment> {
    let lifetime = post_counters(
        seed,
        post_key,
        SignedDuration::from_hours(24 * 365),
        followers,
    );
    let n = lifetime.replies.unwrap_or(0).min(MAX_COMMENTS_PER_POST);
    let mut out = Vec::new();
    for k in 1..=n {
        let share = k as f64 / (n + 1) as f64;
        let hours = -POST_TIME_CONSTANT_HOURS * (1.0 - share).ln();
        let Ok(at) = published_at.checked_add(SignedDuration::from_secs_f64(hours * 3_600.0))
        else {
            continue;
        };
        if at > now {
            break;
        }
        let what = |x: &str| format!("{post_key}/comment-{k}/{x}");
        let (handle, name) = PEOPLE[(unit(seed, &what("who")) * PEOPLE.len() as f64) as usize];
        out.push(SimulatedComment {
            index: k,
            at,
            handle,
            name,
            followers: (20.0 + 2_000.0 * unit(seed, &what("followers")).powi(3)) as u64,
            text: LINES[(unit(seed, &what("line")) * LINES.len() as f64) as usize],
        });
    }
    out
}

/// A number in `[0, 1)` fixed by `seed` and `what`.
fn unit(seed: &str, what: &str) -> f64 {
    (mix(seed, what) >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a over `seed`, a separator and `what`, finished with SplitMix64. Written here rather
/// than taken from std because the figures must be the same on every release and platform
/// (std's hashers promise neither), and a demo must show the same report tomorrow.
fn mix(seed: &str, what: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes().chain([0xff]).chain(what.bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_arrive_with_the_audience_and_are_the_same_every_time() {
        let published: Timestamp = "2027-01-15T10:00:00Z".parse().unwrap();
        let at = |h: i64| published + SignedDuration::from_hours(h);
        let all = comments("acme", "p1", published, 3_000, at(24 * 30));
        assert!(!all.is_empty() && all.len() as u64 <= MAX_COMMENTS_PER_POST);
        assert_eq!(all, comments("acme", "p1", published, 3_000, at(24 * 30)));
        // none before the post, some within hours, all of them within days
        assert!(comments("acme", "p1", published, 3_000, published).is_empty());
        let early = comments("acme", "p1", published, 3_000, at(6));
        assert!(!early.is_empty() && early.len() <= all.len());
        assert_eq!(early[..], all[..early.len()], "the same comments, in order");
        assert!(all.windows(2).all(|w| w[0].at < w[1].at));
    }

    fn hours(h: i64) -> SignedDuration {
        SignedDuration::from_hours(h)
    }

    #[test]
    fn the_same_seed_gives_the_same_figures_and_another_seed_others() {
        let a = post_counters("acme", "p1", hours(5), 2_000);
        assert_eq!(a, post_counters("acme", "p1", hours(5), 2_000));
        assert_ne!(a, post_counters("other", "p1", hours(5), 2_000));
        assert_ne!(a, post_counters("acme", "p2", hours(5), 2_000));
        assert_eq!(followers("acme", hours(48)), followers("acme", hours(48)));
        assert_ne!(followers("acme", hours(48)), followers("other", hours(48)));
        // and the figures are pinned: a change of the simulation is a deliberate one
        assert_eq!(followers("demo", SignedDuration::ZERO), 3_697);
    }

    #[test]
    fn a_post_grows_fast_in_its_first_hours_then_flattens_and_never_falls() {
        let views = |h| post_counters("acme", "p1", hours(h), 2_000).views.unwrap();
        assert_eq!(views(0), 0);
        let (one, six, day, week) = (views(1), views(6), views(24), views(24 * 7));
        assert!(
            one > 0 && one < six && six < day && day <= week,
            "{one} {six} {day} {week}"
        );
        // most of the audience arrives on the first day
        assert!(day - six > week - day, "{six} {day} {week}");
        assert!(six * 10 > week * 5, "63% after six hours: {six} of {week}");
        let mut last = Counters::default();
        for h in 0..200 {
            let now = post_counters("acme", "p1", hours(h), 2_000);
            for name in ["likes", "reposts", "replies", "quotes", "views", "saves"] {
                assert!(now.get(name) >= last.get(name), "{name} fell at {h} h");
            }
            last = now;
        }
        assert!(last.likes.unwrap() > 0 && last.likes < last.views);
    }

    #[test]
    fn followers_grow_day_by_day() {
        let start = followers("acme", SignedDuration::ZERO);
        let month = followers("acme", hours(24 * 30));
        assert!((800..5_000).contains(&start), "{start}");
        assert!(month > start && month < start * 2, "{start} -> {month}");
    }

    #[test]
    fn a_sandbox_competitor_posts_most_days_and_reads_the_same_twice() {
        let since: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let now: Timestamp = "2027-01-21T12:00:00Z".parse().unwrap();
        let profile = public_profile("rival", since, now);
        assert_eq!(profile, public_profile("rival", since, now));
        let n = profile.recent_posts.len();
        assert!((10..=20).contains(&n), "{n} posts in 20 days");
        assert!(profile.recent_posts.iter().all(|p| p.created_at <= now));
        assert!(
            profile
                .recent_posts
                .windows(2)
                .all(|w| w[0].created_at > w[1].created_at),
            "newest first"
        );
        assert_ne!(profile, public_profile("another", since, now));
    }
}
