"""Tenancy through the real SDK (contract §6 "Organizations", "Principals, aliases", "Access
requests"): every organization, workspace, member, principal, alias and access-request method of
`AxmeClient`, and a new workspace's first key made with the SDK's service-account calls."""

from __future__ import annotations

import uuid

import pytest
from axme_sdk import AxmeAuthError, AxmeHttpError, AxmeValidationError

from axp_harness import Axp, is_uuid, unique

ORG_FIELDS = {"org_id", "name", "legal_name", "primary_domain", "status", "metadata", "created_at", "updated_at"}
WORKSPACE_FIELDS = {"workspace_id", "org_id", "name", "environment", "status", "region", "created_at", "updated_at"}
MEMBER_FIELDS = {"member_id", "org_id", "workspace_id", "actor_id", "role", "status", "created_at", "updated_at"}
PRINCIPAL_FIELDS = {
    "principal_id", "org_id", "workspace_id", "principal_type", "display_name", "status", "metadata",
    "created_at", "updated_at",
}
ALIAS_FIELDS = {
    "alias_id", "principal_id", "org_id", "workspace_id", "alias", "alias_type", "status", "metadata",
    "created_at", "updated_at", "revoked_at",
}
ACCESS_REQUEST_FIELDS = {
    "access_request_id", "request_type", "state", "requester_actor_id", "org_id", "workspace_id",
    "requested_role", "company_name", "justification", "reviewer_actor_id", "review_comment", "reviewed_at",
    "created_at", "updated_at",
}


def _status(excinfo: pytest.ExceptionInfo[AxmeHttpError]) -> int:
    return excinfo.value.status_code


def test_organizations_workspaces_and_members(axp: Axp) -> None:
    admin = axp.client()
    name = unique("Acme")
    created = admin.create_organization(
        {"name": name, "legal_name": "Acme Ltd", "requested_by_actor_id": "sdk-test", "metadata": {"tier": "gold"}}
    )
    assert created["ok"] is True
    org = created["organization"]
    assert set(org) == ORG_FIELDS
    assert is_uuid(org["org_id"]) and org["status"] == "active" and org["metadata"] == {"tier": "gold"}
    org_id = org["org_id"]

    got = admin.get_organization(org_id)["organization"]
    assert set(got) == ORG_FIELDS | {"workspaces_count", "members_count"}
    assert (got["workspaces_count"], got["members_count"]) == (0, 1)

    updated = admin.update_organization(org_id, {"org_id": org_id, "primary_domain": "acme.example"})
    assert updated["organization"]["primary_domain"] == "acme.example"
    assert updated["organization"]["name"] == name

    ws = admin.create_workspace(org_id, {"org_id": org_id, "name": "Prod", "environment": "production", "region": "eu"})
    workspace = ws["workspace"]
    assert set(workspace) == WORKSPACE_FIELDS and workspace["environment"] == "production"
    listed = admin.list_workspaces(org_id)["workspaces"]
    assert [w["workspace_id"] for w in listed] == [workspace["workspace_id"]]
    renamed = admin.update_workspace(org_id, workspace["workspace_id"], {"name": "Production", "status": "active"})
    assert renamed["workspace"]["name"] == "Production"

    members = admin.list_organization_members(org_id)["members"]
    assert [m["role"] for m in members] == ["org_owner"]
    added = admin.add_organization_member(
        org_id,
        {"org_id": org_id, "workspace_id": workspace["workspace_id"], "actor_id": "user-7", "role": "member"},
    )["member"]
    assert set(added) == MEMBER_FIELDS and added["status"] == "active"
    in_ws = admin.list_organization_members(org_id, workspace_id=workspace["workspace_id"])["members"]
    assert {m["actor_id"] for m in in_ws} == {members[0]["actor_id"], "user-7"}
    changed = admin.update_organization_member(
        org_id, added["member_id"], {"org_id": org_id, "member_id": added["member_id"], "role": "billing_viewer"}
    )
    assert changed["member"]["role"] == "billing_viewer"
    removed = admin.remove_organization_member(org_id, added["member_id"])
    assert removed["ok"] is True and removed["removed"] is True
    assert (removed["org_id"], removed["member_id"]) == (org_id, added["member_id"])
    assert set(removed) == {"ok", "removed", "org_id", "member_id", "removed_at"}

    with pytest.raises(AxmeValidationError) as info:
        admin.remove_organization_member(org_id, members[0]["member_id"])
    assert _status(info) == 409, "an organization keeps its last owner"
    with pytest.raises(AxmeValidationError) as info:
        admin.create_workspace(org_id, {"name": "Qa", "environment": "qa"})
    assert _status(info) == 422
    with pytest.raises(AxmeHttpError) as info:
        admin.get_organization(str(uuid.uuid4()))
    assert _status(info) == 404


