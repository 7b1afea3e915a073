//! Media (contract §6 "Media", `api.media.*.v1.json`): the round trip with SHA-256 (on
//! PostgreSQL too, under `AXP_TEST_BACKEND=postgres`), 413 past the limits, 409 on mismatches,
//! finalize without bytes, expiry by the durable timer on the manual clock, the receiving
//! agent of a referencing intent downloading, quotas, the access matrix (`docs/access.md`,
//! "media") with denied calls changing nothing, and deletion in the audit log.

use std::sync::Arc;

use axp_core::Timestamp;
use axp_core::api::AuditQuery;
use axp_engine::ManualClock;
use axp_test_util::TestServer;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::callers::{Callers, assert_schema, call};
use crate::helpers::http;

const O: &str = "agent://conformance/owner";

async fn create(server: &TestServer, key: &str, body: Value) -> (u16, Value) {
    call(server, key, Method::POST, "/v1/media/create-upload", Some(body)).await
}

/// A pending upload of `size` bytes owned by `owner`, created with `key`; its id.
async fn upload(server: &TestServer, key: &str, owner: &str, size: usize) -> String {
    let body = json!({"owner_agent": owner, "filename": "data.bin", "mime_type": "application/octet-stream",
                      "size_bytes": size});
    let (s, created) = create(server, key, body).await;
    assert_eq!(s, 200, "{created}");
    created["upload_id"].as_str().unwrap().to_owned()
}

