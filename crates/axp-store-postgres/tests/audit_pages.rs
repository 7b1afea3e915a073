//! A page of the audit log below a cursor never changes under concurrent writers (the rule of
//! `axp_store::tables::AuditTable`): three replicas' writer lanes mint keys, each audited, while
//! a reader takes the newest page and the page below its last entry, again and again. Ids come
//! from the writing transactions (`xid << 20 | n`), which commit in any order; a read that did
//! not stop at the safe horizon would return a page that an older transaction, committing
//! later, then changes. At the end every page is read again and must be the same. With the
//! horizon taken out of `list_audit` this fails (4 runs of 5 when written).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axp_core::Timestamp;
use axp_core::api::AuditEntry;
use axp_core::ids::OrgId;
use axp_engine::{Ledger, Presence};
use axp_store::{Audit, AuditFilter, NoListener, Store, generate_api_key};
use axp_store_postgres::testdb::test_database;
use axp_store_postgres::{PgOptions, PgStore};

const WRITERS: usize = 9;
const PER_WRITER: usize = 60;
const PAGE: u32 = 5;
const T0: Timestamp = Timestamp::from_millis(1_780_000_000_000);

/// Until `done`: the newest page, then the page below its last entry, which must be the same
/// each time that cursor comes back; returns those lower pages by cursor.
async fn read_pages(store: Ledger, org: OrgId, done: Arc<AtomicBool>) -> HashMap<u64, Vec<AuditEntry>> {
    let mut pages = HashMap::new();
    loop {
        let finished = done.load(Ordering::Acquire);
        let (newest, _) = store.list_audit(&AuditFilter::org(org, PAGE)).await.expect("read");
        assert!(newest.windows(2).all(|w| w[0].audit_id > w[1].audit_id), "newest first");
        if let Some(cursor) = newest.last().map(|e| e.audit_id) {
            let below = AuditFilter { before: Some(cursor), ..AuditFilter::org(org, PAGE) };
            let (page, _) = store.list_audit(&below).await.expect("read");
            assert!(page.iter().all(|e| e.audit_id < cursor));
            let first = pages.entry(cursor).or_insert_with(|| page.clone());
            assert_eq!(*first, page, "the page below {cursor} changed");
        }
        if finished {
            return pages;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_below_a_cursor_never_change_under_concurrent_writers() {
    let Some(db) = test_database().await else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the audit page test");
        return;
    };
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let backend =
            PgStore::connect(&db.url, PgOptions::default(), Arc::new(NoListener)).await.expect("connect");
        replicas.push((backend.clone(), Ledger::new(Arc::new(backend), Presence::default())));
    }
    let (p, _) = axp_store::conformance::bootstrap(&replicas[0].1).await;
    let org = p.tenant.org_id;
    let account = p.actor.service_account().expect("a service account");
    let done = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn(read_pages(replicas[1].1.clone(), org, done.clone()));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, p) = (replicas[w % 3].1.clone(), p.clone());
            tokio::spawn(async move {
                for n in 0..PER_WRITER {
                    let (_, key) = generate_api_key(account, T0, None);
                    let by = Audit::new(&p.actor, Some(format!("w{w}-{n}")));
                    store.create_api_key(&p.tenant, account, key, &by).await.expect("mint");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    done.store(true, Ordering::Release);
    let pages = reader.await.expect("reader");
    assert!(!pages.is_empty());

    let store = &replicas[2].1;
    for (cursor, page) in &pages {
        let again = AuditFilter { before: Some(*cursor), ..AuditFilter::org(org, PAGE) };
        assert_eq!(&store.list_audit(&again).await.expect("read").0, page, "the page below {cursor} changed");
    }
    let (all, more) = store.list_audit(&AuditFilter::org(org, 1000)).await.expect("read");
    assert_eq!((all.len(), more), (WRITERS * PER_WRITER, false), "every entry is listed once");
    for (backend, _) in replicas {
        backend.close().await;
    }
}
