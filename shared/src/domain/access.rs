//! Who may do what. The caller's brand and role come from their verified token, never from a
//! request body.

use serde::{Deserialize, Serialize};

use super::{BrandId, DomainError};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Manager,
    Owner,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "viewer" => Ok(Self::Viewer),
            "editor" => Ok(Self::Editor),
            "manager" => Ok(Self::Manager),
            "owner" => Ok(Self::Owner),
            other => Err(format!(
                "unknown role {other:?}: expected owner, manager, editor or viewer"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Manager => "manager",
            Self::Owner => "owner",
        }
    }
}

/// Everything a caller can be allowed to do, one variant per kind of action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    /// Create and edit drafts, submit them for review, duplicate posts.
    WriteDrafts,
    /// Approve or reject posts in review.
    Review,
    /// Schedule, unschedule, cancel and delete any post.
    Schedule,
    ManageChannels,
    ManageBrand,
    /// Upload files to the media library and describe them (title, tags, alt text).
    EditMedia,
    /// Remove files from the media library.
    DeleteMedia,
    /// Outgoing webhooks: who hears of the brand's events, and where.
    ManageWebhooks,
    /// The brand's audit log.
    ReadAudit,
    /// Direct messages in the inbox (everything else in it is `Read`).
    ReadDirectMessages,
    /// Answer interactions, write notes on them.
    ReplyInbox,
    /// Assign interactions and change their state, tags and priority.
    ManageInbox,
}

impl Permission {
    fn minimum_role(self) -> Role {
        match self {
            Self::Read => Role::Viewer,
            Self::WriteDrafts | Self::EditMedia | Self::ReadDirectMessages | Self::ReplyInbox => {
                Role::Editor
            }
            Self::Review
            | Self::Schedule
            | Self::ManageChannels
            | Self::DeleteMedia
            | Self::ManageWebhooks
            | Self::ReadAudit
            | Self::ManageInbox => Role::Manager,
            Self::ManageBrand => Role::Owner,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Read => "read this brand's data",
            Self::WriteDrafts => "write or submit drafts",
            Self::Review => "approve or reject posts",
            Self::Schedule => "schedule, unschedule, cancel or delete posts",
            Self::ManageChannels => "manage channels",
            Self::ManageBrand => "change the brand's profile",
            Self::EditMedia => "upload or describe media",
            Self::DeleteMedia => "delete media from the library",
            Self::ManageWebhooks => "manage the brand's webhooks",
            Self::ReadAudit => "read the brand's audit log",
            Self::ReadDirectMessages => "read direct messages",
            Self::ReplyInbox => "answer the brand's inbox",
            Self::ManageInbox => "assign inbox items or change their state",
        }
    }
}

/// The verified caller: who they are, which brand they act for, and with which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub brand: BrandId,
    pub role: Role,
    /// The route the request came through (`PUT /v1/channels/{id}/credentials`), for the audit
    /// log; `None` outside HTTP.
    pub route: Option<String>,
}

impl Actor {
    pub fn can(&self, permission: Permission) -> bool {
        self.role >= permission.minimum_role()
    }

    pub fn require(&self, permission: Permission) -> Result<(), DomainError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "your role ({}) cannot {}; it takes the {} role or higher",
                self.role.as_str(),
                permission.describe(),
                permission.minimum_role().as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            subject: "u".into(),
            brand: BrandId::parse("b").unwrap(),
            role,
            route: None,
        }
    }

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        assert!(actor(Role::Viewer).can(Permission::Read));
        assert!(!actor(Role::Viewer).can(Permission::WriteDrafts));
        assert!(actor(Role::Editor).can(Permission::WriteDrafts));
        assert!(!actor(Role::Editor).can(Permission::Review));
        assert!(actor(Role::Manager).can(Permission::Schedule));
        assert!(!actor(Role::Manager).can(Permission::ManageBrand));
        assert!(actor(Role::Owner).can(Permission::ManageBrand));
    }

    #[test]
    fn a_denial_says_why() {
        let err = actor(Role::Editor).require(Permission::Review).unwrap_err();
        assert_eq!(
            err.to_string(),
            "your role (editor) cannot approve or reject posts; it takes the manager role or higher"
        );
    }
}
