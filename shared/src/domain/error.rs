//! Domain errors: what went wrong in words a social media manager understands, with the field it is about.

use serde::Serialize;

/// One problem with one input field. `field` is the JSON path of the field as the caller sent it
/// (for example `variants.01J….text`), so a frontend can put the message next to the right input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects every problem in an input before failing, so the user fixes them all in one go.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Runs a fallible parse and records its error under `field`, returning the value when it parsed.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.errors))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input is malformed or breaks a rule of the field it is in.
    #[error("the request has {} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The action does not fit the current state (for example approving a draft that was never submitted).
    #[error("{0}")]
    InvalidState(String),
    /// The caller's role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// The network does not allow it (a rule of its API, or a capability it lacks), in plain
    /// words naming the network.
    #[error("{0}")]
    NetworkRule(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

/// The longest reason text kept on a target or a metrics tracker. Networks' error texts are
/// theirs to write: a long one must not bloat every item (and every API answer) that shows it.
pub const MAX_REASON_CHARS: usize = 1000;

/// `text` cut to [`MAX_REASON_CHARS`] characters, with an ellipsis where it was cut.
pub fn cap_reason(text: String) -> String {
    match text.char_indices().nth(MAX_REASON_CHARS) {
        None => text,
        Some((cut, _)) => {
            let mut capped = text[..cut].to_owned();
            capped.push('…');
            capped
        }
    }
}

#[cfg(test)]
mod reason_tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut_at_a_character_boundary() {
        assert_eq!(cap_reason("short".into()), "short");
        let long = "è".repeat(5000);
        let capped = cap_reason(long);
        assert_eq!(capped.chars().count(), MAX_REASON_CHARS + 1);
        assert!(capped.ends_with('…'));
    }
}
