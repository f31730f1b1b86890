//! The [`ItemStore`] on DynamoDB: one table, attribute and index names from [`keys::table`], and
//! every condition evaluated by DynamoDB itself so concurrent Lambda invocations stay consistent.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};

use crate::store::keys::table;
use crate::store::{
    Condition, Index, IndexKey, Item, ItemStore, KeyRange, MAX_WRITES_PER_CALL, Page, Query,
    StartAfter, StoreError, Write,
};

type Attributes = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// `client` is built once per process (in `main`) and shared by every request.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn write_one(&self, write: Write) -> Result<(), StoreError> {
        match write {
            Write::Put { item, condition } => {
                let expression = ConditionExpression::of(condition);
                let attributes = item_to_attributes(&item)?;
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(attributes.clone()))
                    .set_condition_expression(expression.expression)
                    .set_expression_attribute_names(expression.names)
                    .set_expression_attribute_values(expression.values)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    // The SDK retries a request whose answer was lost; if the first try had in
                    // fact been written, the retry fails its own condition. The item then holds
                    // exactly what we wrote: that is our success, not someone else's change.
                    Err(SdkError::ServiceError(ref e))
                        if matches!(
                            e.err(),
                            PutItemError::ConditionalCheckFailedException(c)
                                if c.item() == Some(&attributes)
                        ) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(single_write_error(e, |s| {
                        s.is_conditional_check_failed_exception()
                    })),
                }
            }
            Write::Delete { pk, sk, condition } => {
                let expression = ConditionExpression::of(condition);
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk)))
                    .set_condition_expression(expression.expression)
                    .set_expression_attribute_names(expression.names)
                    .set_expression_attribute_values(expression.values)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| {
                        single_write_error(e, |s| s.is_conditional_check_failed_exception())
                    })
            }
        }
    }

    async fn write_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(writes.len());
        for write in writes {
            let item = match write {
                Write::Put { item, condition } => {
                    let expression = ConditionExpression::of(condition);
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item_to_attributes(&item)?))
                        .set_condition_expression(expression.expression)
                        .set_expression_attribute_names(expression.names)
                        .set_expression_attribute_values(expression.values)
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().put(put).build()
                }
                Write::Delete { pk, sk, condition } => {
                    let expression = ConditionExpression::of(condition);
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(&pk, &sk)))
                        .set_condition_expression(expression.expression)
                        .set_expression_attribute_names(expression.names)
                        .set_expression_attribute_values(expression.values)
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().delete(delete).build()
                }
            };
            items.push(item);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(drop)
            .map_err(|e| {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    e.as_service_error()
                {
                    let reasons = cancelled.cancellation_reasons();
                    if let Some(index) = conflict_index(reasons) {
                        return StoreError::Conflict { index };
                    }
                    // Cancelled for another reason (e.g. a concurrent transaction on one of the
                    // items): worth retrying later, so not the caller's conflict to resolve.
                    return StoreError::Unavailable(format!(
                        "the transaction was cancelled: {}",
                        describe_reasons(reasons)
                    ));
                }
                sdk_error(e)
            })
    }
}

