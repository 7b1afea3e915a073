"""Every (method, path) the official SDK (`axme==0.2.0`, `axme_sdk/client.py` and `mesh.py`)
calls is served (issue 13, "Done when"): none may answer the router's "no such route" fallback
or 405. The routes are read from the SDK's source, not listed here, so an SDK upgrade that adds
one shows up as a failure.

Each route is called once with the admin key, placeholder ids and an empty body: the answer may
be any status (404 for an unknown id, 422 for the empty body), only not "no such route".
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import axme_sdk

from axp_harness import Axp

CALL = re.compile(r'_request(?:_json)?\(\s*"([A-Z]+)"\s*,\s*f?"(/[^"]*)"')
PLACEHOLDER = re.compile(r"\{[^}]*\}")


def sdk_routes() -> set[tuple[str, str]]:
    root = Path(axme_sdk.__file__).parent
    routes = set()
    for name in ("client.py", "mesh.py"):
        routes |= set(CALL.findall((root / name).read_text()))
    # The MCP endpoint is configurable in the SDK (`mcp_endpoint_path`, default "/mcp").
    routes.add(("POST", "/mcp"))
    return routes


def test_every_route_the_sdk_calls_is_served(fresh_axp: Axp) -> None:
    routes = sdk_routes()
    assert len(routes) >= 92, sorted(routes)
    http = fresh_axp.http(fresh_axp.admin_key, bearer=True)
    unserved = []
    for method, path in sorted(routes, key=lambda r: (r[1], r[0])):
        url = PLACEHOLDER.sub(lambda m: "nobody" if m.group(0) == "{path_part}" else str(uuid.uuid4()), path)
        body = {} if method in ("POST", "PATCH", "PUT") else None
        response = http.request(method, url, json=body)
        fallback = response.status_code == 405 or (
            response.status_code == 404 and "no such route" in response.text
        )
        if fallback:
            unserved.append(f"{method} {path} -> {response.status_code}")
    assert not unserved, unserved
