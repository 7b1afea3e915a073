-- Rows for the tables 0013_mesh.sql creates, from a data dir of the current server

INSERT INTO mesh_agents (workspace_id, service_account_id, address, last_heartbeat_at, killed_at) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', '01a242d4-da8e-70d9-b92b-72156b5de14d', 'agent://default/default/admin', 1796417584560, NULL);
INSERT INTO mesh_agents (workspace_id, service_account_id, address, last_heartbeat_at, killed_at) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', '01a242d4-db64-76ad-a1bf-f69cbca38b57', 'agent://default/default/worker', NULL, 1796417584573);
INSERT INTO mesh_events (workspace_id, event_id, address, event_type, details, actor_id, created_at) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', '01a242d4-fdb0-756f-bbee-68518f08af3b', 'agent://default/default/admin', 'health.changed', '{"from":"unknown","to":"healthy"}', NULL, 1796417584560);
INSERT INTO mesh_events (workspace_id, event_id, address, event_type, details, actor_id, created_at) VALUES ('01a242d4-da8f-71c2-bd9f-4bfda65f815c', '01a242d4-fdbd-7543-bff2-324e6a3e4abf', 'agent://default/default/worker', 'agent.killed', NULL, '01a242d4-da8e-70d9-b92b-72156b5de14d', 1796417584573);
