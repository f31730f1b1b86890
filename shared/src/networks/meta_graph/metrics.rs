//! Graph insights and counts: a metric absent from Graph's answer is not available, never 0.

use serde_json::Value;

use super::client::{Graph, GraphFailure};
use crate::domain::Secret;

/// A Graph insights answer: `{"data": [{"name", "period", "values": [{"value"}]}]}`, or a
/// `total_value: {"value"}` in place of `values` (Threads' user insights). Graph answers an EMPTY
/// `data` while insights are not ready (or a page is too small to have them): every metric is then
/// absent, never 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Insights {
    values: Vec<(String, u64)>,
    /// The answer exactly as Graph sent it.
    pub raw: Value,
}

impl Insights {
    pub fn parse(raw: Value) -> Self {
        let values = raw
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|metric| {
                let name = metric.get("name")?.as_str()?;
                // A lifetime metric has one value; of a periodic one, the latest is the current.
                let value = metric
                    .pointer("/total_value/value")
                    .or_else(|| metric.get("values")?.as_array()?.last()?.get("value"))?
                    .as_u64()?;
                Some((name.to_owned(), value))
            })
            .collect();
        Self { values, raw }
    }

    /// The metric's value, or `None` when Graph did not report it.
    pub fn get(&self, metric: &str) -> Option<u64> {
        self.values
            .iter()
            .find(|(name, _)| name == metric)
            .map(|(_, value)| *value)
    }
}

/// Reads `metrics` of `node` from its insights `edge` (`insights`, `threads_insights`).
pub async fn insights(
    graph: &Graph,
    token: &Secret,
    node: &str,
    edge: &str,
    metrics: &[&str],
) -> Result<Insights, GraphFailure> {
    let answer = graph
        .get(&[node, edge], token, &[("metric", metrics.join(","))])
        .await?;
    Ok(Insights::parse(answer))
}

/// A count at `pointer` in a Graph answer (e.g. `/reactions/summary/total_count`), or `None` when
/// the field is not there.
pub fn count_at(answer: &Value, pointer: &str) -> Option<u64> {
    answer.pointer(pointer)?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insights_read_lifetime_values_and_total_values_and_miss_nothing_as_zero() {
        let answer = serde_json::json!({"data": [
            {"name": "likes", "period": "lifetime", "values": [{"value": 7}], "title": "Likes", "id": "1/insights/likes/lifetime"},
            {"name": "followers_count", "period": "day", "total_value": {"value": 1200}, "id": "2/insights/followers_count/day"},
            {"name": "reactions_by_type", "period": "lifetime", "values": [{"value": {"like": 3}}]},
        ]});
        let insights = Insights::parse(answer.clone());
        assert_eq!(insights.get("likes"), Some(7));
        assert_eq!(insights.get("followers_count"), Some(1200));
        assert_eq!(insights.get("reactions_by_type"), None, "not a count");
        assert_eq!(insights.get("views"), None, "not reported");
        assert_eq!(insights.raw, answer);
        let not_ready = Insights::parse(serde_json::json!({"data": []}));
        assert_eq!(not_ready.get("likes"), None);
    }
}
