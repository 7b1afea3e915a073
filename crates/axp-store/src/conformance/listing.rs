//! Listing intents (`GET /v1/intents`): the filters, both orders, and keyset pages that visit
//! every intent exactly once, also when intents share a `created_at` or new ones arrive
//! between pages.

use axp_core::api::{IntentPosition, SortOrder};
use axp_core::ids::IntentId;
use axp_core::intent::NewIntent;
use axp_core::lifecycle::{Command, Resolution};
use axp_core::{Intent, Status};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use super::{address, after_ms, by, obj, request, tenant};
use crate::{IntentFilter, Principal, Store};

/// Bare names of the agents the stories send to and from, and their intent types.
const AGENTS: [&str; 3] = ["alpha", "beta", "gamma"];
const TYPES: [&str; 2] = ["notify.message.v1", "report.make.v1"];

/// One intent to create: its `created_at` (ms after [`T0`]; few values, so many collide), its
/// target, sender and type (indexes into [`AGENTS`] and [`TYPES`]), its id's bits (random, so
/// ties on `created_at` break in no particular creation order) and how it ends (0: stays
/// SUBMITTED, 1: COMPLETED, 2: CANCELED).
#[derive(Clone, Debug)]
struct Spec {
    at: i64,
    to: usize,
    from: usize,
    kind: usize,
    id: u128,
    end: u8,
}

/// One walk over the pages of a listing: its filter (statuses as [`ENDS`] indexes), order and
/// page size, and after which pages a new intent is created (`arrivals[i]` after page `i`).
#[derive(Clone, Debug)]
struct Walk {
    statuses: Vec<usize>,
    to: Option<usize>,
    from: Option<usize>,
    kind: Option<usize>,
    after: Option<i64>,
    before: Option<i64>,
    desc: bool,
    page: u32,
    arrivals: Vec<Option<Spec>>,
}

/// The statuses [`Spec::end`] leads to.
const ENDS: [Status; 3] = [Status::Submitted, Status::Completed, Status::Canceled];

fn spec() -> impl Strategy<Value = Spec> {
    (0..4i64, 0..AGENTS.len(), 0..AGENTS.len(), 0..TYPES.len(), any::<u128>(), 0..3u8)
        .prop_map(|(at, to, from, kind, id, end)| Spec { at, to, from, kind, id, end })
}

fn walk() -> impl Strategy<Value = Walk> {
    let filters = (
        prop::collection::vec(0..ENDS.len(), 0..3),
        prop::option::weighted(0.3, 0..AGENTS.len()),
        prop::option::weighted(0.3, 0..AGENTS.len()),
        prop::option::weighted(0.3, 0..TYPES.len()),
        prop::option::weighted(0.3, 0..4i64),
        prop::option::weighted(0.3, 0..4i64),
    );
    let arrivals = prop::collection::vec(prop::option::weighted(0.4, spec()), 0..8);
    (filters, any::<bool>(), 1..6u32, arrivals).prop_map(
        |((statuses, to, from, kind, after, before), desc, page, arrivals)| Walk {
            statuses,
            to,
            from,
            kind,
            after,
            before,
            desc,
            page,
            arrivals,
        },
    )
}

/// Creates the intent `s` describes in `p`'s workspace and ends it as `s.end` says.
async fn create(store: &dyn Store, p: &Principal, s: &Spec) -> Intent {
    let new = NewIntent::new(TYPES[s.kind], address(p, AGENTS[s.to]), obj(json!({"n": 1})));
    let (intent, events) =
        new.into_intent(IntentId(uuid::Uuid::from_u128(s.id)), &address(p, AGENTS[s.from]), after_ms(s.at));
    let id = intent.intent_id;
    store.create_intent(&p.tenant, intent, events, None).await.expect("create intent");
    let end = match s.end {
        1 => Some(Resolution::Completed(json!({"ok": true}))),
        2 => Some(Resolution::Canceled("listing".into())),
        _ => None,
    };
    if let Some(end) = end {
        let now = after_ms(s.at);
        store
            .execute(&p.tenant, id, request(Command::Resolve(end)), now, None, &by())
            .await
            .expect("resolve");
    }
    store.get_intent(&p.tenant, id).await.expect("created")
}

impl Walk {
    fn filter(&self, p: &Principal) -> IntentFilter {
        let agent = |i: Option<usize>| i.map(|i| address(p, AGENTS[i]).into_string());
        IntentFilter {
            statuses: self.statuses.iter().map(|&i| ENDS[i]).collect(),
            to_agent: agent(self.to),
            from_agent: agent(self.from),
            intent_type: self.kind.map(|i| TYPES[i].to_owned()),
            created_after: self.after.map(after_ms),
            created_before: self.before.map(after_ms),
            order: if self.desc { SortOrder::Desc } else { SortOrder::Asc },
            start_after: None,
            limit: self.page,
        }
    }
}

/// What `f` lists of `intents`, by the filter's documented meaning, in its order.
fn expected(intents: &[Intent], f: &IntentFilter) -> Vec<IntentId> {
    let mut listed: Vec<&Intent> = intents
        .iter()
        .filter(|i| f.statuses.is_empty() || f.statuses.contains(&i.status))
        .filter(|i| f.to_agent.as_ref().is_none_or(|a| *a == i.to_agent))
        .filter(|i| f.from_agent.as_ref().is_none_or(|a| *a == i.from_agent))
        .filter(|i| f.intent_type.as_ref().is_none_or(|t| *t == i.intent_type))
        .filter(|i| f.created_after.is_none_or(|t| i.created_at >= t))
        .filter(|i| f.created_before.is_none_or(|b| i.created_at <= b))
        .collect();
    listed.sort_by_key(|i| IntentPosition::of(i));
    if f.order == SortOrder::Desc {
        listed.reverse();
    }
    listed.iter().map(|i| i.intent_id).collect()
}

