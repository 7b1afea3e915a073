//! Address grants: an admin lets a service account act as further agent addresses (a dispatcher
//! serving several agents), and withdraws that; the account's principal follows at once.

use axp_core::Status;
use axp_test_util::TestServer;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

async fn change(server: &TestServer, key: &str, account: &str, action: &str, address: &str) -> (u16, Value) {
    let response = http()
        .post(format!("{}/v1/service-accounts/{account}/{action}", server.base_url))
        .header("x-api-key", key)
        .json(&json!({"agent_address": address}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_granted_address_is_served_until_the_grant_is_withdrawn() {
    let server = TestServer::spawn().await;
    let (sa, key) = server.agent("dispatcher", None).await;
    let dispatcher = server.client_with_key(&key);
    let account = sa.service_account_id.to_string();
    let first = server.client().create_intent(&notify("billing"), None).await.unwrap().intent_id;
    assert_eq!(dispatcher.claim_intents("billing", 1, 0).await.unwrap_err().status(), Some(403));

    // Only an admin grants: the dispatcher cannot grant itself.
    let (status, _) = change(&server, &key, &account, "grants", "billing").await;
    assert_eq!(status, 403);
    let (status, body) = change(&server, &server.admin_key, &account, "grants", "billing").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grants"], json!(["agent://default/default/billing"]));

    let claimed = dispatcher.claim_intents("billing", 1, 0).await.expect("granted");
    assert_eq!(claimed.len(), 1);
    assert_eq!(dispatcher.get_intent(first).await.unwrap().status, Status::Delivered, "it reads it too");
    dispatcher.resolve(first, &json!({"status": "COMPLETED", "result": {}})).await.expect("and resolves it");

    let (status, body) = change(&server, &server.admin_key, &account, "grants/revoke", "billing").await;
    assert_eq!((status, body["grants"].clone()), (200, json!([])));
    let second = server.client().create_intent(&notify("billing"), None).await.unwrap().intent_id;
    assert_eq!(
        dispatcher.claim_intents("billing", 1, 0).await.unwrap_err().status(),
        Some(403),
        "withdrawn at once"
    );
    assert_eq!(dispatcher.get_intent(second).await.unwrap_err().status(), Some(404));

    let (status, _) =
        change(&server, &server.admin_key, &uuid::Uuid::new_v4().to_string(), "grants", "x").await;
    assert_eq!(status, 404, "an unknown account");
    let (status, _) = change(&server, &server.admin_key, &account, "grants", "not an address!").await;
    assert_eq!(status, 422);
}
