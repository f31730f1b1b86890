//! How connectors wait for networks that process media asynchronously (Mastodon, LinkedIn, X,
//! Instagram, Threads): one setting shared by the registry that builds them and the connectors.

/// How connectors wait for networks that process media asynchronously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polling {
    pub interval: std::time::Duration,
    pub max_wait: std::time::Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(2),
            max_wait: std::time::Duration::from_secs(120),
        }
    }
}
