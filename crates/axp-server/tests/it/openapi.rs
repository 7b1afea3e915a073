//! `docs/openapi/axp-extensions.json` documents the operations axp adds to the gateway API; this
//! checks that every documented operation is routed (no drift between the document and the
//! server).

use axp_test_util::TestServer;
use serde_json::Value;

use crate::helpers::http;

#[tokio::test]
async fn every_documented_extension_is_served() {
    let raw = include_str!("../../../../docs/openapi/axp-extensions.json");
    let doc: Value = serde_json::from_str(raw).expect("valid JSON");
    let server = TestServer::spawn().await;
    let sample = uuid::Uuid::new_v4().to_string();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let url = format!(
            "{}{}",
            server.base_url,
            path.replace("{address}", "someone")
                .replace(['{', '}'], "")
                .replace("delivery_id", &sample)
                .replace("service_account_id", &sample)
        );
        for (method, op) in ops.as_object().unwrap() {
            assert_eq!(op["x-axp-extension"], true, "{method} {path}");
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let response = http()
                .request(method.clone(), &url)
                .header("x-api-key", &server.admin_key)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(body["detail"], "no such route", "{method} {path} is not routed");
            assert_ne!(status, 405, "{method} {path}: method not allowed");
            checked += 1;
        }
    }
    assert!(checked >= 9);
}
