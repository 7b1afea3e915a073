-- Rows for the tables 0010_quotas.sql creates, from a data dir of the current server

INSERT INTO quota_policies (workspace_id, org_id, quota_policy_id, dimensions, soft_threshold_percent, hard_enforcement, overage_mode, updated_by_actor_id, updated_at) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', '01a242d4-da8e-70d9-b92b-7217ed1245ca', 'qp_01a242d4da8f71c2bd9f4bfda65f815c', '{"requests_per_minute":600000,"intents_per_day":1000,"inbox_writes_per_day":100000000,"media_upload_bytes_per_day":107374182400,"media_storage_bytes":1099511627776,"webhook_deliveries_per_day":100000000,"schema_writes_per_day":1000000}', 80, 1, 'block', '01a242d4-da8e-70d9-b92b-72156b5de14d', 1796417584594);
INSERT INTO usage_counters (workspace_id, dimension, day, count) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', 'intents_per_day', 20791, 3);
INSERT INTO usage_counters (workspace_id, dimension, day, count) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', 'media_upload_bytes_per_day', 20791, 5);
INSERT INTO usage_counters (workspace_id, dimension, day, count) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', 'requests_per_minute', 20791, 21);
INSERT INTO usage_counters (workspace_id, dimension, day, count) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', 'schema_writes_per_day', 20791, 1);
INSERT INTO usage_counters (workspace_id, dimension, day, count) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', 'webhook_deliveries_per_day', 20791, 2);