#[async_trait]
impl ItemStore for DynamoStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            // Optimistic concurrency needs the latest version, not an eventually consistent one.
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        output.item.map(item_from_attributes).transpose()
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        if query.limit == 0 {
            return Err(StoreError::Invalid(
                "a query must ask for at least one item".into(),
            ));
        }
        let index = query.index.as_ref().map(|(index, partition)| {
            let (name, pk, sk) = table::index(*index);
            (*index, name, partition.as_str(), pk, sk)
        });
        let (pk_attr, sk_attr, partition) = match index {
            Some((_, _, partition, pk, sk)) => (pk, sk, partition),
            None => (table::PK, table::SK, query.pk.as_str()),
        };

        let start = match &query.after {
            None => None,
            Some(after) => {
                let position = if index.is_some() {
                    after.index_sk.as_deref().ok_or_else(|| {
                        StoreError::Invalid(
                            "an index query must start after an index sort key".into(),
                        )
                    })?
                } else {
                    after.sk.as_str()
                };
                match start_position(&query.range, position, query.descending) {
                    StartPosition::Beginning => None,
                    StartPosition::After => Some(after),
                    StartPosition::PastTheEnd => return Ok(empty_page()),
                }
            }
        };
        if let KeyRange::Between(low, high) = &query.range
            && low > high
        {
            // DynamoDB rejects an inverted BETWEEN; as a key range it is simply empty.
            return Ok(empty_page());
        }

        let mut names = HashMap::from([
            ("#pk".to_owned(), pk_attr.to_owned()),
            ("#sk".to_owned(), sk_attr.to_owned()),
        ]);
        let mut values = HashMap::from([(":pk".to_owned(), s(partition))]);
        let key_condition = match &query.range {
            // DynamoDB rejects an empty string value, and an empty prefix selects the whole partition.
            KeyRange::Prefix(prefix) if prefix.is_empty() => {
                names.remove("#sk");
                "#pk = :pk"
            }
            KeyRange::Prefix(prefix) => {
                values.insert(":p".into(), s(prefix));
                "#pk = :pk AND begins_with(#sk, :p)"
            }
            // DynamoDB refuses an empty string in a key condition, and every key is at least
            // the empty string: "from the start" (the due index's lower bound) is just `<=`.
            KeyRange::Between(low, high) if low.is_empty() => {
                values.insert(":b".into(), s(high));
                "#pk = :pk AND #sk <= :b"
            }
            KeyRange::Between(low, high) => {
                values.insert(":a".into(), s(low));
                values.insert(":b".into(), s(high));
                "#pk = :pk AND #sk BETWEEN :a AND :b"
            }
        };

        let exclusive_start_key = start.map(|after| {
            let mut start_key = key(&query.pk, &after.sk);
            if let Some((_, _, partition, pk, sk)) = index {
                start_key.insert(pk.to_owned(), s(partition));
                // Checked above: an index query without an index sort key was rejected.
                start_key.insert(sk.to_owned(), s(after.index_sk.as_deref().unwrap_or("")));
            }
            start_key
        });

        // One item more than asked for tells whether another page exists, so the last page of a
        // listing does not come with a cursor to an empty one.
        let limit = i32::try_from(query.limit.saturating_add(1)).unwrap_or(i32::MAX);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(|(_, name, ..)| name.to_owned()))
            // Global secondary indexes only offer eventually consistent reads.
            .consistent_read(index.is_none())
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!query.descending)
            .limit(limit)
            .set_exclusive_start_key(exclusive_start_key)
            .send()
            .await
            .map_err(sdk_error)?;

        let mut items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(item_from_attributes)
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > query.limit || output.last_evaluated_key.is_some();
        items.truncate(query.limit);
        let next = match items.last() {
            Some(last) if more => Some(start_after(last, index.map(|(i, ..)| i))),
            Some(_) => None,
            // DynamoDB stopped (its 1 MB page size) before finding any item: go on from where it stopped.
            None => output
                .last_evaluated_key
                .as_ref()
                .map(|last| start_after_key(last, index.map(|(_, _, _, _, sk)| sk)))
                .transpose()?,
        };
        Ok(Page { items, next })
    }

    async fn write(&self, mut writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.len() > MAX_WRITES_PER_CALL {
            return Err(StoreError::Invalid(format!(
                "{} writes in one call; at most {MAX_WRITES_PER_CALL} can be atomic",
                writes.len()
            )));
        }
        // DynamoDB refuses two operations on one item in a transaction; say which ones.
        let mut seen = HashSet::new();
        for write in &writes {
            if !seen.insert(write.key()) {
                let (pk, sk) = write.key();
                return Err(StoreError::Invalid(format!(
                    "the item {pk} {sk} is written twice in one call"
                )));
            }
        }
        match writes.len() {
            0 => Ok(()),
            1 => self.write_one(writes.remove(0)).await,
            _ => self.write_many(writes).await,
        }
    }
}

