//! The binaries measured: how Lambda starts each (memory size, environment as in template.yaml)
//! and the one event it is given.

pub struct Function {
    /// The binary's name under target/release, also the function's short name.
    pub name: &'static str,
    pub memory_mb: u32,
    /// What the function needs besides what Lambda sets for every function.
    pub env: &'static [(&'static str, &'static str)],
    pub event_name: &'static str,
    pub event: &'static str,
}

const TABLE: (&str, &str) = ("TABLE_NAME", "palinsesto-coldstart");
const BUCKET: (&str, &str) = ("BUCKET_NAME", "palinsesto-media-coldstart");
const BUS: (&str, &str) = ("EVENT_BUS_NAME", "palinsesto-coldstart");
const SCHEDULE: &str = include_str!("../events/schedule.json");

/// The baseline first: the functions' ratios are to it.
pub const ALL: &[Function] = &[
    Function {
        name: "hello",
        memory_mb: 128,
        env: &[],
        event_name: "schedule event, echoed",
        event: SCHEDULE,
    },
    Function {
        name: "api",
        memory_mb: 256,
        // As deployed: the key set URL, fetched on the first token (never at start-up or for
        // /healthz, so the address need not exist).
        env: &[
            TABLE,
            BUCKET,
            ("JWT_ISSUER", "https://id.example.com/"),
            ("JWT_AUDIENCE", "palinsesto"),
            (
                "JWT_JWKS_URL",
                "https://id.example.com/.well-known/jwks.json",
            ),
            ("CORS_ALLOWED_ORIGINS", "https://desk.example.com"),
        ],
        event_name: "API Gateway v2 GET /healthz",
        event: include_str!("../events/api-healthz.json"),
    },
    Function {
        name: "publisher",
        memory_mb: 512,
        env: &[TABLE, BUS, BUCKET],
        event_name: "schedule event (tick)",
        event: SCHEDULE,
    },
    Function {
        name: "asset-intake",
        memory_mb: 1024,
        env: &[TABLE, BUS, BUCKET],
        event_name: "S3 ObjectCreated under incoming/",
        event: include_str!("../events/s3-object-created.json"),
    },
    Function {
        name: "metrics",
        memory_mb: 256,
        env: &[TABLE],
        event_name: "schedule event (tick)",
        event: SCHEDULE,
    },
    Function {
        name: "reports",
        memory_mb: 512,
        env: &[TABLE, BUCKET, BUS],
        event_name: "schedule event (tick)",
        event: SCHEDULE,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_json() {
        for f in ALL {
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(f.event);
            assert!(parsed.is_ok(), "{}: {parsed:?}", f.name);
        }
    }
}
