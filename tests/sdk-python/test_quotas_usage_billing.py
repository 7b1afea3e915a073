"""Quotas, usage and billing through the real SDK (contract §6 "Quotas", "Usage", "Billing"):
`get_quota`/`update_quota`, a hard `intents_per_day` block as `AxmeRateLimitError`
(`quota_exceeded`), `get_usage_summary`/`get_usage_timeseries` from the counters, the fixed
self-hosted plan and its empty invoice list; a member may read but not change the quotas."""

from __future__ import annotations

import pytest
from axme_sdk import AxmeAuthError, AxmeHttpError, AxmeRateLimitError

from axp_harness import Axp, unique

DIMENSIONS = {
    "requests_per_minute", "intents_per_day", "inbox_writes_per_day", "media_upload_bytes_per_day",
    "media_storage_bytes", "webhook_deliveries_per_day", "schema_writes_per_day",
}
POLICY_FIELDS = {
    "quota_policy_id", "org_id", "workspace_id", "dimensions", "soft_threshold_percent", "hard_enforcement",
    "overage_mode", "updated_by_actor_id", "updated_at",
}


def _workspace_key(admin, org_id: str, workspace_id: str, role: str) -> str:
    """A key of a new service account of `workspace_id` holding `role` there."""
    account = admin.create_service_account(
        {"org_id": org_id, "workspace_id": workspace_id, "name": unique("quota"), "created_by_actor_id": "sdk"}
    )["service_account"]
    member = {"org_id": org_id, "workspace_id": workspace_id, "actor_id": account["service_account_id"], "role": role}
    admin.add_organization_member(org_id, member)
    return admin.create_service_account_key(account["service_account_id"], {})["key"]["token"]


def test_quota_blocks_intents_and_usage_counts_them(axp: Axp) -> None:
    # A workspace of its own: the servers of a PostgreSQL run share one database, and another
    # server's counts of a shared workspace reach the store whenever it flushes them.
    admin = axp.client()
    org_id = admin.create_organization({"name": unique("Quota"), "requested_by_actor_id": "sdk"})["organization"]["org_id"]
    ws_id = admin.create_workspace(org_id, {"name": "Quota", "environment": "sandbox"})["workspace"]["workspace_id"]
    scope = {"org_id": org_id, "workspace_id": ws_id}
    ops = axp.client(_workspace_key(admin, org_id, ws_id, "workspace_admin"))

    policy = ops.get_quota(**scope)["quota_policy"]
    assert set(policy) == POLICY_FIELDS and set(policy["dimensions"]) == DIMENSIONS
    assert policy["overage_mode"] == "block" and policy["hard_enforcement"] is True
    assert ops.get_usage_summary(**scope)["summary"]["dimensions"]["intents_per_day"]["used"] == 0

    limit = 2
    updated = ops.update_quota({**scope, "dimensions": {"intents_per_day": limit}})["quota_policy"]
    assert updated["dimensions"]["intents_per_day"] == limit and updated["updated_at"] is not None
    assert ops.get_quota(**scope)["quota_policy"] == updated

    for i in range(limit):
        ops.send_intent({"intent_type": "sdk.quota.v1", "to_agent": "agent://worker", "payload": {"i": i}})
    # No Idempotency-Key: the SDK does not retry the refused POST.
    with pytest.raises(AxmeRateLimitError) as refused:
        ops.send_intent({"intent_type": "sdk.quota.v1", "to_agent": "agent://worker", "payload": {"i": limit}})
    assert refused.value.status_code == 429

    summary = ops.get_usage_summary(**scope)["summary"]
    assert summary["workspace_id"] == ws_id
    assert summary["dimensions"]["intents_per_day"] == {"used": limit, "limit": limit, "remaining": 0}
    series = ops.get_usage_timeseries(**scope, window_days=3)["series"]
    assert series["granularity"] == "day" and len(series["points"]) == 3
    assert series["points"][-1]["dimensions"]["intents_per_day"] == limit

    as_member = axp.client(_workspace_key(admin, org_id, ws_id, "member"))
    assert as_member.get_quota(**scope)["quota_policy"]["dimensions"]["intents_per_day"] == limit
    with pytest.raises(AxmeAuthError) as denied:
        as_member.update_quota({**scope, "dimensions": {"intents_per_day": 1000}})
    assert denied.value.status_code == 403
    assert ops.get_quota(**scope)["quota_policy"]["dimensions"]["intents_per_day"] == limit

def test_billing_is_a_fixed_self_hosted_plan(admin) -> None:
    plan = admin.get_billing_plan(org_id="", workspace_id="")["billing_plan"]
    assert plan["plan_code"] == "self_hosted" and plan["monthly_commit_minor"] == 0
    with pytest.raises(AxmeAuthError) as denied:
        admin.update_billing_plan({"plan_id": "enterprise"})
    assert denied.value.status_code == 403
    assert admin.list_billing_invoices(org_id="", workspace_id="")["invoices"] == []
    with pytest.raises(AxmeHttpError) as missing:
        admin.get_billing_invoice("inv_missing")
    assert missing.value.status_code == 404
