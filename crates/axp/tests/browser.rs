//! The web dashboard in a real browser (issue 15): Debian's `chromium` driven through
//! `chromedriver` by a WebDriver client, against the real binary. It signs in through the
//! one-time URL `axp ui --print-url` prints, watches an intent go COMPLETED live on its detail
//! page while the API completes it, and approves a waiting human task with a click. With
//! `AXP_UI_SCREENSHOT=<path.png>` it also saves a screenshot of the intents list there.
//!
//! Needs `apt-get install -y chromium chromium-driver`. Without them the test skips loudly,
//! unless `AXP_REQUIRE_BROWSER` is set (CI sets it): then their absence fails it. Nothing here
//! downloads a browser.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axp_test_util::binary::{ServeCommand, ServeProcess};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a condition in the browser may take to hold (debug build, shared CI machine).
const WAIT: Duration = Duration::from_secs(30);

/// Variables of the developer's shell that would point the CLI or server elsewhere.
const HOST_VARS: [&str; 8] = [
    "AXP_URL",
    "AXME_BASE_URL",
    "AXP_API_KEY",
    "AXME_API_KEY",
    "AXP_CONTEXT",
    "AXP_DATA_DIR",
    "AXP_DATABASE_URL",
    "AXP_BOOTSTRAP_KEY",
];

/// The first of `names` found on `PATH` (or as an absolute path).
fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .chain([PathBuf::from(name)])
            .find(|p| p.is_file())
    })
}

/// chromium and chromedriver, or `None` (after saying so loudly) when the test may skip.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = which(&["chromium", "chromium-browser"]);
    let driver = which(&["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let missing = format!("chromium: {c:?}, chromedriver: {d:?}");
            if std::env::var_os("AXP_REQUIRE_BROWSER").is_some() {
                panic!("AXP_REQUIRE_BROWSER is set but the browser is missing ({missing})");
            }
            eprintln!(
                "\n!!!!!! SKIPPING the browser test: {missing}. Install Debian's `chromium` and \
                 `chromium-driver` (apt-get install -y chromium chromium-driver) to run it. !!!!!!\n"
            );
            None
        }
    }
}

