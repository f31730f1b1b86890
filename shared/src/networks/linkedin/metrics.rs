//! LinkedIn's statistics: a page post's share statistics, a member post's analytics (one query
//! per figure), and a page's followers.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::client::{Session, Step, parse};
use super::{LinkedinConnector, endpoint};
use crate::domain::{Counters, MetricsReading};
use crate::networks::{Account, PublishError, ReadMetrics};

/// Who posts: statistics come from different APIs for a page and for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthorKind {
    Organization,
    Member,
}

impl AuthorKind {
    fn of<'a>(account: &'a Account<'_>) -> Result<(Self, &'a str), PublishError> {
        let author = account.setting("author")?;
        if author.starts_with("urn:li:organization:") {
            Ok((Self::Organization, author))
        } else if author.starts_with("urn:li:person:") {
            Ok((Self::Member, author))
        } else {
            Err(PublishError::Misconfigured(format!(
                "the channel's settings.author ({author}) is neither an organization nor a person URN"
            )))
        }
    }
}

/// The two kinds of post URN a create answers with. Each statistics API names them its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PostKind {
    Share,
    UgcPost,
}

impl PostKind {
    fn of(urn: &str) -> Result<Self, PublishError> {
        if urn.starts_with("urn:li:share:") {
            Ok(Self::Share)
        } else if urn.starts_with("urn:li:ugcPost:") {
            Ok(Self::UgcPost)
        } else {
            Err(PublishError::InvalidContent(format!(
                "LinkedIn keeps statistics for share and ugcPost URNs; {urn} is neither"
            )))
        }
    }

    /// The list parameter of `organizationalEntityShareStatistics`, and the field naming the post
    /// in each of its elements.
    fn organization_list(self) -> (&'static str, &'static str) {
        match self {
            Self::Share => ("shares", "share"),
            Self::UgcPost => ("ugcPosts", "ugcPost"),
        }
    }

    /// The union member of `memberCreatorPostAnalytics`' `entity`.
    fn member_entity(self) -> &'static str {
        match self {
            Self::Share => "share",
            Self::UgcPost => "ugc",
        }
    }
}

/// What `memberCreatorPostAnalytics` counts, one query each: views, reach, reposts, likes,
/// replies, in the order `member_post_metrics` reads them.
const MEMBER_QUERIES: [&str; 5] = [
    "IMPRESSION",
    "MEMBERS_REACHED",
    "RESHARE",
    "REACTION",
    "COMMENT",
];

impl LinkedinConnector {
    /// Lifetime statistics of one organization post (`totalShareStatistics`; LinkedIn keeps them
    /// for posts of the last 12 months). No element for the post means not available yet.
    async fn organization_post_metrics(
        &self,
        session: &mut Session<'_>,
        organization: &str,
        urn: &str,
    ) -> Result<MetricsReading, PublishError> {
        let (list, field) = PostKind::of(urn)?.organization_list();
        // Rest.li 2.0 wants the URNs inside `List(...)` percent-encoded but the List syntax itself
        // left as is, which a query serializer would escape; so this query is written by hand.
        let url = format!(
            "{}?q=organizationalEntity&organizationalEntity={}&{list}=List({})",
            self.url(endpoint::SHARE_STATISTICS),
            urlencoding::encode(organization),
            urlencoding::encode(urn),
        );
        let response = session
            .send(Step::Metrics, |http| {
                http.get(&url).header("X-RestLi-Method", "FINDER")
            })
            .await?;
        let raw: Value = parse(response, Step::Metrics).await?;
        let elements = raw["elements"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let stats = elements
            .iter()
            .find(|e| e[field] == urn)
            .or(elements.first())
            .map(|e| &e["totalShareStatistics"]);
        let count = |name: &str| stats.and_then(|s| s.get(name)).and_then(Value::as_u64);
        Ok(MetricsReading {
            counters: Counters {
                likes: count("likeCount"),
                reposts: count("shareCount"),
                replies: count("commentCount"),
                views: count("impressionCount"),
                reach: count("uniqueImpressionsCount"),
                clicks: count("clickCount"),
                ..Counters::default()
            },
            raw,
        })
    }

    /// Lifetime statistics of one of the member's own posts: one query per figure. The API counts
    /// no clicks, quotes or saves in the version this connector speaks, so those stay not available.
    async fn member_post_metrics(
        &self,
        session: &mut Session<'_>,
        urn: &str,
    ) -> Result<MetricsReading, PublishError> {
        let entity = format!(
            "({}:{})",
            PostKind::of(urn)?.member_entity(),
            urlencoding::encode(urn)
        );
        let mut raw = serde_json::Map::new();
        let mut counts = [None; MEMBER_QUERIES.len()];
        for (query, count) in MEMBER_QUERIES.iter().zip(counts.iter_mut()) {
            let url = format!(
                "{}?q=entity&entity={entity}&queryType={query}&aggregation=TOTAL",
                self.url(endpoint::MEMBER_POST_ANALYTICS)
            );
            let response = session
                .send(Step::Metrics, |http| {
                    http.get(&url).header("X-RestLi-Method", "FINDER")
                })
                .await?;
            let answer: Value = parse(response, Step::Metrics).await?;
            *count = total_count(&answer);
            raw.insert((*query).to_owned(), answer);
        }
        let [views, reach, reposts, likes, replies] = counts;
        Ok(MetricsReading {
            counters: Counters {
                likes,
                reposts,
                replies,
                views,
                reach,
                ..Counters::default()
            },
            raw: Value::Object(raw),
        })
    }
}

/// The `count` of a `memberCreatorPostAnalytics` answer: one element with TOTAL aggregation (added
/// up should LinkedIn split it, stopping at `u64::MAX` rather than overflowing); none while the
/// post has no statistics yet.
fn total_count(answer: &Value) -> Option<u64> {
    let elements = answer["elements"].as_array().filter(|e| !e.is_empty())?;
    elements.iter().try_fold(0u64, |total, e| {
        Some(total.saturating_add(e["count"].as_u64()?))
    })
}

#[async_trait]
impl ReadMetrics for LinkedinConnector {
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let (kind, author) = AuthorKind::of(account)?;
        let mut session = Session::open(self, account).await?;
        match kind {
            AuthorKind::Organization => {
                self.organization_post_metrics(&mut session, author, remote_id)
                    .await
            }
            AuthorKind::Member => self.member_post_metrics(&mut session, remote_id).await,
        }
    }