/// A write's condition as DynamoDB expression parts (all `None` for [`Condition::Any`]).
struct ConditionExpression {
    expression: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Attributes>,
}

impl ConditionExpression {
    fn of(condition: Condition) -> Self {
        match condition {
            Condition::Any => Self {
                expression: None,
                names: None,
                values: None,
            },
            Condition::Absent => Self {
                expression: Some("attribute_not_exists(#pk)".into()),
                names: Some(HashMap::from([("#pk".into(), table::PK.into())])),
                values: None,
            },
            // Also false when the item is missing: a missing attribute equals nothing.
            Condition::Version(version) => Self {
                expression: Some("#v = :v".into()),
                names: Some(HashMap::from([("#v".into(), table::VERSION.into())])),
                values: Some(HashMap::from([(":v".into(), n(version))])),
            },
        }
    }
}

/// Where a query starts relative to its key range, given the sort key it must start after.
#[derive(Debug, PartialEq, Eq)]
enum StartPosition {
    /// The key lies before the range (in query order): start at the range's first item.
    Beginning,
    /// The key lies within the range: start just after it.
    After,
    /// The key lies at or beyond the range's end: nothing follows.
    PastTheEnd,
}

/// DynamoDB rejects a start key outside the key condition, while a cursor is just a position in
/// key order; so a position outside the range is resolved here rather than sent.
fn start_position(range: &KeyRange, after: &str, descending: bool) -> StartPosition {
    use std::cmp::Ordering::*;
    let relation = match range {
        KeyRange::Prefix(prefix) if after.starts_with(prefix.as_str()) => Equal,
        // Every key with the prefix sorts after the prefix itself and after any shorter string
        // below it; a non-matching key is wholly below or wholly above the prefixed block.
        KeyRange::Prefix(prefix) => after.cmp(prefix.as_str()),
        KeyRange::Between(low, _) if after < low.as_str() => Less,
        KeyRange::Between(_, high) if after > high.as_str() => Greater,
        KeyRange::Between(..) => Equal,
    };
    match (relation, descending) {
        (Equal, _) => StartPosition::After,
        (Less, false) | (Greater, true) => StartPosition::Beginning,
        (Greater, false) | (Less, true) => StartPosition::PastTheEnd,
    }
}

fn empty_page() -> Page {
    Page {
        items: Vec::new(),
        next: None,
    }
}

/// The position of the first write whose condition failed, from a cancelled transaction's
/// reasons (one per write, in order; `None` as code for the writes that were fine).
fn conflict_index(reasons: &[CancellationReason]) -> Option<usize> {
    reasons
        .iter()
        .position(|r| r.code() == Some("ConditionalCheckFailed"))
}

fn describe_reasons(reasons: &[CancellationReason]) -> String {
    let described: Vec<String> = reasons
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code().is_some_and(|c| c != "None"))
        .map(|(i, r)| {
            format!(
                "write {i}: {} {}",
                r.code().unwrap_or_default(),
                r.message().unwrap_or_default()
            )
        })
        .collect();
    if described.is_empty() {
        "no reason given".into()
    } else {
        described.join("; ")
    }
}

fn single_write_error<E>(error: SdkError<E>, is_conflict: impl Fn(&E) -> bool) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    if error.as_service_error().is_some_and(is_conflict) {
        return StoreError::Conflict { index: 0 };
    }
    sdk_error(error)
}

fn sdk_error<E>(error: SdkError<E>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let is_validation = error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ValidationException");
    let chain = DisplayErrorContext(&error).to_string();
    // A request DynamoDB refuses (an oversized item, a malformed key) fails the same way on a
    // retry: that is the caller's invalid request, not an outage.
    if is_validation {
        StoreError::Invalid(chain)
    } else {
        StoreError::Unavailable(chain)
    }
}

