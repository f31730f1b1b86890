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
    /// The stream's view type (`NEW_IMAGE`: the relay reads new outbox items).
    pub stream_view_type: Option<String>,
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
        stream_view_type: table["StreamSpecification"]["StreamViewType"]
            .as_str()
            .map(str::to_owned),
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
    /// The expressions of its Schedule events (`rate(1 minute)`, `cron(...)`).
    pub schedules: Vec<String>,
    /// Its environment variables, with the template's Globals.
    pub environment: Vec<String>,
    pub runtime: String,
    pub architectures: Vec<String>,
    /// The logical id its `LoggingConfig.LogGroup` refers to.
    pub log_group: Option<String>,
    /// `EventInvokeConfig.MaximumRetryAttempts`, when set.
    pub max_retry_attempts: Option<i64>,
    /// `Timeout` in seconds (its own, else the Globals'), when set.
    pub timeout_seconds: Option<i64>,
    /// `EventInvokeConfig.DestinationConfig.OnFailure`.
    pub on_failure: Option<Destination>,
    /// Each event source mapping's trigger type (DynamoDB, Kinesis) and its
    /// `DestinationConfig.OnFailure.Destination` as written, when set.
    pub stream_failures: Vec<(String, Option<String>)>,
    /// The statements of its inline policy documents.
    pub statements: Vec<Statement>,
    /// Policies that are not inline documents (managed policy names, SAM policy templates):
    /// their rights cannot be read from the template.
    pub opaque_policies: Vec<String>,
}

/// Where a function's failed asynchronous invocations go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// SQS, SNS, Lambda, EventBridge, S3Bucket.
    pub kind: String,
    /// As written: `Queue.Arn` for `!GetAtt Queue.Arn`.
    pub target: String,
}

/// One IAM policy statement. Intrinsic functions read as their plain text: `!GetAtt Table.Arn`
/// is `Table.Arn`, `!Sub "${Table.Arn}/index/due"` is `${Table.Arn}/index/due`, and a
/// `!Sub [template, vars]` is its template.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// (operator, key, values), e.g. ("ForAnyValue:StringLike", "dynamodb:LeadingKeys", ["B#*#CRED"]).
    pub conditions: Vec<(String, String, Vec<String>)>,
}

impl Statement {
    /// Whether the statement names `action` (IAM wildcards, case-insensitive).
    pub fn covers_action(&self, action: &str) -> bool {
        self.actions
            .iter()
            .any(|a| glob_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
    }

    /// The values of condition `key` under `operator`.
    pub fn condition(&self, operator: &str, key: &str) -> Vec<&str> {
        self.conditions
            .iter()
            .filter(|(op, k, _)| op == operator && k == key)
            .flat_map(|(_, _, values)| values.iter().map(String::as_str))
            .collect()
    }
}

/// IAM's pattern match: `*` is any run of characters, `?` any one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a list is the argument of `!Sub [template, {variables}]`.
fn is_sub_with_variables(items: &[Yaml]) -> bool {
    matches!(items, [Yaml::String(_), Yaml::Hash(_)])
}

/// The text of a value as written: a string, or the template of a `!Sub [template, vars]`.
fn text_of(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Array(items) if is_sub_with_variables(items) => items[0].as_str().map(str::to_owned),
        _ => None,
    }
}

/// A string or a list of strings, as IAM allows for actions, resources and condition values.
fn texts_of(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Array(items) if !is_sub_with_variables(items) => {
            items.iter().filter_map(text_of).collect()
        }
        other => text_of(other).into_iter().collect(),
    }
}

fn statements_of(policies: &Yaml) -> (Vec<Statement>, Vec<String>) {
    let mut statements = Vec::new();
    let mut opaque = Vec::new();
    for policy in policies.as_vec().into_iter().flatten() {
        let Some(list) = policy["Statement"].as_vec() else {
            opaque.push(format!("{policy:?}"));
            continue;
        };
        for s in list {
            let mut conditions = Vec::new();
            for (op, keys) in s["Condition"].as_hash().into_iter().flatten() {
                for (key, values) in keys.as_hash().into_iter().flatten() {
                    conditions.push((
                        op.as_str().unwrap_or_default().to_owned(),
                        key.as_str().unwrap_or_default().to_owned(),
                        texts_of(values),
                    ));
                }
            }
            statements.push(Statement {
                sid: s["Sid"].as_str().unwrap_or_default().to_owned(),
                allow: s["Effect"].as_str() == Some("Allow"),
                actions: texts_of(&s["Action"]),
                resources: texts_of(&s["Resource"]),
                conditions,
            });
        }
    }
    (statements, opaque)
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
            let events: Vec<&Yaml> = p["Events"]
                .as_hash()
                .map(|h| h.values().collect())
                .unwrap_or_default();
            let invoke = &p["EventInvokeConfig"];
            let on_failure = &invoke["DestinationConfig"]["OnFailure"];
            let (statements, opaque_policies) = statements_of(&p["Policies"]);
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
                triggers: events
                    .iter()
                    .filter_map(|e| e["Type"].as_str().map(str::to_owned))
                    .collect(),
                schedules: events
                    .iter()
                    .filter(|e| e["Type"].as_str() == Some("Schedule"))
                    .filter_map(|e| e["Properties"]["Schedule"].as_str().map(str::to_owned))
                    .collect(),
                environment,
                runtime: pick("Runtime"),
                architectures,
                log_group: p["LoggingConfig"]["LogGroup"].as_str().map(str::to_owned),
                max_retry_attempts: invoke["MaximumRetryAttempts"].as_i64(),
                timeout_seconds: p["Timeout"]
                    .as_i64()
                    .or_else(|| globals["Timeout"].as_i64()),
                on_failure: on_failure["Type"].as_str().map(|kind| Destination {
                    kind: kind.to_owned(),
                    target: text_of(&on_failure["Destination"]).unwrap_or_default(),
                }),
                stream_failures: events
                    .iter()
                    .filter(|e| matches!(e["Type"].as_str(), Some("DynamoDB" | "Kinesis")))
                    .map(|e| {
                        (
                            e["Type"].as_str().unwrap_or_default().to_owned(),
                            text_of(
                                &e["Properties"]["DestinationConfig"]["OnFailure"]["Destination"],
                            ),
                        )
                    })
                    .collect(),
                statements,
                opaque_policies,
            }
        })
        .collect()
}

