//! `GET /v1/intents`: the SDK's list (contract §5.8) with axp's filters, newest-first order and
//! keyset pages (axp extensions in `/openapi.json`; the cursor is
//! [`axp_core::api::IntentCursor`]).

use axp_core::address::AddressScope;
use axp_core::api::{IntentCursor, IntentPosition, ListIntentsResponse, SortOrder};
use axp_core::validate::{INTENT_TYPE, INTENT_TYPE_MAX_LEN};
use axp_core::{AgentAddress, Intent, Status};
use axp_store::IntentFilter;
use axum::Json;
use axum::extract::State;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, QueryMap};
use crate::state::AppState;

/// Intents a page holds unless `limit` says otherwise (the SDK's default too).
const DEFAULT_LIMIT: u64 = 50;

/// The most intents one page holds.
const MAX_LIMIT: u64 = 500;

/// `GET /v1/intents?status=A,B&to_agent=&from_agent=&intent_type=&created_after=&created_before=&order=asc|desc&limit=&cursor=`:
/// `{ok, intents, next_cursor}`. Every filter given must match: `status` a comma list of
/// statuses, `to_agent` and `from_agent` addresses (bare names in the caller's workspace),
/// `intent_type` a type name, `created_after` and `created_before` RFC 3339 times, both
/// **inclusive**. The order is by `(created_at, intent_id)`: `asc` (oldest first, the default,
/// which the poll binding and `axme intents list` rely on) or `desc`. `limit` is 1 to 500
/// (default 50). `next_cursor` (`null` on the last page) continues after this page's last row
/// in the same order; a `cursor` carries its order, so `order` may then be left out but must
/// not differ. Bad values: 422 naming the parameter (a `cursor` this server did not write
/// too).
///
/// An agent-scoped key is shown only the intents it may see (`Acting::sees`): a page may then
/// hold fewer than `limit`, even none, and still have a `next_cursor`, which continues after
/// the last intent the store read, seen or not.
#[utoipa::path(
    get,
    path = "/v1/intents",
    tag = "intents",
    params(
        ("status" = Option<String>, Query, description = "A comma list of statuses"),
        ("to_agent" = Option<String>, Query, description = "The target's address"),
        ("from_agent" = Option<String>, Query, description = "The sender's address"),
        ("intent_type" = Option<String>, Query, description = "An intent type name"),
        ("created_after" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("created_before" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("order" = Option<String>, Query, description = "`asc` (oldest first, the default) or `desc`"),
        ("limit" = Option<u64>, Query, description = "1 to 500, default 50"),
        ("cursor" = Option<String>, Query, description = "A page's `next_cursor`"),
    ),
    responses((status = 200, body = ListIntentsResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(super) async fn list_intents(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListIntentsResponse>> {
    let tenant = &caller.0.tenant;
    let (mut filter, limit) = parse(&query, &tenant.scope())?;
    // One more than the page, to know whether another page follows.
    filter.limit = limit + 1;
    let mut intents = state.store.list_intents(tenant, &filter).await?;
    let next_cursor = if intents.len() > limit as usize {
        intents.truncate(limit as usize);
        intents
            .last()
            .map(|last| IntentCursor { order: filter.order, position: IntentPosition::of(last) }.encode())
    } else {
        None
    };
    Ok(Json(ListIntentsResponse {
        ok: true,
        intents: intents.iter().filter(|i| caller.sees(i)).map(Intent::to_wire).collect(),
        next_cursor,
    }))
}

/// The store filter (without its `limit`) and the page size the query asks for; the dashboard's
/// intents list reads its filters with it too.
pub(crate) fn parse(query: &QueryMap, scope: &AddressScope<'_>) -> ApiResult<(IntentFilter, u32)> {
    let mut statuses = Vec::new();
    for s in query.str("status").unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        statuses.push(s.parse::<Status>().map_err(|e| ApiError::invalid_query("status", &e.to_string()))?);
    }
    let address = |name: &str| {
        query
            .str(name)
            .map(|a| {
                AgentAddress::parse(a, scope)
                    .map(AgentAddress::into_string)
                    .map_err(|e| ApiError::invalid_query(name, &e.to_string()))
            })
            .transpose()
    };
    let intent_type = query
        .str("intent_type")
        .map(|t| {
            if t.chars().count() <= INTENT_TYPE_MAX_LEN && INTENT_TYPE.is_match(t) {
                Ok(t.to_owned())
            } else {
                Err(ApiError::invalid_query(
                    "intent_type",
                    "must be an intent type name (e.g. notify.message.v1)",
                ))
            }
        })
        .transpose()?;
    let cursor = query
        .str("cursor")
        .map(|c| {
            IntentCursor::decode(c).ok_or_else(|| {
                ApiError::invalid_query("cursor", "must be a next_cursor this server returned")
            })
        })
        .transpose()?;
    let order = query
        .str("order")
        .map(|o| o.parse::<SortOrder>().map_err(|e| ApiError::invalid_query("order", &e)))
        .transpose()?;
    let order = match (order, cursor) {
        (Some(order), Some(c)) if order != c.order => {
            return Err(ApiError::invalid_query(
                "order",
                &format!("the cursor continues a listing in {} order", c.order),
            ));
        }
        (_, Some(c)) => c.order,
        (order, None) => order.unwrap_or_default(),
    };
    let filter = IntentFilter {
        statuses,
        to_agent: address("to_agent")?,
        from_agent: address("from_agent")?,
        intent_type,
        created_after: query.time("created_after")?,
        created_before: query.time("created_before")?,
        order,
        start_after: cursor.map(|c| c.position),
        limit: 0,
    };
    let limit = query.bounded("limit", 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT) as u32;
    Ok((filter, limit))
}
