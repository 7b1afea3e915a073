"""Quotas, usage and billing through the real SDK (contract §6 "Quotas", "Usage", "Billing"):
`get_quota`/`update_quota`, a hard `intents_per_day` block as `AxmeRateLimitError`
(`quota_exceeded`), `get_usage_summary`/`get_usage_timeseries` from the counters, the fixed
self-hosted plan and its empty invoice list; a member may read but not change the quotas."""

from __future__ import annotations

import pytest
from axme_sdk import AxmeAuthError, AxmeHttpError, AxmeRateLimitError

from axp_harness import Axp

DIMENSIONS = {
    "requests_per_minute", "intents_per_day", "inbox_writes_per_day", "media_upload_bytes_per_day",
    "media_storage_bytes", "webhook_deliveries_per_day", "schema_writes_per_day",
}
POLICY_FIELDS = {
    "quota_policy_id", "org_id", "workspace_id", "dimensions", "soft_threshold_percent", "hard_enforcement",
    "overage_mode", "updated_by_actor_id", "updated_at",
}


def test_quota_blocks_intents_and_usage_counts_them(fresh_axp: Axp) -> None:
    admin = fresh_axp.client()
    sa = fresh_axp.admin_http.get("/v1/service-accounts", params={"limit": 1}).json()["service_accounts"][0]
    scope = {"org_id": sa["org_id"], "workspace_id": sa["workspace_id"]}

    policy = admin.get_quota(**scope)["quota_policy"]
    assert set(policy) == POLICY_FIELDS and set(policy["dimensions"]) == DIMENSIONS
    assert policy["overage_mode"] == "block" and policy["hard_enforcement"] is True

    # The suite may run every server on one shared PostgreSQL database: count from what this
    # workspace already used today, and put the policy back however the test ends.
    original = policy["dimensions"]["intents_per_day"]
    used = admin.get_usage_summary(**scope)["summary"]["dimensions"]["intents_per_day"]["used"]
    limit = used + 2
    try:
        updated = admin.update_quota({**scope, "dimensions": {"intents_per_day": limit}})["quota_policy"]
        assert updated["dimensions"]["intents_per_day"] == limit and updated["updated_at"] is not None
        assert admin.get_quota(**scope)["quota_policy"] == updated

        for i in range(2):
            admin.send_intent({"intent_type": "sdk.quota.v1", "to_agent": "agent://worker", "payload": {"i": i}})
        # No Idempotency-Key: the SDK does not retry the refused POST.
        with pytest.raises(AxmeRateLimitError) as refused:
            admin.send_intent({"intent_type": "sdk.quota.v1", "to_agent": "agent://worker", "payload": {"i": 2}})
        assert refused.value.status_code == 429

        summary = admin.get_usage_summary(**scope)["summary"]
        assert summary["workspace_id"] == scope["workspace_id"]
        assert summary["dimensions"]["intents_per_day"] == {"used": limit, "limit": limit, "remaining": 0}
        series = admin.get_usage_timeseries(**scope, window_days=3)["series"]
        assert series["granularity"] == "day" and len(series["points"]) == 3
        assert series["points"][-1]["dimensions"]["intents_per_day"] == limit

        member = fresh_axp.create_identity(role="member")
        as_member = fresh_axp.client(member.api_key)
        assert as_member.get_quota(**scope)["quota_policy"]["dimensions"]["intents_per_day"] == limit
        with pytest.raises(AxmeAuthError) as denied:
            as_member.update_quota({**scope, "dimensions": {"intents_per_day": 1000}})
        assert denied.value.status_code == 403
        assert admin.get_quota(**scope)["quota_policy"]["dimensions"]["intents_per_day"] == limit
    finally:
        admin.update_quota({**scope, "dimensions": {"intents_per_day": original}})

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
