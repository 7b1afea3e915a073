//! The examples run, not just compile: each is included here as a module and driven against a
//! real in-process server on port 0.

#[allow(dead_code)] // the example's `main` reads the environment; the test calls `run` instead
#[path = "../examples/durable_api.rs"]
mod durable_api;

use axp_client::{Client, Status};
use axp_server::{Config, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_api_example_completes_its_intent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::build(Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().to_path_buf() })
        .await
        .unwrap();
    let key = server.bootstrapped().unwrap().api_key.clone();
    let url = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));

    let client = Client::new(&url, &key);
    let intent = durable_api::run(&client, "agent://examples/reporter").await.unwrap();
    assert_eq!(intent.status, Status::Completed);
    let result = intent.result.unwrap();
    assert!(result["report_url"].as_str().unwrap().starts_with("https://reports.example/"), "{result}");

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
