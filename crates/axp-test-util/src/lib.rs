//! Test harness for axp.
//!
//! [`TestServer::spawn`] starts a real server in-process on `127.0.0.1:0` over a fresh temporary
//! data directory. The listener is bound before the server task starts, so a test can call it at
//! once: nothing sleeps waiting for startup. Tests talk to it through `axp-client` (the SDK is
//! exercised on every run) and reach the store directly only to set up what the API cannot,
//! such as a second tenant.
//!
//! With `AXP_TEST_BACKEND=postgres` (and `AXP_TEST_DATABASE_URL` naming a server tests may create
//! databases on) every server runs on its own fresh PostgreSQL database instead of SQLite, so
//! the same end-to-end tests cover both stores; the database is dropped with the server.
//!
//! [`binary`] runs the real `axp` binary instead, for what needs a process: signals, `kill -9`
//! and restarts, the data-directory lock, listener and TLS settings.

pub mod binary;
pub mod receiver;

use std::sync::Arc;

use axp_client::Client;
use axp_core::api::{ApiKey, CreateServiceAccountRequest, ServiceAccount};
use axp_core::ids::ServiceAccountId;
use axp_engine::{Clock, SystemClock};
use axp_server::{AppState, Config, Options, Server};

use axp_store::{Principal, TenantSpec};
use axp_store_postgres::testdb::{self, TestDatabase};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server with its own data directory; stopped and deleted on drop.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The bootstrap admin's key.
    pub admin_key: String,
    /// The bootstrap admin.
    pub admin: Principal,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
    /// The PostgreSQL database under `AXP_TEST_BACKEND=postgres`; dropped after the server.
    database: Option<Arc<TestDatabase>>,
}

impl TestServer {
    /// Starts a server on the system clock.
    pub async fn spawn() -> Self {
        Self::spawn_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts a server whose time comes from `clock`.
    pub async fn spawn_with_clock(clock: Arc<dyn Clock>) -> Self {
        let options = Options::from_env().expect("options from the environment");
        Self::spawn_with(Options { clock, ..options }).await
    }

    /// Starts a server with explicit options (clock, push schedule, outbound allow-list).
    pub async fn spawn_with(mut options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = match (postgres_backend(), &options.database_url) {
            (Some(server_url), None) => {
                let db = TestDatabase::create(&server_url).await.expect("create a test database");
                options.database_url = Some(db.url.clone());
                Some(Arc::new(db))
            }
            _ => None,
        };
        let (server, state) = Self::build(dir.path(), options).await;
        let boot = server.bootstrapped().cloned().expect("a fresh data dir bootstraps");
        let (stop, task) = Self::run(server);
        Self {
            base_url: state.1,
            admin_key: boot.api_key,
            admin: boot.principal,
            state: state.0,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
            database,
        }
    }

    async fn build(dir: &std::path::Path, options: Options) -> (Server, (AppState, String)) {
        let config = Config { listen: "127.0.0.1:0".into(), data_dir: dir.to_path_buf() };
        let server = Server::build_with(config, options).await.expect("server builds");
        let base_url = format!("http://{}", server.local_addr());
        let state = server.state().clone();
        (server, (state, base_url))
    }

    fn run(server: Server) -> (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>) {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run_until(async move {
                    let _ = stopped.await;
                })
                .await
        });
        (stop, task)
    }

    /// Stops the server gracefully and starts a new one on the same data directory and clock
    /// (a new port), as an operator's restart would. Keys and data carry over.
    pub async fn restart(mut self) -> Self {
        let options = self.state.options.as_ref().clone();
        self.shutdown().await;
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().expect("temp dir"));
        let (server, (state, base_url)) = Self::build(dir.path(), options).await;
        assert!(server.bootstrapped().is_none(), "a restart does not bootstrap again");
        let (stop, task) = Self::run(server);
        Self {
            base_url,
            admin_key: self.admin_key.clone(),
            admin: self.admin.clone(),
            state,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
            database: self.database.clone(),
        }
    }

    /// A client with the admin key.
    pub fn client(&self) -> Client {
        self.client_with_key(&self.admin_key)
    }

    /// A client with `key`.
    pub fn client_with_key(&self, key: &str) -> Client {
        Client::new(&self.base_url, key)
    }

    /// Whether this server runs on PostgreSQL (`AXP_TEST_BACKEND=postgres`).
    pub fn on_postgres(&self) -> bool {
        self.database.is_some()
    }

    /// The server's shared state (store, notifier, clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Creates a service account `name` (with `agent_address` when given) through the API and
    /// returns it with a fresh key's token.
    pub async fn agent(&self, name: &str, agent_address: Option<&str>) -> (ServiceAccount, String) {
        let client = self.client();
        let sa = client
            .create_service_account(&CreateServiceAccountRequest {
                name: name.into(),
                agent_address: agent_address.map(str::to_owned),
                ..Default::default()
            })
            .await
            .expect("create service account");
        let key: ApiKey = client.create_api_key(sa.service_account_id).await.expect("create key");
        (sa, key.token.expect("a new key carries its token"))
    }

    /// Like [`TestServer::agent`], with an active membership giving the account `role` in this
    /// server's workspace (added directly in the store).
    pub async fn agent_with_role(
        &self,
        name: &str,
        agent_address: Option<&str>,
        role: axp_core::access::Role,
    ) -> (ServiceAccount, String) {
        let (sa, key) = self.agent(name, agent_address).await;
        let now = self.state.clock.now();
        self.state
            .store
            .add_member(
                sa.org_id,
                Some(sa.workspace_id),
                &sa.service_account_id.to_string(),
                role,
                now,
                &axp_store::Audit::server(),
            )
            .await
            .expect("add member");
        (sa, key)
    }

    /// Creates another organization/workspace directly in the store (the API has no tenant
    /// creation yet) and returns its admin key.
    pub async fn other_tenant(&self) -> String {
        let ws = format!("ws-{}", ServiceAccountId::new().0.simple());
        let (spec, token) =
            TenantSpec::with_admin("other-org", &ws, "test", self.state.clock.now()).expect("valid slugs");
        self.state.store.create_tenant(spec).await.expect("create tenant");
        token
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran cleanly");
        }
    }
}

/// The PostgreSQL server to run test servers on, when `AXP_TEST_BACKEND=postgres`.
///
/// # Panics
/// When `AXP_TEST_BACKEND` names something else, or `postgres` without `AXP_TEST_DATABASE_URL`:
/// a misconfigured run must not pass quietly on SQLite.
fn postgres_backend() -> Option<String> {
    match std::env::var("AXP_TEST_BACKEND").ok().as_deref().map(str::trim) {
        None | Some("" | "sqlite") => None,
        Some("postgres") => {
            Some(testdb::server_url().expect("AXP_TEST_BACKEND=postgres needs AXP_TEST_DATABASE_URL"))
        }
        Some(other) => panic!("AXP_TEST_BACKEND={other:?}: expected sqlite or postgres"),
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