/// Walks every page of `walk` (creating its arrivals between pages) and checks: no intent twice,
/// the pages in order, and every intent that existed before the walk listed exactly when the
/// filter matches it.
async fn check_walk(store: &dyn Store, p: &Principal, intents: &mut Vec<Intent>, walk: &Walk) {
    let mut filter = walk.filter(p);
    let before = expected(intents, &filter);
    let mut seen: Vec<Intent> = Vec::new();
    let mut arrivals = walk.arrivals.iter();
    for _ in 0..=intents.len() + walk.arrivals.len() + 1 {
        let page = store.list_intents(&p.tenant, &filter).await.expect("list");
        assert!(page.len() <= filter.limit as usize, "at most limit: {walk:?}");
        let full = page.len() == filter.limit as usize;
        filter.start_after = page.last().map(IntentPosition::of).or(filter.start_after);
        seen.extend(page);
        if !full {
            let positions: Vec<_> = seen.iter().map(IntentPosition::of).collect();
            let ordered = positions.windows(2).all(|w| match filter.order {
                SortOrder::Asc => w[0] < w[1],
                SortOrder::Desc => w[0] > w[1],
            });
            assert!(ordered, "pages in order, none twice: {walk:?}\n{positions:?}");
            let old: Vec<IntentId> =
                seen.iter().map(|i| i.intent_id).filter(|id| before.contains(id)).collect();
            assert_eq!(old, before, "every intent that existed is listed once: {walk:?}");
            let all = expected(intents, &IntentFilter { start_after: None, ..filter.clone() });
            assert!(seen.iter().all(|i| all.contains(&i.intent_id)), "only matching intents: {walk:?}");
            return;
        }
        if let Some(Some(arrival)) = arrivals.next()
            && !intents.iter().any(|i| i.intent_id.0.as_u128() == arrival.id)
        {
            intents.push(create(store, p, arrival).await);
        }
    }
    panic!("the walk did not end: {walk:?}");
}

/// A property over generated workspaces: random intents whose `created_at` often collide, each
/// walked with random filters, orders and page sizes while new intents arrive between pages.
/// Every walk lists, page by page, exactly the filtered intents in order, each once. The cases
/// come from a fixed seed (no shrinking: a failure prints its whole case).
pub async fn keyset_walks(store: &dyn Store) {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let case = (prop::collection::vec(spec(), 0..24), prop::collection::vec(walk(), 1..5));
    for _ in 0..16 {
        let (specs, walks) = case.new_tree(&mut runner).expect("a case").current();
        let (p, _) = tenant(store).await;
        let mut intents = Vec::new();
        for s in &specs {
            if !intents.iter().any(|i: &Intent| i.intent_id.0.as_u128() == s.id) {
                intents.push(create(store, &p, s).await);
            }
        }
        for walk in &walks {
            check_walk(store, &p, &mut intents, walk).await;
        }
    }
}

/// The filters one by one, bounds inclusive, the default order oldest first, and tenancy:
/// another workspace's intents to the same address are never listed.
pub async fn filters(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (other, _) = tenant(store).await;
    let spec = |at, to, from, kind, end| Spec { at, to, from, kind, id: uuid::Uuid::now_v7().as_u128(), end };
    let a = create(store, &p, &spec(0, 0, 1, 0, 0)).await;
    let b = create(store, &p, &spec(1, 1, 0, 1, 1)).await;
    let c = create(store, &p, &spec(2, 0, 0, 1, 2)).await;
    create(store, &other, &spec(1, 0, 1, 0, 0)).await;
    let ids = |list: Vec<Intent>| list.into_iter().map(|i| i.intent_id).collect::<Vec<_>>();
    let tenant = &p.tenant;
    let list = |f: IntentFilter| async move {
        let limit = if f.limit == 0 { 10 } else { f.limit };
        ids(store.list_intents(tenant, &IntentFilter { limit, ..f }).await.expect("list"))
    };
    let all = [a.intent_id, b.intent_id, c.intent_id];
    assert_eq!(list(IntentFilter::default()).await, all, "oldest first");
    let newest = list(IntentFilter { order: SortOrder::Desc, ..Default::default() }).await;
    assert_eq!(newest, [c.intent_id, b.intent_id, a.intent_id], "newest first");
    let cases = [
        (
            IntentFilter { to_agent: Some(a.to_agent.clone()), ..Default::default() },
            vec![a.intent_id, c.intent_id],
        ),
        (IntentFilter { from_agent: Some(a.from_agent.clone()), ..Default::default() }, vec![a.intent_id]),
        (
            IntentFilter { intent_type: Some(TYPES[1].into()), ..Default::default() },
            vec![b.intent_id, c.intent_id],
        ),
        (
            IntentFilter { statuses: vec![Status::Submitted, Status::Canceled], ..Default::default() },
            vec![a.intent_id, c.intent_id],
        ),
        (
            IntentFilter {
                created_after: Some(b.created_at),
                created_before: Some(b.created_at),
                ..Default::default()
            },
            vec![b.intent_id],
        ),
        (IntentFilter { created_after: Some(after_ms(3)), ..Default::default() }, vec![]),
        (
            IntentFilter { start_after: Some(IntentPosition::of(&a)), limit: 1, ..Default::default() },
            vec![b.intent_id],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(list(filter.clone()).await, want, "{filter:?}");
    }
}
