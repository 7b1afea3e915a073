-- Rows for the tables 0008_people.sql creates, from a data dir of the current server

