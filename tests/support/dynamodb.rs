//! DynamoDB for the tests: a client for the emulator `infra/test/all.sh` starts, and a fresh table
//! per test (tests run in parallel, so none shares a table), laid out as the deployment's.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};
use palinsesto::adapters::dynamodb::DynamoStore;
use palinsesto::store::ItemStore;

pub const ENDPOINT_VARIABLE: &str = "PALINSESTO_TEST_AWS_ENDPOINT";

/// A store on a new, empty table of its own.
pub async fn fresh_store() -> Arc<dyn ItemStore> {
    let name = fresh_table().await;
    Arc::new(DynamoStore::new(client().await, name))
}

/// A new, empty table made as the template makes it; returns its name.
pub async fn fresh_table() -> String {
    let name = format!(
        "palinsesto-test-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    create_table(&client().await, &name)
        .await
        .unwrap_or_else(|e| panic!("creating the test table {name}: {e}"));
    name
}

/// A client for the emulator. One per test: a client's connections belong to the runtime of the
/// test that made them.
pub async fn client() -> Client {
    let endpoint = std::env::var(ENDPOINT_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VARIABLE} is not set: run the tests with infra/test/all.sh, which starts the DynamoDB emulator"
        )
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        // Fixed dummy credentials, so a developer's real ones can never reach a test.
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "palinsesto-tests",
        ))
        .build();
    Client::from_conf(config)
}

/// Creates the table as the deployment defines it: pk/sk strings, one sparse GSI per [`Index`]
/// (all attributes projected), on-demand billing, TTL on [`table::TTL`].
/// Creates the table exactly as `template.yaml` declares it (keys, indexes, TTL), so the code is
/// always tested against the deployment's table.
pub async fn create_table(client: &Client, name: &str) -> Result<(), Box<dyn Error + Send + Sync>> {
    let spec = super::template::table_spec();
    let mut attributes = Vec::new();
    for (attribute, kind) in &spec.attributes {
        attributes.push(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    let mut indexes = Vec::new();
    for (index_name, pk, sk, projection) in &spec.indexes {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index_name)
                .key_schema(key_element(pk, KeyType::Hash)?)
                .key_schema(key_element(sk, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection.as_str()))
                        .build(),
                )
                .build()?,
        );
    }
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .key_schema(key_element(&spec.hash_key, KeyType::Hash)?)
        .key_schema(key_element(&spec.range_key, KeyType::Range)?)
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .set_stream_specification(
            spec.stream_view_type
                .as_deref()
                .map(|view| {
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::from(view))
                        .build()
                })
                .transpose()?,
        )
        .send()
        .await?;
    wait_until_active(client, name).await?;
    if let Some(ttl) = &spec.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}

/// The emulator creates tables at once; real DynamoDB takes seconds, and TTL needs an active table.
async fn wait_until_active(
    client: &Client,
    name: &str,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    for _ in 0..120 {
        let described = client.describe_table().table_name(name).send().await?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("the table {name} did not become active within a minute").into())
}

fn key_element(
    name: &str,
    key_type: KeyType,
) -> Result<KeySchemaElement, Box<dyn Error + Send + Sync>> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()?)
}
