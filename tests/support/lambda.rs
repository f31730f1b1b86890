//! The JSON Lambda hands the functions, in the shapes AWS documents (and the `aws_lambda_events`
//! crate's fixtures show): an API Gateway HTTP API request (payload format 2.0), a scheduled
//! rule's event, and an S3 ObjectCreated notification.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// The HTTP API's id; the event's host is `{API_ID}.execute-api.{REGION}.amazonaws.com`.
pub const API_ID: &str = "r4nd0m1d42";

/// The event a scheduled rule (`rate(...)` in the template, on the default bus) delivers.
pub fn scheduled_event(rule: &str, time: Timestamp) -> Value {
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string().to_lowercase(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.to_string(),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")],
        "detail": {}
    })
}

/// Form-encoding as S3 writes keys into notifications and browsers write query strings: `+` for
/// a space, UTF-8 bytes percent-escaped, the unreserved characters as they are (and `/` too when
/// `keep_slash`, as S3 leaves it in keys).
pub fn form_encoded(text: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b'/' if keep_slash => out.push('/'),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The notification S3 sends for one object created with a PUT (event message structure 2.1),
/// `key` as stored (it is encoded here as S3 encodes it).
pub fn s3_object_created(bucket: &str, key: &str, size: usize) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": Timestamp::now().round(jiff::Unit::Millisecond).unwrap_or(Timestamp::UNIX_EPOCH).to_string(),
        "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:AIDAINPONIXQXHT3IKHL2" },
        "requestParameters": { "sourceIPAddress": "203.0.113.7" },
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "asset-intake",
            "bucket": {
                "name": bucket,
                "ownerIdentity": { "principalId": "A3NL1KOZZKExample" },
                "arn": format!("arn:aws:s3:::{bucket}")
            },
            "object": {
                "key": form_encoded(key, true),
                "size": size,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": "0055AED6DCD90281E5"
            }
        }
    }]})
}

/// One request to the HTTP API as API Gateway hands it to the function: route `ANY /{proxy+}`
/// on the `$default` stage (SAM's default), header names in lower case, the query string both
/// raw (as the client sent it) and parsed, and the JWT authorizer's claims when a token is sent.
#[derive(Debug, Clone)]
pub struct HttpApiRequest {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<String>,
    claims: Option<Value>,
}

impl HttpApiRequest {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
            claims: None,
        }
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets a header, replacing one of the same name.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_owned()));
        self
    }

    /// `Authorization: Bearer {token}`, and the claims API Gateway's JWT authorizer passes on
    /// (every value as a string, as it does).
    pub fn bearer(self, token: &str, claims: &Value) -> Self {
        let mut this = self.header("authorization", &format!("Bearer {token}"));
        let strings: Map<String, Value> = claims
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(text))
            })
            .collect();
        this.claims = Some(Value::Object(strings));
        this
    }

    pub fn json(self, body: &Value) -> Self {
        let mut this = self.header("content-type", "application/json");
        this.body = Some(body.to_string());
        this
    }

    /// The event, as the function receives it.
    pub fn event(&self) -> Value {
        let host = format!("{API_ID}.execute-api.{REGION}.amazonaws.com");
        let user_agent = "palinsesto-desk/1.0";
        let now = Timestamp::now();
        let mut headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        for (name, value) in [
            (
                "content-length",
                self.body.as_ref().map_or(0, String::len).to_string(),
            ),
            ("host", host.clone()),
            ("user-agent", user_agent.to_owned()),
            (
                "x-amzn-trace-id",
                format!(
                    "Root=1-{:08x}-{}",
                    now.as_second(),
                    "0123456789abcdef01234567"
                ),
            ),
            ("x-forwarded-for", "203.0.113.7".to_owned()),
            ("x-forwarded-port", "443".to_owned()),
            ("x-forwarded-proto", "https".to_owned()),
        ] {
            headers.entry(name).or_insert(Value::String(value));
        }
        let raw_query = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", form_encoded(k, false), form_encoded(v, false)))
            .collect::<Vec<_>>()
            .join("&");
        // Repeated parameters are joined with commas in the parsed map.
        let mut parameters = Map::new();
        for (k, v) in &self.query {
            match parameters.get_mut(k) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(v);
                }
                _ => {
                    parameters.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        let mut context = json!({
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": API_ID,
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": user_agent
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.as_millisecond()
        });
        if let Some(claims) = &self.claims {
            context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": "ANY /{proxy+}",
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "headers": headers,
            "pathParameters": {"proxy": self.path.trim_start_matches('/')},
            "requestContext": context,
            "isBase64Encoded": false
        });
        if !parameters.is_empty() {
            event["queryStringParameters"] = Value::Object(parameters);
        }
        if let Some(body) = &self.body {
            event["body"] = Value::String(body.clone());
        }
        event
    }
}
