"""Payload schemas through the real SDK (contract §6 "Schemas"): `upsert_schema` and
`get_schema` with the hash over canonical JSON and idempotent repeats, a `strict` schema
refusing a `send_intent` with 422 (`AxmeValidationError`) naming the JSON pointer and the rule,
`warn` accepting with `schema_warnings`, a remote `$ref` refused, and the roles: a viewer may
read but not write, a member may write, core schemas are the operator's."""

from __future__ import annotations

import hashlib
import json
from uuid import uuid4

import pytest
from axme_sdk import AxmeAuthError, AxmeHttpError, AxmeValidationError

from axp_harness import Axp, unique


def semantic_type(tag: str) -> str:
    # Unique per run: servers may share one PostgreSQL database, and core schemas are server-wide.
    return f"sdk.{unique('s').replace('-', '_').lower()}.{tag}.v1"


def canonical_hash(schema: dict) -> str:
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_upsert_get_and_strict_refusal(fresh_axp: Axp) -> None:
    admin = fresh_axp.client()
    ty = semantic_type("order")
    schema = {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}
    up = admin.upsert_schema({"semantic_type": ty, "schema_json": schema, "compatibility_mode": "strict"})
    saved = up["schema"]
    assert up["ok"] is True and saved["semantic_type"] == ty and saved["scope"] == "tenant"
    assert saved["schema_hash"] == canonical_hash(schema)
    assert saved["schema_ref"] == f"schema://{ty}" and saved["active"] is True
    assert admin.upsert_schema({"semantic_type": ty, "schema_json": schema, "compatibility_mode": "strict"}) == up

    got = admin.get_schema(ty)["schema"]
    assert got["schema_json"] == schema and got["schema_hash"] == saved["schema_hash"]

    ok = admin.send_intent({"intent_type": ty, "to_agent": "agent://worker", "payload": {"sku": "a-1", "qty": 2}})
    assert ok
    with pytest.raises(AxmeValidationError) as refused:
        admin.send_intent({"intent_type": ty, "to_agent": "agent://worker", "payload": {"sku": "a-1", "qty": 0}})
    body = refused.value.body
    assert refused.value.status_code == 422
    assert body["error"]["code"] == "validation_error"
    assert body["errors"][0]["loc"] == ["body", "payload", "qty"] and body["errors"][0]["type"] == "minimum"
    assert '"/qty"' in body["error"]["message"]

    with pytest.raises(AxmeHttpError) as missing:
        admin.get_schema(semantic_type("never"))
    assert missing.value.status_code == 404


def test_warn_reports_and_remote_refs_are_refused(fresh_axp: Axp) -> None:
    admin = fresh_axp.client()
    ty = semantic_type("note")
    schema = {"type": "object", "properties": {"text": {"type": "string"}}}
    admin.upsert_schema({"semantic_type": ty, "schema_json": schema, "compatibility_mode": "warn"})
    created = admin.create_intent({"intent_type": ty, "to_agent": "agent://worker", "payload": {"text": 5}}, correlation_id=str(uuid4()))
    assert created["intent_id"] and created["schema_warnings"][0]["pointer"] == "/text"
    assert created["schema_warnings"][0]["keyword"] == "type"

    with pytest.raises(AxmeValidationError):
        admin.upsert_schema({"semantic_type": semantic_type("remote"), "schema_json": {"$ref": "http://127.0.0.1:9/s.json"}, "compatibility_mode": "strict"})


def test_roles_and_core_scope(fresh_axp: Axp) -> None:
    admin = fresh_axp.client()
    ty = semantic_type("roles")
    body = {"semantic_type": ty, "schema_json": {"type": "object"}, "compatibility_mode": "backward"}
    admin.upsert_schema(body)

    viewer = fresh_axp.client(fresh_axp.create_identity(role="security_auditor").api_key)
    assert viewer.get_schema(ty)["schema"]["semantic_type"] == ty
    with pytest.raises(AxmeAuthError):
        viewer.upsert_schema({**body, "compatibility_mode": "warn"})

    member = fresh_axp.client(fresh_axp.create_identity(role="member").api_key)
    assert member.upsert_schema({**body, "compatibility_mode": "warn"})["schema"]["compatibility_mode"] == "warn"
    with pytest.raises(AxmeAuthError):
        member.upsert_schema({**body, "scope": "core"})

    core = admin.upsert_schema({**body, "semantic_type": semantic_type("core"), "scope": "core"})["schema"]
    assert core["scope"] == "core" and core["owner_agent"] is None