fn invalid(error: impl Display) -> StoreError {
    StoreError::Invalid(error.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: &str, sk: &str) -> Attributes {
    HashMap::from([(table::PK.to_owned(), s(pk)), (table::SK.to_owned(), s(sk))])
}

fn item_to_attributes(item: &Item) -> Result<Attributes, StoreError> {
    let body: AttributeValue = serde_dynamo::to_attribute_value(&item.body)
        .map_err(|e| StoreError::Invalid(format!("the body of {} {}: {e}", item.pk, item.sk)))?;
    let mut attributes = key(&item.pk, &item.sk);
    attributes.insert(table::VERSION.into(), n(item.version));
    attributes.insert(table::BODY.into(), body);
    if let Some(expires_at) = item.expires_at {
        attributes.insert(table::TTL.into(), n(expires_at));
    }
    // Only the indexes the item belongs to get attributes: that is what keeps them sparse.
    for (index, index_key) in &item.indexes {
        let (_, pk, sk) = table::index(*index);
        attributes.insert(pk.into(), s(&index_key.pk));
        attributes.insert(sk.into(), s(&index_key.sk));
    }
    Ok(attributes)
}

fn item_from_attributes(mut attributes: Attributes) -> Result<Item, StoreError> {
    let pk = take_string(&mut attributes, table::PK, "?", "?")?;
    let sk = take_string(&mut attributes, table::SK, &pk, "?")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("{pk} {sk}: {what}"));
    let version = match attributes.remove(table::VERSION) {
        Some(AttributeValue::N(v)) => v
            .parse::<u64>()
            .map_err(|_| corrupt(&format!("the version {v:?} is not a whole number")))?,
        _ => return Err(corrupt("no numeric version attribute")),
    };
    let expires_at = match attributes.remove(table::TTL) {
        None => None,
        Some(AttributeValue::N(t)) => Some(
            t.parse::<i64>()
                .map_err(|_| corrupt(&format!("the expiry {t:?} is not a whole number")))?,
        ),
        Some(_) => return Err(corrupt("the expiry attribute is not a number")),
    };
    let body = attributes
        .remove(table::BODY)
        .ok_or_else(|| corrupt("no body attribute"))?;
    let body: serde_json::Value = serde_dynamo::from_attribute_value(body)
        .map_err(|e| corrupt(&format!("the body cannot be read: {e}")))?;
    let mut indexes = Vec::new();
    for index in Index::ALL {
        let (_, pk_attr, sk_attr) = table::index(index);
        let index_pk = take_optional_string(&mut attributes, pk_attr, &pk, &sk)?;
        let index_sk = take_optional_string(&mut attributes, sk_attr, &pk, &sk)?;
        match (index_pk, index_sk) {
            (Some(pk), Some(sk)) => indexes.push((index, IndexKey { pk, sk })),
            (None, None) => {}
            _ => return Err(corrupt(&format!("only half of the {index:?} index key"))),
        }
    }
    Ok(Item {
        pk,
        sk,
        version,
        indexes,
        expires_at,
        body,
    })
}

fn take_string(
    attributes: &mut Attributes,
    name: &str,
    pk: &str,
    sk: &str,
) -> Result<String, StoreError> {
    take_optional_string(attributes, name, pk, sk)?
        .ok_or_else(|| StoreError::Corrupt(format!("{pk} {sk}: no {name} attribute")))
}

fn take_optional_string(
    attributes: &mut Attributes,
    name: &str,
    pk: &str,
    sk: &str,
) -> Result<Option<String>, StoreError> {
    match attributes.remove(name) {
        None => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value)),
        Some(_) => Err(StoreError::Corrupt(format!(
            "{pk} {sk}: the {name} attribute is not a string"
        ))),
    }
}

fn start_after(item: &Item, index: Option<Index>) -> StartAfter {
    StartAfter {
        sk: item.sk.clone(),
        index_sk: index.and_then(|i| item.index_key(i)).map(|k| k.sk.clone()),
    }
}

