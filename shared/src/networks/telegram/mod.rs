//! Telegram: posts to a channel through the Bot API (the bot must be an administrator there).
//! The bot token sits in the URL path, so no URL and no token ever reaches an error message.
//! `client` calls the Bot API and words its refusals; `publish` and `metrics` are the
//! capabilities, with `inbox` (the bot's updates), `reply`, `moderate` and `push` (its webhook)
//! for the community inbox.

use crate::outbound::OutboundClient;

mod check;
mod client;
mod inbox;
mod metrics;
mod moderate;
mod publish;
mod push;
mod reply;
pub mod subscribe;

const NETWORK: &str = "Telegram";
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

pub struct TelegramConnector {
    http: OutboundClient,
    api_base: String,
}

impl TelegramConnector {
    /// `api_base` is [`DEFAULT_API_BASE`] in production; tests point it at a fake.
    pub fn new(http: OutboundClient, api_base: impl Into<String>) -> Self {
        Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
        }
    }
}
