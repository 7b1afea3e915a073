#!/usr/bin/env bash
# Fills a fresh `axp serve` (any backend) through its API with the rows the upgrade fixtures'
# fills are taken from: service accounts and keys, an unfinished intent (with an idempotency
# key), a COMPLETED one, a human task, a webhook subscription and event, a payload schema, a
# finalized media upload, a principal with a route, a transport binding and a routed delivery,
# a mesh heartbeat and kill, a quota change.
#
#   fill_server.sh URL ADMIN_KEY
# then: make_fills.py DATA_DIR (SQLite) or make_pg_fills.sh DATABASE_URL (PostgreSQL).
set -euo pipefail
URL=$1
KEY=$2
ADMIN=agent://default/default/admin
j() { curl -sf -H "x-api-key: $KEY" -H 'content-type: application/json' "$@"; }
field() { python3 -c "import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split('.'): v=v[k]
print(v)" "$1"; }

SA_JSON=$(j -XPOST "$URL/v1/service-accounts" -d '{"name":"worker"}')
SA=$(echo "$SA_JSON" | field service_account.service_account_id)
ORG=$(echo "$SA_JSON" | field service_account.org_id)
WS=$(echo "$SA_JSON" | field service_account.workspace_id)
j -XPOST "$URL/v1/service-accounts/$SA/keys" -d '{}' >/dev/null
j -XPOST "$URL/v1/intents" -H 'idempotency-key: fx-open-1' \
  -d '{"intent_type":"fixture.open.v1","to_agent":"worker","payload":{"n":1}}' >/dev/null
DONE=$(j -XPOST "$URL/v1/intents" -d '{"intent_type":"fixture.done.v1","to_agent":"worker","payload":{"n":2}}' | field intent_id)
j -XPOST "$URL/v1/intents/$DONE/resolve" -d '{"status":"COMPLETED","result":{"answer":42}}' >/dev/null
j -XPOST "$URL/v1/intents" -d '{"intent_type":"fixture.task.v1","to_agent":"worker","payload":{},
  "human_task":{"title":"Approve","task_type":"approval"}}' >/dev/null
j -XPOST "$URL/v1/webhooks/subscriptions?owner_agent=$ADMIN" \
  -d '{"callback_url":"https://hooks.example/fx","event_types":["inbox.thread_created"]}' >/dev/null
j -XPOST "$URL/v1/webhooks/events?owner_agent=$ADMIN" \
  -d '{"event_type":"inbox.thread_created","source":"fx","payload":{"n":1}}' >/dev/null
j -XPOST "$URL/v1/schemas" \
  -d '{"semantic_type":"fixture.open.payload.v1","schema_json":{"type":"object"},"compatibility_mode":"warn"}' >/dev/null
UP=$(j -XPOST "$URL/v1/media/create-upload" \
  -d "{\"owner_agent\":\"$ADMIN\",\"filename\":\"fx.txt\",\"mime_type\":\"text/plain\",\"size_bytes\":5}" | field upload_id)
j -XPUT "$URL/v1/media/upload/$UP" -d '"abc"' >/dev/null
j -XPOST "$URL/v1/media/finalize-upload" -d "{\"upload_id\":\"$UP\",\"size_bytes\":5}" >/dev/null
P=$(j -XPOST "$URL/v1/principals" -d "{\"org_id\":\"$ORG\",\"workspace_id\":\"$WS\",\"principal_type\":\"service_agent\"}" \
  | field principal.principal_id)
j -XPOST "$URL/v1/routing/endpoints" \
  -d "{\"principal_id\":\"$P\",\"transport_type\":\"queue\",\"endpoint_url\":\"queue://fx\",\"auth_mode\":\"none\"}" >/dev/null
j -XPOST "$URL/v1/transports/bindings" \
  -d "{\"principal_id\":\"$P\",\"transport_type\":\"queue\",\"transport_handle\":\"agent://default/default/worker\"}" >/dev/null
j -XPOST "$URL/v1/deliveries" \
  -d "{\"org_id\":\"$ORG\",\"workspace_id\":\"$WS\",\"principal_id\":\"$P\",\"payload\":{\"n\":1}}" >/dev/null
j -XPOST "$URL/v1/mesh/heartbeat" >/dev/null
j -XPOST "$URL/v1/mesh/agents/$SA/kill" >/dev/null
j -XPATCH "$URL/v1/quotas?workspace_id=$WS" -d '{"dimensions":{"intents_per_day":1000}}' >/dev/null
echo "filled $URL"
