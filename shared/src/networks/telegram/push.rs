//! Telegram's webhook deliveries: each is one `Update` (https://core.telegram.org/bots/api#update),
//! checked before this by its `X-Telegram-Bot-Api-Secret-Token` header. The body names neither
//! the bot nor the channel, so the hook layer says whose it is from the hook's URL.

use serde_json::Value;

use super::TelegramConnector;
use super::inbox::{Heard, Listener, hear};
use crate::networks::{ParsePush, Pushed};

impl ParsePush for TelegramConnector {
    fn parse(&self, body: &[u8]) -> Result<Vec<Pushed>, String> {
        let update: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the Telegram delivery is not JSON: {e}"))?;
        if update.get("update_id").and_then(Value::as_i64).is_none() {
            return Err("the Telegram delivery is not an update: it has no update_id".into());
        }
        let mut pushed = Pushed::default();
        match hear(&update, &Listener::default()) {
            Some(Heard::Found(found)) => pushed.found.push(*found),
            Some(Heard::Native(native)) => pushed.native.push(native),
            None => {}
        }
        Ok(vec![pushed])
    }
}
