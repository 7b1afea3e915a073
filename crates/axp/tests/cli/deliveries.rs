//! The http binding seen from the CLI: an agent registered with `--delivery-mode http`, its
//! pushes dead-lettered by a failing receiver, `deliveries list|get`, and `deliveries replay`
//! once the receiver is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use axp_client::DeliveryStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::{Server, Shell};

/// A tiny HTTP receiver on the loopback: answers every request with the current `status` and
/// reports each request's body on the channel.
async fn receiver(status: Arc<AtomicU16>) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (status, tx) = (status.clone(), tx.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                let body = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break String::from_utf8_lossy(&request[end + 4..end + 4 + length]).into_owned();
                        }
                    }
                };
                let code = status.load(Ordering::SeqCst);
                let reply = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = tx.send(body);
            });
        }
    });
    (url, rx)
}

/// Waits (bounded) until the delivery of `intent` reaches `status`, re-reading it each time.
async fn until_status(client: &axp_client::Client, status: DeliveryStatus) -> axp_client::Delivery {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = client.list_deliveries(Some(status), None).await.unwrap();
        if let Some(d) = found.into_iter().next() {
            return d;
        }
        assert!(Instant::now() < deadline, "no delivery became {status:?}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn dead_letters_are_listed_and_replayed() {
    let server = Server::start_with_env(&[
        ("AXP_OUTBOUND_ALLOW", "127.0.0.0/8"),
        ("AXP_PUSH_RETRY_SCHEDULE", "0s,0s"),
    ])
    .await;
    let sh = Shell::for_server(&server);
    let status = Arc::new(AtomicU16::new(500));
    let (url, mut hits) = receiver(status.clone()).await;

    let registered = sh
        .run(&[
            "agents",
            "register",
            "--name",
            "pusher",
            "--delivery-mode",
            "http",
            "--delivery-url",
            &url,
            "--json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(registered["delivery_mode"], "http");
    assert_eq!(registered["delivery_config"]["url"], url.as_str());
    assert!(
        registered["delivery_config"]["secret"].as_str().unwrap().len() >= 16,
        "the secret is shown once"
    );
    let shown = sh.run(&["agents", "show", "pusher", "--json"]).await.expect(0).json();
    assert!(shown["delivery_config"].get("secret").is_none(), "and never again: {shown}");

    let intent = sh.run(&["intents", "send", "--to", "pusher", "--json"]).await.expect(0).json();
    let intent_id = intent["intent_id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let body = tokio::time::timeout(Duration::from_secs(20), hits.recv()).await.unwrap().unwrap();
        assert!(body.contains(&intent_id), "the push carries the intent: {body}");
    }
    let client = server.client();
    let dead = until_status(&client, DeliveryStatus::DeadLettered).await;

    let listed =
        sh.run(&["deliveries", "list", "--status", "dead_lettered", "--json"]).await.expect(0).json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["delivery_id"], dead.delivery_id.to_string());
    let table = sh.run(&["deliveries", "list"]).await.expect(0);
    assert!(table.stdout.contains("dead_lettered") && table.stdout.contains(&intent_id), "{table}");
    let got = sh.run(&["deliveries", "get", &dead.delivery_id.to_string()]).await.expect(0);
    assert!(got.stdout.contains("attempt 2") && got.stdout.contains("HTTP 500"), "{got}");

    // The receiver is back: the replay goes through.
    status.store(200, Ordering::SeqCst);
    let replay =
        sh.run(&["deliveries", "replay", &dead.delivery_id.to_string(), "--json"]).await.expect(0).json();
    assert_eq!(replay["replay_of_delivery_id"], dead.delivery_id.to_string());
    tokio::time::timeout(Duration::from_secs(20), hits.recv()).await.unwrap().unwrap();
    let delivered = until_status(&client, DeliveryStatus::Delivered).await;
    assert_eq!(delivered.delivery_id.to_string(), replay["delivery_id"].as_str().unwrap());

    sh.run(&["deliveries", "get", "not-an-id"]).await.expect(2);
    sh.run(&["deliveries", "get", "0190f3a8-8a3e-7c1b-9d2e-3f4a5b6c7d8e"]).await.expect(1);
}