fn start_after_key(key: &Attributes, index_sk: Option<&str>) -> Result<StartAfter, StoreError> {
    let string = |name: &str| match key.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "the last evaluated key has no {name} string: {key:?}"
        ))),
    };
    Ok(StartAfter {
        sk: string(table::SK)?,
        index_sk: index_sk.map(string).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    #[test]
    fn the_conflict_is_the_write_whose_condition_failed() {
        let reasons = [
            reason("None"),
            reason("None"),
            reason("ConditionalCheckFailed"),
        ];
        assert_eq!(conflict_index(&reasons), Some(2));
    }

    #[test]
    fn a_transaction_cancelled_for_other_reasons_is_no_conflict() {
        let reasons = [reason("None"), reason("TransactionConflict")];
        assert_eq!(conflict_index(&reasons), None);
        assert_eq!(describe_reasons(&reasons), "write 1: TransactionConflict ");
        assert_eq!(conflict_index(&[]), None);
    }

    #[test]
    fn conditions_become_expressions() {
        let any = ConditionExpression::of(Condition::Any);
        assert!(any.expression.is_none() && any.names.is_none() && any.values.is_none());

        let absent = ConditionExpression::of(Condition::Absent);
        assert_eq!(
            absent.expression.as_deref(),
            Some("attribute_not_exists(#pk)")
        );
        assert_eq!(absent.names.unwrap()["#pk"], table::PK);

        let version = ConditionExpression::of(Condition::Version(7));
        assert_eq!(version.expression.as_deref(), Some("#v = :v"));
        assert_eq!(version.names.unwrap()["#v"], table::VERSION);
        assert_eq!(version.values.unwrap()[":v"], AttributeValue::N("7".into()));
    }

    #[test]
    fn an_item_survives_the_attribute_mapping() {
        let item = Item {
            pk: "B#1".into(),
            sk: "P#2".into(),
            version: u64::MAX,
            indexes: vec![(
                Index::PostsByTime,
                IndexKey {
                    pk: "B#1#P".into(),
                    sk: "2027-03-28T00:00:00Z#2".into(),
                },
            )],
            expires_at: Some(-5),
            body: json!({
                "text": "", "big": u64::MAX, "negative": i64::MIN, "fraction": 0.1,
                "nothing": null, "list": [1, "two", [], {}], "yes": true,
            }),
        };
        let attributes = item_to_attributes(&item).unwrap();
        assert!(matches!(attributes[table::BODY], AttributeValue::M(_)));
        assert_eq!(attributes["gsi1pk"], AttributeValue::S("B#1#P".into()));
        assert_eq!(item_from_attributes(attributes).unwrap(), item);
    }

    #[test]
    fn an_item_outside_every_index_has_no_index_attributes() {
        let item = Item {
            pk: "B#1".into(),
            sk: "BRAND".into(),
            version: 1,
            indexes: vec![],
            expires_at: None,
            body: json!({}),
        };
        let attributes = item_to_attributes(&item).unwrap();
        let mut names: Vec<_> = attributes.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["body", "pk", "sk", "v"]);
        assert_eq!(item_from_attributes(attributes).unwrap(), item);
    }

    #[test]
    fn a_cursor_outside_the_range_is_resolved_locally() {
        let prefix = KeyRange::Prefix("P#".into());
        assert_eq!(start_position(&prefix, "P#5", false), StartPosition::After);
        assert_eq!(
            start_position(&prefix, "CH#1", false),
            StartPosition::Beginning
        );
        assert_eq!(
            start_position(&prefix, "Z", false),
            StartPosition::PastTheEnd
        );
        assert_eq!(start_position(&prefix, "Z", true), StartPosition::Beginning);
        assert_eq!(
            start_position(&prefix, "CH#1", true),
            StartPosition::PastTheEnd
        );

        let between = KeyRange::Between("b".into(), "d".into());
        assert_eq!(start_position(&between, "b", false), StartPosition::After);
        assert_eq!(start_position(&between, "d", true), StartPosition::After);
        assert_eq!(
            start_position(&between, "a", false),
            StartPosition::Beginning
        );
        assert_eq!(
            start_position(&between, "e", false),
            StartPosition::PastTheEnd
        );
        assert_eq!(
            start_position(&between, "e", true),
            StartPosition::Beginning
        );
        assert_eq!(
            start_position(&between, "a", true),
            StartPosition::PastTheEnd
        );
    }
}
