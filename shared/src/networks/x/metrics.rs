//! X's figures: a post's public metrics (and its link clicks while X still gives them) and the
//! account's followers.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use super::client::{Data, Problem, Session, Step, parse};
use super::{XConnector, endpoint};
use crate::domain::{Counters, MetricsReading};
use crate::networks::{Account, PublishError, ReadMetrics};

/// X gives non-public metrics (link clicks) only for posts younger than this.
const NON_PUBLIC_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);
/// The instant X's post ids count from (their top bits are milliseconds since it).
const X_EPOCH_MS: i64 = 1_288_834_974_657;

impl XConnector {
    /// One post with the given `tweet.fields`.
    async fn read_tweet(
        &self,
        session: &mut Session<'_>,
        id: &str,
        fields: &str,
    ) -> Result<Lookup, PublishError> {
        let response = session
            .send(Step::Read, |http| {
                http.get(self.url(&endpoint::tweet(id)))
                    .query(&[("tweet.fields", fields)])
            })
            .await?;
        parse::<Lookup>(response, Step::Read).await
    }
}

/// The answer to a post lookup. X answers a post it cannot show (deleted, protected, its
/// author suspended) with 200, no `data` and a problem in `errors`.
#[derive(Deserialize)]
struct Lookup {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<Problem>,
}

impl Lookup {
    fn into_tweet(self, id: &str) -> Result<Value, PublishError> {
        self.data.ok_or_else(|| {
            let said = self
                .errors
                .iter()
                .find_map(Problem::describe)
                .unwrap_or_else(|| "X returned no post".into());
            PublishError::InvalidContent(format!(
                "the X post {id} was deleted or is not visible to this account ({said}); its figures cannot be read any more"
            ))
        })
    }
}

/// When an X post was made, from its id: X ids start with the milliseconds since X's epoch.
fn posted_at(id: &str) -> Option<Timestamp> {
    let id: u64 = id.trim().parse().ok()?;
    let ms = i64::try_from(id >> 22).ok()?.checked_add(X_EPOCH_MS)?;
    Timestamp::from_millisecond(ms).ok()
}

/// A post's figures: `public_metrics` always, link clicks only from `non_public_metrics`.
fn tweet_counters(tweet: &Value) -> Counters {
    #[derive(Deserialize, Default)]
    struct PublicMetrics {
        like_count: Option<u64>,
        retweet_count: Option<u64>,
        reply_count: Option<u64>,
        quote_count: Option<u64>,
        impression_count: Option<u64>,
        bookmark_count: Option<u64>,
    }
    #[derive(Deserialize, Default)]
    struct NonPublicMetrics {
        url_link_clicks: Option<u64>,
    }
    let public: PublicMetrics = tweet
        .get("public_metrics")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_default();
    let private: NonPublicMetrics = tweet
        .get("non_public_metrics")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_default();
    Counters {
        likes: public.like_count,
        reposts: public.retweet_count,
        replies: public.reply_count,
        quotes: public.quote_count,
        views: public.impression_count,
        clicks: private.url_link_clicks,
        saves: public.bookmark_count,
        ..Counters::default()
    }
}

/// Notes a metrics read cannot show anyone (a renewed token that could not be saved) are logged.
fn log_notes(account: &Account<'_>, notes: Vec<String>) {
    for note in notes {
        tracing::warn!(channel = %account.channel.id, note, "while reading X metrics");
    }
}

#[async_trait]
impl ReadMetrics for XConnector {
    /// Public metrics always; link clicks too while X still gives them (the post's first 30
    /// days, its age read from its id), in the same call. A refusal of the non-public fields
    /// (an app or token not allowed them) falls back to the public ones alone.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let mut session = Session::open(self, account).await?;
        let recent = posted_at(remote_id)
            .is_some_and(|at| Timestamp::now().duration_since(at) < NON_PUBLIC_WINDOW);
        let mut lookup = None;
        if recent {
            match self
                .read_tweet(
                    &mut session,
                    remote_id,
                    "public_metrics,non_public_metrics,created_at",
                )
                .await
            {
                Ok(found) => lookup = Some(found),
                // 403 (AuthExpired) or another 4xx (InvalidContent) for the non-public fields.
                Err(PublishError::AuthExpired(_) | PublishError::InvalidContent(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let lookup = match lookup {
            Some(lookup) => lookup,
            None => {
                self.read_tweet(&mut session, remote_id, "public_metrics,created_at")
                    .await?
            }
        };
        let tweet = lookup.into_tweet(remote_id)?;
        log_notes(account, std::mem::take(&mut session.notes));
        Ok(MetricsReading {
            counters: tweet_counters(&tweet),
            raw: tweet,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let mut session = Session::open(self, account).await?;
        let response = session
            .send(Step::Read, |http| {
                http.get(self.url(endpoint::USERS_ME))
                    .query(&[("user.fields", "public_metrics")])
            })
            .await?;
        let me = parse::<Data<Value>>(response, Step::Read).await?.data;
        log_notes(account, std::mem::take(&mut session.notes));
        let followers = me
            .get("public_metrics")
            .and_then(|m| m.get("followers_count"))
            .and_then(Value::as_u64);
        Ok(MetricsReading {
            counters: Counters {
                followers,
                ..Counters::default()
            },
            raw: me,
        })
    }
}
