//! Reads `template.yaml`, so tests create the emulator's table from the deployment's own
//! definition and check the template against the code: they cannot drift apart silently.

use std::path::PathBuf;

use yaml_rust2::{Yaml, YamlLoader};

pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}

/// The parsed template. CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`) parse as their
/// plain values, which is all these checks need.
pub fn load() -> Yaml {
    let text = std::fs::read_to_string(path()).expect("template.yaml is readable");
    YamlLoader::load_from_str(&text)
        .expect("template.yaml is valid YAML")
        .remove(0)
}

pub fn resources(template: &Yaml) -> Vec<(String, &Yaml)> {
    template["Resources"]
        .as_hash()
        .expect("the template has Resources")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), v))
        .collect()
}

/// The one DynamoDB table of the template.
pub fn table(template: &Yaml) -> &Yaml {
    let tables: Vec<&Yaml> = resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .map(|(_, r)| &r["Properties"])
        .collect();
    assert_eq!(
        tables.len(),
        1,
        "the template must declare exactly one DynamoDB table"
    );
    tables[0]
}

/// A table as the template defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub attributes: Vec<(String, String)>,
    pub hash_key: String,
    pub range_key: String,
    /// Name, hash key, range key, projection type.
    pub indexes: Vec<(String, String, String, String)>,
    pub ttl_attribute: Option<String>,
}

fn key_of(schema: &Yaml, kind: &str) -> String {
    schema
        .as_vec()
        .into_iter()
        .flatten()
        .find(|k| k["KeyType"].as_str() == Some(kind))
        .and_then(|k| k["AttributeName"].as_str())
        .unwrap_or_default()
        .to_owned()
}

pub fn table_spec() -> TableSpec {
    let template = load();
    let table = table(&template);
    let attributes = table["AttributeDefinitions"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap_or_default().to_owned(),
                a["AttributeType"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let indexes = table["GlobalSecondaryIndexes"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["IndexName"].as_str().unwrap_or_default().to_owned(),
                key_of(&i["KeySchema"], "HASH"),
                key_of(&i["KeySchema"], "RANGE"),
                i["Projection"]["ProjectionType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let ttl = &table["TimeToLiveSpecification"];
    TableSpec {
        attributes,
        hash_key: key_of(&table["KeySchema"], "HASH"),
        range_key: key_of(&table["KeySchema"], "RANGE"),
        indexes,
        ttl_attribute: (ttl["Enabled"].as_bool() == Some(true))
            .then(|| ttl["AttributeName"].as_str().unwrap_or_default().to_owned()),
    }
}

/// A Lambda function of the template.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub binary: String,
    pub build_method: String,
    /// The trigger types of its Events (HttpApi, Schedule, EventBridgeRule, S3, ...).
    pub triggers: Vec<String>,
    /// Its environment variables, with the template's Globals.
    pub environment: Vec<String>,
    pub runtime: String,
    pub architectures: Vec<String>,
}

pub fn functions() -> Vec<FunctionSpec> {
    let template = load();
    let globals = &template["Globals"]["Function"];
    let global_env: Vec<String> = globals["Environment"]["Variables"]
        .as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, r)| {
            let p = &r["Properties"];
            let mut environment = global_env.clone();
            if let Some(vars) = p["Environment"]["Variables"].as_hash() {
                environment.extend(vars.keys().filter_map(|k| k.as_str().map(str::to_owned)));
            }
            let pick = |key: &str| {
                p[key]
                    .as_str()
                    .or_else(|| globals[key].as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let architectures = p["Architectures"]
                .as_vec()
                .or_else(|| globals["Architectures"].as_vec())
                .map(|v| {
                    v.iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            FunctionSpec {
                logical_id: id,
                binary: r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                build_method: r["Metadata"]["BuildMethod"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                triggers: p["Events"]
                    .as_hash()
                    .map(|h| {
                        h.values()
                            .filter_map(|e| e["Type"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                environment,
                runtime: pick("Runtime"),
                architectures,
            }
        })
        .collect()
}