def test_a_new_workspace_gets_its_first_key_through_the_sdk(axp: Axp) -> None:
    admin = axp.client()
    org_id = admin.create_organization({"name": unique("Globex"), "requested_by_actor_id": "sdk"})["organization"]["org_id"]
    ws_id = admin.create_workspace(org_id, {"name": "Main", "environment": "sandbox"})["workspace"]["workspace_id"]
    account = admin.create_service_account(
        {"org_id": org_id, "workspace_id": ws_id, "name": "ops", "created_by_actor_id": "sdk"}
    )["service_account"]
    assert (account["org_id"], account["workspace_id"]) == (org_id, ws_id)
    assert account["agent_address"].endswith("/main/ops")
    listed = admin.list_service_accounts(org_id=org_id, workspace_id=ws_id)["service_accounts"]
    assert [a["service_account_id"] for a in listed] == [account["service_account_id"]]
    key = admin.create_service_account_key(account["service_account_id"], {})["key"]
    ops = axp.client(api_key=key["token"])
    me = ops.get_service_account(account["service_account_id"])["service_account"]
    assert me["agent_address"] == account["agent_address"]
    with pytest.raises(AxmeAuthError) as info:
        ops.list_workspaces(org_id)
    assert _status(info) == 403, "an agent key reads nothing of its organization"


def test_principals_and_aliases(axp: Axp) -> None:
    admin = axp.client()
    org_id = admin.create_organization({"name": unique("Dir"), "requested_by_actor_id": "sdk"})["organization"]["org_id"]
    ws_id = admin.create_workspace(org_id, {"name": "People", "environment": "staging"})["workspace"]["workspace_id"]

    principal = admin.create_principal(
        {"org_id": org_id, "workspace_id": ws_id, "principal_type": "user", "display_name": "Ada", "metadata": {}}
    )["principal"]
    assert set(principal) == PRINCIPAL_FIELDS and principal["status"] == "active"
    assert admin.get_principal(principal["principal_id"])["principal"] == principal

    alias = admin.bind_alias({"principal_id": principal["principal_id"], "alias": "ada@people", "alias_type": "communication"})
    bound = alias["alias"]
    assert set(bound) == ALIAS_FIELDS and bound["status"] == "active" and bound["revoked_at"] is None
    with pytest.raises(AxmeValidationError) as info:
        admin.bind_alias({"principal_id": principal["principal_id"], "alias": "ada@people", "alias_type": "service"})
    assert _status(info) == 409

    listed = admin.list_aliases(org_id=org_id, workspace_id=ws_id)["aliases"]
    assert [a["alias_id"] for a in listed] == [bound["alias_id"]]
    resolution = admin.resolve_alias(org_id=org_id, workspace_id=ws_id, alias="ada@people")["resolution"]
    assert resolution["alias"] == bound
    assert resolution["principal"] == {
        "principal_id": principal["principal_id"],
        "principal_type": "user",
        "display_name": "Ada",
        "status": "active",
    }

    revoked = admin.revoke_alias(bound["alias_id"])["alias"]
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    with pytest.raises(AxmeHttpError) as info:
        admin.resolve_alias(org_id=org_id, workspace_id=ws_id, alias="ada@people")
    assert _status(info) == 404


def test_access_requests(axp: Axp) -> None:
    admin = axp.client()
    org_id = admin.create_organization({"name": unique("Req"), "requested_by_actor_id": "sdk"})["organization"]["org_id"]
    asker = axp.create_identity(unique("asker"))
    as_asker = axp.client(api_key=asker.api_key)

    created = as_asker.create_access_request(
        {
            "request_type": "join_organization",
            "requester_actor_id": asker.service_account_id,
            "org_id": org_id,
            "requested_role": "member",
            "justification": "to help",
        }
    )["access_request"]
    assert set(created) == ACCESS_REQUEST_FIELDS and created["state"] == "pending"
    request_id = created["access_request_id"]
    assert as_asker.get_access_request(request_id)["access_request"] == created

    pending = admin.list_access_requests(org_id=org_id, state="pending")["access_requests"]
    assert [r["access_request_id"] for r in pending] == [request_id]
    assert admin.get_access_request(request_id)["access_request"]["state"] == "pending"

    with pytest.raises(AxmeAuthError):
        as_asker.review_access_request(request_id, {"decision": "approve", "reviewer_actor_id": "me"})
    reviewed = admin.review_access_request(
        request_id, {"decision": "approve", "reviewer_actor_id": "sdk-admin", "review_comment": "welcome"}
    )["access_request"]
    assert reviewed["state"] == "approved" and reviewed["reviewer_actor_id"] == "sdk-admin"
    with pytest.raises(AxmeValidationError) as info:
        admin.review_access_request(request_id, {"decision": "reject", "reviewer_actor_id": "sdk-admin"})
    assert _status(info) == 409

    # The approved membership applies at once: the asker now reads the organization.
    members = as_asker.list_organization_members(org_id)["members"]
    assert any(m["actor_id"] == asker.service_account_id and m["role"] == "member" for m in members)
    assert admin.list_access_requests(org_id=org_id, state="pending")["access_requests"] == []