    /// A page's followers (`networkSizes`, `firstDegreeSize`). A member's follower count is not
    /// in the APIs this connector is granted, so it is not available, with a note saying why.
    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let (kind, author) = AuthorKind::of(account)?;
        if kind == AuthorKind::Member {
            return Ok(MetricsReading {
                counters: Counters::default(),
                raw: json!({
                    "note": "LinkedIn reports followers for organization pages only; a member's followers are not available",
                }),
            });
        }
        let mut session = Session::open(self, account).await?;
        let url = self.url(&endpoint::network_size(author));
        let response = session
            .send(Step::Metrics, |http| {
                http.get(&url)
                    .query(&[("edgeType", "COMPANY_FOLLOWED_BY_MEMBER")])
            })
            .await?;
        let raw: Value = parse(response, Step::Metrics).await?;
        Ok(MetricsReading {
            counters: Counters {
                followers: raw["firstDegreeSize"].as_u64(),
                ..Counters::default()
            },
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_counts_add_up_and_stop_at_the_maximum() {
        let answer = serde_json::json!({"elements": [{"count": u64::MAX}, {"count": 5}]});
        assert_eq!(total_count(&answer), Some(u64::MAX));
        let answer = serde_json::json!({"elements": [{"count": 2}, {"count": 5}]});
        assert_eq!(total_count(&answer), Some(7));
        assert_eq!(total_count(&serde_json::json!({"elements": []})), None);
        assert_eq!(
            total_count(&serde_json::json!({"elements": [{"x": 1}]})),
            None
        );
    }

    #[test]
    fn each_statistics_api_names_a_post_its_own_way() {
        let ugc = PostKind::of("urn:li:ugcPost:7").unwrap();
        assert_eq!(ugc.organization_list(), ("ugcPosts", "ugcPost"));
        assert_eq!(ugc.member_entity(), "ugc");
        let share = PostKind::of("urn:li:share:7").unwrap();
        assert_eq!(share.organization_list(), ("shares", "share"));
        assert_eq!(share.member_entity(), "share");
        let other = PostKind::of("urn:li:comment:(urn:li:share:7,1)").unwrap_err();
        assert_eq!(other.kind(), "invalid_content");
    }

    #[test]
    fn a_member_analytics_count_is_absent_until_linkedin_has_one() {
        assert_eq!(total_count(&json!({"elements": []})), None);
        assert_eq!(total_count(&json!({})), None);
        assert_eq!(
            total_count(&json!({"elements": [{"count": 0, "metricType": "REACTION"}]})),
            Some(0),
            "a counted zero is a zero"
        );
        assert_eq!(
            total_count(&json!({"elements": [{"metricType": "REACTION"}]})),
            None
        );
    }
}