/// `PUT`s `bytes` to upload `id` with `key`.
async fn put(server: &TestServer, key: &str, id: &str, bytes: Vec<u8>) -> (u16, Value) {
    let response = http()
        .put(format!("{}/v1/media/upload/{id}", server.base_url))
        .header("x-api-key", key)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `GET /v1/media/<kind>/<id>` with `key`: the status, headers and bytes.
async fn fetch(
    server: &TestServer,
    key: &str,
    kind: &str,
    id: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = http()
        .get(format!("{}/v1/media/{kind}/{id}", server.base_url))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn get(server: &TestServer, key: &str, id: &str) -> (u16, Value) {
    call(server, key, Method::GET, &format!("/v1/media/{id}"), None).await
}

async fn finalize(server: &TestServer, key: &str, body: Value) -> (u16, Value) {
    call(server, key, Method::POST, "/v1/media/finalize-upload", Some(body)).await
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn round_trip_with_sha256_and_the_refusals() {
    let server = TestServer::spawn().await;
    let admin = &server.admin_key;
    // 3 MiB + 1: several stream frames, several PostgreSQL chunks.
    let data: Vec<u8> = (0..(3 << 20) + 1).map(|i: usize| (i * 31 % 253) as u8).collect();
    let digest = sha(&data);
    let body = json!({"owner_agent": O, "filename": "contract.pdf", "mime_type": "application/pdf",
                      "size_bytes": data.len(), "sha256": digest, "ttl_seconds": 600});
    let (s, created) = create(&server, admin, body).await;
    assert_eq!(s, 200, "{created}");
    assert_schema("api.media.create_upload.response.v1", &created, &[]);
    let id = created["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(created["upload_url"], format!("{}/v1/media/upload/{id}", server.base_url));
    assert_eq!(
        (created["status"].as_str(), created["max_size_bytes"].as_u64()),
        (Some("pending"), Some(100 << 20))
    );

    let (s, got) = get(&server, admin, &id).await;
    assert_eq!(s, 200);
    assert_schema("api.media.get.response.v1", &got, &[]);
    assert_eq!(
        (got["upload"]["download_url"].clone(), got["upload"]["status"].as_str()),
        (Value::Null, Some("pending"))
    );
    let (s, _, _) = fetch(&server, admin, "download", &id).await;
    assert_eq!(s, 404, "no bytes yet");

    // Too many bytes: 413, nothing kept.
    let mut long = data.clone();
    long.push(0);
    let (s, refused) = put(&server, admin, &id, long).await;
    assert_eq!((s, refused["error"]["code"].as_str()), (413, Some("payload_too_large")), "{refused}");
    // Other bytes than declared: 409, nothing kept.
    let mut other = data.clone();
    other[0] ^= 1;
    let (s, refused) = put(&server, admin, &id, other).await;
    assert_eq!(
        (s, refused["error"]["details"]["reason"].as_str()),
        (409, Some("sha256_mismatch")),
        "{refused}"
    );
    let (s, _, _) = fetch(&server, admin, "download", &id).await;
    assert_eq!(s, 404, "refused bytes are not kept");

    let (s, sent) = put(&server, admin, &id, data.clone()).await;
    assert_eq!(s, 200, "{sent}");
    assert_eq!(
        (sent["size_bytes"].as_u64(), sent["sha256"].as_str()),
        (Some(data.len() as u64), Some(digest.as_str()))
    );

    let (s, mismatch) = finalize(&server, admin, json!({"upload_id": id, "size_bytes": 5})).await;
    assert_eq!((s, mismatch["error"]["details"]["reason"].as_str()), (409, Some("size_mismatch")));
    let (s, done) =
        finalize(&server, admin, json!({"upload_id": id, "size_bytes": data.len(), "sha256": digest})).await;
    assert_eq!(s, 200, "{done}");
    assert_schema("api.media.finalize_upload.response.v1", &done, &[]);
    assert_eq!((done["status"].as_str(), done["sha256"].as_str()), (Some("ready"), Some(digest.as_str())));

    let (_, got) = get(&server, admin, &id).await;
    assert_schema("api.media.get.response.v1", &got, &[]);
    assert_eq!(got["upload"]["download_url"], format!("{}/v1/media/download/{id}", server.base_url));
    for (kind, disposition) in [("download", "attachment"), ("preview", "inline")] {
        let (s, headers, bytes) = fetch(&server, admin, kind, &id).await;
        assert_eq!(s, 200);
        assert_eq!(sha(&bytes), digest, "{kind} returns the bytes");
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["content-length"], data.len().to_string().as_str());
        assert_eq!(
            headers["content-disposition"],
            format!("{disposition}; filename=\"contract.pdf\"").as_str()
        );
    }
    let (s, late) = put(&server, admin, &id, b"x".to_vec()).await;
    assert_eq!((s, late["error"]["details"]["reason"].as_str()), (409, Some("not_pending")));

    // Past the server's maximum, and invalid bodies.
    let big = json!({"owner_agent": O, "filename": "a", "mime_type": "a/b", "size_bytes": (100 << 20) + 1});
    let (s, refused) = create(&server, admin, big).await;
    assert_eq!((s, refused["error"]["code"].as_str()), (413, Some("payload_too_large")));
    for bad in [
        json!({}),
        json!({"owner_agent": O, "filename": "a", "mime_type": "a/b", "size_bytes": 0}),
        json!({"owner_agent": O, "filename": "a", "mime_type": "a/b", "size_bytes": 1, "ttl_seconds": 59}),
    ] {
        assert_eq!(create(&server, admin, bad.clone()).await.0, 422, "{bad}");
    }
    assert_eq!(
        finalize(&server, admin, json!({"upload_id": uuid::Uuid::new_v4(), "size_bytes": 1})).await.0,
        404
    );
}

#[tokio::test]
async fn finalize_without_bytes_and_expiry_by_the_timer() {
    let clock = ManualClock::new(Timestamp::from_millis(1_780_000_000_000));
    let server = TestServer::spawn_with_clock(Arc::new(clock.clone())).await;
    let admin = &server.admin_key;
    let id = upload(&server, admin, O, 12345).await;
    let (s, done) = finalize(&server, admin, json!({"upload_id": id, "size_bytes": 12345})).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!((done["status"].as_str(), done["upload_id"].as_str()), (Some("ready"), Some(id.as_str())));
    assert!(done["finalized_at"].is_string());

    let body = json!({"owner_agent": O, "filename": "a.txt", "mime_type": "text/plain", "size_bytes": 3, "ttl_seconds": 60});
    let (_, created) = create(&server, admin, body).await;
    let pending = created["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(put(&server, admin, &pending, b"abc".to_vec()).await.0, 200);
    clock.advance_seconds(59);
    assert_eq!(get(&server, admin, &pending).await.1["upload"]["status"], "pending");
    clock.advance_seconds(1);
    let mut status = Value::Null;
    for _ in 0..500 {
        status = get(&server, admin, &pending).await.1["upload"]["status"].clone();
        if status == "expired" {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(status, "expired", "the scheduler expired the pending upload");
    assert_eq!(fetch(&server, admin, "download", &pending).await.0, 404, "its bytes are gone");
    let (s, late) = finalize(&server, admin, json!({"upload_id": pending, "size_bytes": 3})).await;
    assert_eq!((s, late["error"]["details"]["reason"].as_str()), (409, Some("not_pending")));
    assert_eq!(get(&server, admin, &id).await.1["upload"]["status"], "ready", "a finalized upload stays");
}

#[tokio::test]
async fn the_receiving_agent_of_a_referencing_intent_downloads() {
    let server = TestServer::spawn().await;
    let (_, sender) = server.agent("media-sender", Some("agent://media/sender")).await;
    let (_, receiver) = server.agent("media-receiver", Some("agent://media/receiver")).await;
    let (_, stranger) = server.agent("media-stranger", Some("agent://media/stranger")).await;
    let id = upload(&server, &sender, "agent://media/sender", 5).await;
    assert_eq!(put(&server, &sender, &id, b"hello".to_vec()).await.0, 200);
    assert_eq!(finalize(&server, &sender, json!({"upload_id": id, "size_bytes": 5})).await.0, 200);
    for key in [&receiver, &stranger] {
        assert_eq!(get(&server, key, &id).await.0, 404, "not referenced yet");
    }

    let intent = json!({"intent_type": "document.review.v1", "to_agent": "agent://media/receiver",
                        "payload": {"document": {"upload_id": id, "filename": "data.bin"}}});
    let (s, created) = call(&server, &sender, Method::POST, "/v1/intents", Some(intent)).await;
    assert_eq!(s, 200, "{created}");
    let (s, got) = get(&server, &receiver, &id).await;
    assert_eq!((s, got["upload"]["status"].as_str()), (200, Some("ready")));
    let (s, _, bytes) = fetch(&server, &receiver, "download", &id).await;
    assert_eq!((s, bytes.as_slice()), (200, b"hello".as_slice()));
    assert_eq!(get(&server, &stranger, &id).await.0, 404, "anyone else still gets 404");
    assert_eq!(fetch(&server, &stranger, "preview", &id).await.0, 404);
    let (s, _) = call(&server, &receiver, Method::DELETE, &format!("/v1/media/{id}"), None).await;
    assert_eq!(s, 403, "reading is not owning");
    assert_eq!(get(&server, &sender, &id).await.0, 200);
}

#[tokio::test]
async fn media_quotas_refuse_with_retry_after() {
    let server = TestServer::spawn().await;
    let patch = json!({"dimensions": {"media_upload_bytes_per_day": 10, "media_storage_bytes": 8}});
    assert_eq!(call(&server, &server.admin_key, Method::PATCH, "/v1/quotas", Some(patch)).await.0, 200);
    let id = upload(&server, &server.admin_key, O, 8).await;
    let body = json!({"owner_agent": O, "filename": "a", "mime_type": "a/b", "size_bytes": 1});
    let (s, refused) = create(&server, &server.admin_key, body).await;
    assert_eq!((s, refused["error"]["details"]["dimension"].as_str()), (429, Some("media_storage_bytes")));
    assert_eq!(put(&server, &server.admin_key, &id, b"12345678".to_vec()).await.0, 200);
    let response = http()
        .put(format!("{}/v1/media/upload/{id}", server.base_url))
        .header("x-api-key", &server.admin_key)
        .body(b"12345678".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429, "8 more bytes do not fit 10 a day");
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn media_access_matrix_denied_calls_change_nothing_and_delete_is_audited() {
    let server = TestServer::spawn().await;
    let callers = Callers::new(&server).await;
    let owner = callers.agent_address.clone();
    for ((who, key), want) in callers.all().into_iter().zip([200, 200, 200, 403, 200]) {
        let body = json!({"owner_agent": owner, "filename": "a", "mime_type": "a/b", "size_bytes": 3});
        let (s, body) = create(&server, key, body).await;
        assert_eq!(s, want, "create as {who}: {body}");
    }
    let (s, _) = create(
        &server,
        &callers.agent,
        json!({"owner_agent": O, "filename": "a", "mime_type": "a/b", "size_bytes": 3}),
    )
    .await;
    assert_eq!(s, 403, "an agent creates only for its own address");

    let id = upload(&server, &server.admin_key, O, 3).await;
    for ((who, key), want) in callers.all().into_iter().zip([200, 200, 404, 200, 404]) {
        assert_eq!(get(&server, key, &id).await.0, want, "get as {who}");
    }
    for ((who, key), want) in callers.all().into_iter().zip([200, 200, 404, 403, 404]).rev() {
        let (s, body) = put(&server, key, &id, b"abc".to_vec()).await;
        assert_eq!(s, want, "put as {who}: {body}");
        if s != 200 {
            assert_eq!(
                fetch(&server, &server.admin_key, "download", &id).await.0,
                404,
                "{who} stored nothing"
            );
        }
    }
    for ((who, key), want) in callers.all().into_iter().skip(2).zip([404, 403, 404]) {
        let (s, _) = finalize(&server, key, json!({"upload_id": id, "size_bytes": 3})).await;
        assert_eq!(s, want, "finalize as {who}");
        assert_eq!(get(&server, &server.admin_key, &id).await.1["upload"]["status"], "pending");
    }
    for ((who, key), want) in callers.all().into_iter().skip(2).zip([404, 403, 404]) {
        let (s, _) = call(&server, key, Method::DELETE, &format!("/v1/media/{id}"), None).await;
        assert_eq!(s, want, "delete as {who}");
        assert_eq!(get(&server, &server.admin_key, &id).await.0, 200, "{who} deleted nothing");
    }
    let (s, deleted) = call(&server, &callers.member, Method::DELETE, &format!("/v1/media/{id}"), None).await;
    assert_eq!((s, deleted["deleted"].as_bool()), (200, Some(true)));
    assert_eq!(get(&server, &server.admin_key, &id).await.0, 404);
    assert_eq!(fetch(&server, &server.admin_key, "download", &id).await.0, 404);
    let query = AuditQuery { target_id: Some(id.clone()), ..Default::default() };
    let entries = server.client().list_audit(&query).await.unwrap().entries;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(
        (entries[0].action.as_str(), entries[0].target.kind.as_str()),
        ("media.deleted", "media_upload")
    );
}
