//! The brand's audit log, as owners and managers read it. Entries are written by the services
//! that make the changes, in the same write (`store::audit::audit_write`).

use super::{Ports, ServiceError, page_limit};
use crate::domain::audit::{AuditFilter, action};
use crate::domain::{Actor, DomainError, Permission, Validation};
use crate::store::ListError;
use crate::store::audit::AuditPage;

/// A listing's parameters, as the caller gave them.
#[derive(Debug, Clone, Default)]
pub struct AuditParams {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Clone)]
pub struct AuditService {
    ports: Ports,
}

impl AuditService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Newest first.
    pub async fn list(
        &self,
        actor: &Actor,
        params: AuditParams,
    ) -> Result<AuditPage, ServiceError> {
        actor.require(Permission::ReadAudit)?;
        let mut v = Validation::new();
        if let Some(a) = &params.action
            && !action::ALL.contains(&a.as_str())
        {
            v.add(
                "action",
                format!(
                    "{a:?} is not an action; expected one of {}",
                    action::ALL.join(", ")
                ),
            );
        }
        let (from, to) = super::time_range(&mut v, params.from.as_deref(), params.to.as_deref());
        let limit = page_limit(&mut v, params.limit);
        v.finish()?;
        let filter = AuditFilter {
            action: params.action,
            actor: params.actor,
            target: params.target,
            from,
            to,
        };
        self.ports
            .store
            .list_audit(&actor.brand, &filter, params.cursor.as_deref(), limit)
            .await
            .map_err(|e| match e {
                ListError::BadCursor(m) => DomainError::invalid("cursor", m).into(),
                ListError::Store(s) => s.into(),
            })
    }
}
