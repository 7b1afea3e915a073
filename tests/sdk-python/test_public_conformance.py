"""The public AXP conformance suite (`../shared/axp-conformance`, AXP-CONTRACT.md Appendix A)
against a fresh `axp` binary, with a key set up the way its README asks: agent address
`agent://conformance/owner` (§0.6) and a `member` membership.

All 36 checks must pass: the 33 of the contract suite and the 3 of the MCP suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

from axp_harness import Axp

# Imported in place, never copied: <repo>/../shared/axp-conformance.
SUITE = Path(__file__).resolve().parents[2].parent / "shared" / "axp-conformance"
sys.path.insert(0, str(SUITE))

from conformance.suite import run_contract_suite, run_mcp_contract_suite  # noqa: E402

OWNER = "agent://conformance/owner"


def test_public_conformance_suite(fresh_axp: Axp) -> None:
    # The suite's key: `agent://conformance/owner` with a `member` membership (it reads other
    # owners' inboxes and acts for the user it registers).
    api_key = fresh_axp.identity_at(OWNER, role="member").api_key
    results = run_contract_suite(base_url=fresh_axp.base_url, api_key=api_key)
    results += run_mcp_contract_suite(base_url=fresh_axp.base_url, api_key=api_key)
    by_name = {r.name: r for r in results}
    assert len(by_name) == 36, sorted(by_name)
    failed = {r.name: r.details for r in results if not r.passed}
    assert not failed, f"conformance checks failing: {failed}"
