"""The public AXP conformance suite (`../shared/axp-conformance`, AXP-CONTRACT.md Appendix A)
against a fresh `axp` binary, with a key set up the way its README asks: agent address
`agent://conformance/owner` (§0.6) and a `member` membership.

Every check must pass except those issue 13 builds (media, schemas, MCP), listed by name below.
That list is strict: a listed check that starts passing fails this test, so the list shrinks as
issue 13 lands. The users and invites checks (8) must pass.

PENDING MERGE (marked below): the membership is granted through `POST
/v1/organizations/{org_id}/members`, which the tenancy branch adds. Where that route is missing
the key stays agent-scoped, the three users checks that act on the user it registered must be
refused (403), and they are run again with the bootstrap admin's key, where they must pass.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import httpx

from axp_harness import Axp

# Imported in place, never copied: <repo>/../shared/axp-conformance.
SUITE = Path(__file__).resolve().parents[2].parent / "shared" / "axp-conformance"
sys.path.insert(0, str(SUITE))

from conformance.suite import run_contract_suite, run_mcp_contract_suite  # noqa: E402

OWNER = "agent://conformance/owner"

# Checks issue 13 builds; until then they fail (strict: one that passes must be removed here).
ISSUE_13: dict[str, str] = {
    "media_create_upload": "media uploads (issue 13)",
    "media_get": "media uploads (issue 13)",
    "media_finalize_upload": "media uploads (issue 13)",
    "schemas_upsert": "semantic schemas (issue 13)",
    "schemas_get": "semantic schemas (issue 13)",
    "mcp_initialize": "MCP endpoint (issue 13)",
    "mcp_tools_list": "MCP endpoint (issue 13)",
    "mcp_tools_call": "MCP endpoint (issue 13)",
}

PEOPLE = {
    "invites_create",
    "invites_get",
    "invites_accept",
    "users_check_nick",
    "users_register_nick",
    "users_rename_nick",
    "users_profile_get",
    "users_profile_update",
}


# The users checks that act on the user the key registered (rename, profile get and update): an
# agent-scoped key may not act for `agent://user/<id>`; its `member` membership lets it.
OWNER_SCOPED = ("users_rename_nick", "users_profile_get", "users_profile_update")


def _conformance_key(axp: Axp) -> tuple[str, bool]:
    """A service account `agent://conformance/owner` with a `member` membership: its key, and
    whether the membership could be granted."""
    owner = axp.create_identity("conformance-owner", agent_address=OWNER)
    me = axp.admin_http.get("/v1/me")
    assert me.status_code == 200, me.text
    org_id, workspace_id = me.json()["actor"]["org_id"], me.json()["actor"]["workspace_id"]
    # PENDING MERGE: `POST /v1/organizations/{org_id}/members` comes with the tenancy branch (issue
    # 11). On a branch without it the route is unknown (404 "no such route") and the key stays
    # agent-scoped; once it exists the membership must be granted (200).
    r = axp.admin_http.post(
        f"/v1/organizations/{org_id}/members",
        json={"org_id": org_id, "workspace_id": workspace_id, "actor_id": owner.service_account_id, "role": "member"},
    )
    if r.status_code == 404 and r.json().get("detail") == "no such route":
        warnings.warn("PENDING MERGE: POST /v1/organizations/{org_id}/members is not routed: no membership")
        return owner.api_key, False
    assert r.status_code == 200, f"member membership: {r.status_code} {r.text}"
    return owner.api_key, True


def test_public_conformance_suite(fresh_axp: Axp) -> None:
    api_key, member = _conformance_key(fresh_axp)
    results = run_contract_suite(base_url=fresh_axp.base_url, api_key=api_key)
    results += run_mcp_contract_suite(base_url=fresh_axp.base_url, api_key=api_key)
    by_name = {r.name: r for r in results}
    assert len(by_name) == 36, sorted(by_name)
    assert PEOPLE <= by_name.keys() and ISSUE_13.keys() <= by_name.keys()

    expected = dict(ISSUE_13)
    if not member:
        # PENDING MERGE: without the membership these are refused (403), as access rules say.
        expected.update({name: "PENDING MERGE: no member membership" for name in OWNER_SCOPED})
    failed = {r.name: r.details for r in results if not r.passed and r.name not in expected}
    assert not failed, f"conformance checks failing: {failed}"
    fixed = sorted(name for name in expected if by_name[name].passed)
    assert not fixed, f"now passing, remove from the expected failures: {fixed}"
    people = {name: by_name[name] for name in PEOPLE}

    if not member:
        # PENDING MERGE: the same three checks with a key that has a role (the bootstrap org_owner).
        from conformance import suite

        for name in OWNER_SCOPED:
            assert by_name[name].details == "unexpected status=403", by_name[name]
        with httpx.Client(
            base_url=fresh_axp.base_url,
            headers={"Authorization": f"Bearer {fresh_axp.admin_key}", "Content-Type": "application/json"},
            timeout=15.0,
        ) as admin:
            for name in OWNER_SCOPED:
                people[name] = getattr(suite, f"_check_{name}_contract")(admin)
    assert all(r.passed for r in people.values()), people
