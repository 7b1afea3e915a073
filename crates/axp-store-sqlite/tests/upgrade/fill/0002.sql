-- Rows for the tables 0002_timers_and_leases.sql creates, from a data dir of the current server