/// The logical id and type of every resource.
pub fn resource_types() -> Vec<(String, String)> {
    let template = load();
    resources(&template)
        .into_iter()
        .map(|(id, r)| (id, r["Type"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// A log group's retention in days: a number, or a parameter's default.
pub fn log_retention_days(log_group: &str) -> Option<i64> {
    let template = load();
    let group = &template["Resources"][log_group];
    if group["Type"].as_str() != Some("AWS::Logs::LogGroup") {
        return None;
    }
    let retention = &group["Properties"]["RetentionInDays"];
    retention.as_i64().or_else(|| {
        let parameter = &template["Parameters"][retention.as_str()?];
        parameter["Default"]
            .as_i64()
            .or_else(|| parameter["Default"].as_str()?.parse().ok())
    })
}

/// Every dashboard's logical id and body as written (a `!Sub` template: `${Function}` for the
/// function's name).
pub fn dashboards() -> Vec<(String, String)> {
    let template = load();
    resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Dashboard"))
        .map(|(id, r)| {
            let body = text_of(&r["Properties"]["DashboardBody"]).unwrap_or_default();
            (id, body)
        })
        .collect()
}

/// A CloudWatch alarm of the template.
#[derive(Debug, Clone)]
pub struct AlarmSpec {
    pub logical_id: String,
    pub namespace: String,
    pub metric: String,
    /// (name, value as written: `PublisherFunction` for `!Ref PublisherFunction`).
    pub dimensions: Vec<(String, String)>,
    pub threshold: f64,
    pub comparison: String,
    pub alarm_actions: Vec<String>,
}

impl AlarmSpec {
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the alarm goes off as soon as the metric is above zero (at least one error, one
    /// message, ...).
    pub fn fires_on_any(&self) -> bool {
        match self.comparison.as_str() {
            "GreaterThanThreshold" => self.threshold < 1.0,
            "GreaterThanOrEqualToThreshold" => self.threshold <= 1.0 && self.threshold > 0.0,
            _ => false,
        }
    }
}

pub fn alarms() -> Vec<AlarmSpec> {
    let template = load();
    resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(id, r)| {
            let p = &r["Properties"];
            AlarmSpec {
                logical_id: id,
                namespace: p["Namespace"].as_str().unwrap_or_default().to_owned(),
                metric: p["MetricName"].as_str().unwrap_or_default().to_owned(),
                dimensions: p["Dimensions"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        (
                            d["Name"].as_str().unwrap_or_default().to_owned(),
                            text_of(&d["Value"]).unwrap_or_default(),
                        )
                    })
                    .collect(),
                threshold: p["Threshold"]
                    .as_f64()
                    .or_else(|| p["Threshold"].as_i64().map(|i| i as f64))
                    .unwrap_or(f64::NAN),
                comparison: p["ComparisonOperator"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                alarm_actions: texts_of(&p["AlarmActions"]),
            }
        })
        .collect()
}

/// An SNS subscription: (topic as written, protocol, endpoint as written, condition name).
pub fn subscriptions() -> Vec<(String, String, String, Option<String>)> {
    let template = load();
    resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::SNS::Subscription"))
        .map(|(_, r)| {
            let p = &r["Properties"];
            (
                text_of(&p["TopicArn"]).unwrap_or_default(),
                p["Protocol"].as_str().unwrap_or_default().to_owned(),
                text_of(&p["Endpoint"]).unwrap_or_default(),
                r["Condition"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// A condition's definition, flattened to the texts it mentions (parameter names, literals).
pub fn condition_mentions(name: &str) -> Vec<String> {
    fn walk(value: &Yaml, out: &mut Vec<String>) {
        match value {
            Yaml::String(s) => out.push(s.clone()),
            Yaml::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Yaml::Hash(h) => h.iter().for_each(|(k, v)| {
                walk(k, out);
                walk(v, out);
            }),
            _ => {}
        }
    }
    let template = load();
    let mut out = Vec::new();
    walk(&template["Conditions"][name], &mut out);
    out
}

/// The template's parameter names with their defaults (as text; empty for "" or none).
pub fn parameters() -> Vec<(String, Option<String>)> {
    let template = load();
    template["Parameters"]
        .as_hash()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.as_str().unwrap_or_default().to_owned(),
                text_of(&v["Default"]),
            )
        })
        .collect()
}

/// Every output's value as written (`HttpApi` for `!Ref HttpApi`, the template of a `!Sub`).
pub fn output_values() -> Vec<(String, String)> {
    let template = load();
    template["Outputs"]
        .as_hash()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.as_str().unwrap_or_default().to_owned(),
                text_of(&v["Value"]).unwrap_or_default(),
            )
        })
        .collect()
}