/// A chromedriver on a free loopback port; killed (by its own pid) when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(binary: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless chromium session.
async fn browser(driver: &Driver, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// The API as `key`: status and body.
async fn api(
    axp: &ServeProcess,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", axp.url()))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// `axp ui --print-url` against the server: the URL it printed.
fn print_url(axp: &ServeProcess, key: &str, home: &Path) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_axp"));
    for name in HOST_VARS {
        command.env_remove(name);
    }
    let out = command
        .args(["ui", "--print-url"])
        .env("AXP_URL", axp.url())
        .env("AXP_API_KEY", key)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .output()
        .expect("run axp ui");
    assert!(out.status.success(), "axp ui: {}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(url.starts_with(&format!("{}/ui/login/", axp.url())), "{url}");
    url
}

/// Waits (bounded, in the browser: WebDriver's own polling) until an element at XPath `path`
/// reads `want` (whitespace normalized).
async fn wait_text(client: &Client, path: &str, want: &str) {
    let condition = format!("{path}[normalize-space(.)='{want}']");
    if let Err(e) = client.wait().at_most(WAIT).for_element(Locator::XPath(&condition)).await {
        let now = match client.find(Locator::XPath(path)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => "(no such element)".to_owned(),
        };
        panic!("{path} still reads {now:?}, not {want:?}: {e}");
    }
}

#[tokio::test]
async fn sign_in_watch_an_intent_complete_and_approve_a_task() {
    let Some((chromium, chromedriver)) = browser_binaries() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let axp =
        ServeCommand::new(env!("CARGO_BIN_EXE_axp"), tmp.path().join("data")).env_remove(HOST_VARS).start();
    let key = axp.admin_key();
    let driver = Driver::start(&chromedriver);
    let client = browser(&driver, &chromium).await;
    let result = scenario(&client, &axp, &key, tmp.path()).await;
    client.close().await.ok();
    result.unwrap();
}

async fn scenario(
    client: &Client,
    axp: &ServeProcess,
    key: &str,
    home: &Path,
) -> Result<(), fantoccini::error::CmdError> {
    use reqwest::Method;

    // Sign in through the one-time URL; it lands on the intents list.
    let url = print_url(axp, key, home);
    client.goto(&url).await?;
    wait_text(client, "//main/h1", "Intents").await;
    assert_eq!(client.current_url().await?.path(), "/ui");
    let source = client.source().await?;
    assert!(!source.contains(key), "the key is never in a page");

    // An intent goes COMPLETED on its open detail page, completed through the API meanwhile.
    let create =
        json!({"intent_type": "browser.test.v1", "to_agent": "agent://browser/worker", "payload": {"n": 1}});
    let (s, created) = api(axp, key, Method::POST, "/v1/intents", create).await;
    assert_eq!(s, 200, "{created}");
    let id = created["intent_id"].as_str().unwrap().to_owned();
    client.goto(&format!("{}/ui/intents/{id}", axp.url())).await?;
    wait_text(client, "//*[@id='status']", "SUBMITTED").await;
    let done = json!({"status": "COMPLETED", "result": {"answer": 42}});
    let (s, body) = api(axp, key, Method::POST, &format!("/v1/intents/{id}/resolve"), done).await;
    assert_eq!(s, 200, "{body}");
    wait_text(client, "//*[@id='status']", "COMPLETED").await;
    assert_eq!(client.current_url().await?.path(), format!("/ui/intents/{id}"), "no reload: live");
    assert!(client.find(Locator::Css("pre.result")).await?.text().await?.contains("42"));

    // A waiting human task, approved with a click in the inbox.
    let admin = axp_client::Client::new(axp.url(), key);
    let request = axp_client::CreateServiceAccountRequest { name: "requester".into(), ..Default::default() };
    let account = admin.create_service_account(&request).await.expect("a service account");
    let issued = admin.create_api_key(account.service_account_id).await.expect("a key");
    let requester = issued.token.expect("a new key carries its token");
    let task = json!({"intent_type": "expense.approve.v1", "to_agent": "agent://browser/approver",
        "payload": {"amount": 120}, "human_task": {"title": "Approve 120 EUR", "task_type": "approval"}});
    let (s, created) = api(axp, &requester, Method::POST, "/v1/intents", task).await;
    assert_eq!((s, created["status"].as_str()), (200, Some("WAITING")), "{created}");
    let task_id = created["intent_id"].as_str().unwrap().to_owned();
    client.goto(&format!("{}/ui/inbox", axp.url())).await?;
    let approve = format!("section[data-intent=\"{task_id}\"] button[value=\"approve\"]");
    client.find(Locator::Css(&approve)).await?.click().await?;
    // The decision's answer is the inbox again, without the task.
    let decided = format!("//main[h1='Inbox' and not(.//section[@data-intent='{task_id}'])]");
    client.wait().at_most(WAIT).for_element(Locator::XPath(&decided)).await?;
    let (_, intent) = api(axp, key, Method::GET, &format!("/v1/intents/{task_id}"), Value::Null).await;
    assert_eq!(intent["intent"]["status"], "COMPLETED", "{intent}");
    assert_eq!(intent["intent"]["result"]["task_result"]["outcome"], "approved");

    if let Some(path) = std::env::var_os("AXP_UI_SCREENSHOT") {
        screenshot(client, axp, key, Path::new(&path)).await?;
    }
    Ok(())
}

/// With `AXP_UI_SCREENSHOT=<path.png>`: a few more intents of several types and states, and a
/// 1280x800 screenshot of the intents list showing them, saved to `path` (the README's
/// `docs/img/dashboard.png`).
async fn screenshot(
    client: &Client,
    axp: &ServeProcess,
    key: &str,
    path: &Path,
) -> Result<(), fantoccini::error::CmdError> {
    use reqwest::Method;

    let intents = [
        ("invoice.extract.v1", "agent://acme/billing/extractor", None),
        (
            "support.triage.v1",
            "agent://acme/support/triage",
            Some(json!({"status": "COMPLETED", "result": {"queue": "billing"}})),
        ),
        (
            "report.render.v1",
            "agent://acme/reports/renderer",
            Some(json!({"status": "FAILED", "error": {"code": "timeout", "message": "renderer timed out"}})),
        ),
        (
            "order.ship.v1",
            "agent://acme/shop/fulfilment",
            Some(json!({"status": "CANCELED", "reason": "customer canceled"})),
        ),
        ("lead.enrich.v1", "agent://acme/sales/enricher", None),
    ];
    for (intent_type, to_agent, outcome) in intents {
        let create = json!({"intent_type": intent_type, "to_agent": to_agent, "payload": {}});
        let (s, created) = api(axp, key, Method::POST, "/v1/intents", create).await;
        assert_eq!(s, 200, "{created}");
        if let Some(outcome) = outcome {
            let id = created["intent_id"].as_str().unwrap();
            let (s, body) = api(axp, key, Method::POST, &format!("/v1/intents/{id}/resolve"), outcome).await;
            assert_eq!(s, 200, "{body}");
        }
    }
    client.set_window_size(1280, 800).await?;
    client.goto(&format!("{}/ui", axp.url())).await?;
    let listed = "//tbody[@id='rows' and .//td[normalize-space(.)='lead.enrich.v1']]";
    client.wait().at_most(WAIT).for_element(Locator::XPath(listed)).await?;
    let png = client.screenshot().await?;
    std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    eprintln!("the dashboard's screenshot is at {}", path.display());
    Ok(())
}
