//! Access requests (contract §6 "Access requests"): recorded pending, reviewed once; approving
//! a `join_organization` or `elevated_role` request grants the membership it asked for in the
//! same transaction.

use axp_core::Timestamp;
use axp_core::api::{AccessRequest, AuditTarget, actions};
use axp_core::ids::AccessRequestId;
use axp_core::tenancy::{AccessRequestState, AccessRequestType, ReviewDecision};
use axp_store::{
    ALREADY_REVIEWED, AccessRequestFilter, Audit, Error, NewAccessRequest, Result, Review, granted_role,
};
use serde_json::Value;

use super::Ledger;
use super::audit::{At, details, record};

impl Ledger {
    pub(super) async fn create_access_request(
        &self,
        request: NewAccessRequest,
        now: Timestamp,
    ) -> Result<AccessRequest> {
        let record = AccessRequest {
            access_request_id: AccessRequestId::new(),
            request_type: request.request_type,
            state: AccessRequestState::Pending,
            requester_actor_id: request.requester_actor_id,
            org_id: request.org_id,
            workspace_id: request.workspace_id,
            requested_role: request.requested_role,
            company_name: request.company_name,
            justification: request.justification,
            reviewer_actor_id: None,
            review_comment: None,
            reviewed_at: None,
            created_at: now,
            updated_at: now,
        };
        self.write(record, |record, tx| {
            Box::pin(async move {
                if let Some(org) = record.org_id {
                    tx.org(org, false).await?.ok_or(Error::NotFound)?;
                    if let Some(ws) = record.workspace_id {
                        tx.workspace(org, ws, false).await?.ok_or(Error::NotFound)?;
                    }
                }
                tx.insert_access_request(record).await?;
                Ok(record.clone())
            })
        })
        .await
    }

    pub(super) async fn get_access_request(&self, id: AccessRequestId) -> Result<AccessRequest> {
        self.read(id, |id, tx| {
            Box::pin(async move { tx.access_request(*id, false).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    pub(super) async fn list_access_requests(
        &self,
        filter: AccessRequestFilter,
    ) -> Result<Vec<AccessRequest>> {
        self.read(filter, |filter, tx| Box::pin(tx.list_access_requests(filter))).await
    }

    pub(super) async fn review_access_request(
        &self,
        id: AccessRequestId,
        review: Review,
        now: Timestamp,
        by: &Audit,
    ) -> Result<AccessRequest> {
        self.write((id, review, now, by.clone()), |(id, review, now, by), tx| {
            Box::pin(async move {
                let mut request = tx.access_request(*id, true).await?.ok_or(Error::NotFound)?;
                if !request.state.open() {
                    return Err(Error::Conflict { constraint: ALREADY_REVIEWED.into() });
                }
                request.state = review.decision.state();
                request.reviewer_actor_id = Some(review.reviewer_actor_id.clone());
                request.review_comment.clone_from(&review.review_comment);
                request.reviewed_at = Some(*now);
                request.updated_at = *now;
                let grants = matches!(
                    request.request_type,
                    AccessRequestType::JoinOrganization | AccessRequestType::ElevatedRole
                );
                if review.decision == ReviewDecision::Approve && grants {
                    let org = request.org_id.ok_or_else(|| {
                        Error::Internal("a membership request without an organization".into())
                    })?;
                    let role = granted_role(request.requested_role);
                    super::members::grant(
                        tx,
                        org,
                        request.workspace_id,
                        &request.requester_actor_id,
                        role,
                        *now,
                        by,
                    )
                    .await?;
                }
                tx.update_access_request(&request).await?;
                if let Some(org) = request.org_id {
                    let decision = serde_json::to_value(review.decision).unwrap_or(Value::Null);
                    let target = AuditTarget::new("access_request", request.access_request_id);
                    let at = At::org(org, request.workspace_id, *now);
                    record(
                        tx,
                        by,
                        at,
                        actions::ACCESS_REQUEST_REVIEWED,
                        target,
                        details([("decision", decision)]),
                    )
                    .await?;
                }
                Ok(request)
            })
        })
        .await
    }
}
