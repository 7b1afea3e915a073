"""Media through the real SDK (contract §6 "Media"): `create_media_upload`, the byte upload to
its `upload_url` (raw HTTP: the SDK has no method for it), `finalize_media_upload` with the
SHA-256, `get_media_upload` and its download/preview URLs; a size mismatch is a validation error
(409); the receiving agent of an intent whose payload references the upload downloads it; an
agent-scoped stranger gets 404."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from axme_sdk import AxmeHttpError, AxmeValidationError

from axp_harness import Axp, is_uuid, unique


def test_media_round_trip_and_payload_reference(fresh_axp: Axp) -> None:
    sender_id = fresh_axp.create_identity(unique("sender"))
    receiver_id = fresh_axp.create_identity(unique("receiver"))
    stranger_id = fresh_axp.create_identity(unique("stranger"))
    sender = fresh_axp.client(sender_id.api_key)
    data = bytes(range(256)) * 4096 + b"end"  # 1 MiB + 3
    digest = hashlib.sha256(data).hexdigest()

    created = sender.create_media_upload({
        "owner_agent": sender_id.agent_address, "filename": "report.bin", "mime_type": "application/octet-stream",
        "size_bytes": len(data), "sha256": digest,
    })
    upload_id = created["upload_id"]
    assert created["ok"] is True and is_uuid(upload_id) and created["status"] == "pending"
    assert created["upload_url"].endswith(f"/v1/media/upload/{upload_id}")

    sent = httpx.put(created["upload_url"], content=data, headers={"x-api-key": sender_id.api_key}, timeout=30)
    assert sent.status_code == 200, sent.text
    assert sent.json()["sha256"] == digest

    with pytest.raises(AxmeValidationError) as mismatch:
        sender.finalize_media_upload({"upload_id": upload_id, "size_bytes": len(data) - 1})
    assert mismatch.value.status_code == 409
    done = sender.finalize_media_upload({"upload_id": upload_id, "size_bytes": len(data), "sha256": digest})
    assert done["status"] == "ready" and done["sha256"] == digest and done["finalized_at"]

    upload = sender.get_media_upload(upload_id)["upload"]
    assert upload["status"] == "ready" and upload["size_bytes"] == len(data)
    for url, disposition in ((upload["download_url"], "attachment"), (upload["preview_url"], "inline")):
        got = httpx.get(url, headers={"x-api-key": sender_id.api_key}, timeout=30)
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == digest
        assert got.headers["content-disposition"].startswith(disposition)

    # The receiver reads it once an intent referencing it was sent to it; nobody else does.
    receiver = fresh_axp.client(receiver_id.api_key)
    with pytest.raises(AxmeHttpError) as hidden:
        receiver.get_media_upload(upload_id)
    assert hidden.value.status_code == 404
    sender.send_intent({
        "intent_type": "document.review.v1", "to_agent": receiver_id.agent_address,
        "payload": {"document": {"upload_id": upload_id, "filename": "report.bin"}},
    })
    assert receiver.get_media_upload(upload_id)["upload"]["upload_id"] == upload_id
    got = httpx.get(upload["download_url"], headers={"x-api-key": receiver_id.api_key}, timeout=30)
    assert got.status_code == 200 and got.content == data
    with pytest.raises(AxmeHttpError) as stranger:
        fresh_axp.client(stranger_id.api_key).get_media_upload(upload_id)
    assert stranger.value.status_code == 404


def test_finalize_without_bytes_and_size_limit(fresh_axp: Axp) -> None:
    admin = fresh_axp.client()
    created = admin.create_media_upload({
        "owner_agent": "agent://conformance/owner", "filename": "contract.pdf", "mime_type": "application/pdf",
        "size_bytes": 12345,
    })
    done = admin.finalize_media_upload({"upload_id": created["upload_id"], "size_bytes": 12345})
    assert done["status"] == "ready" and done["upload_id"] == created["upload_id"]
    with pytest.raises(AxmeValidationError) as too_big:
        admin.create_media_upload({
            "owner_agent": "agent://conformance/owner", "filename": "big.bin", "mime_type": "application/octet-stream",
            "size_bytes": created["max_size_bytes"] + 1,
        })
    assert too_big.value.status_code == 413
