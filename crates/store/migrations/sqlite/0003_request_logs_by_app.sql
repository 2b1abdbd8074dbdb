-- The console lists an application's requests across all its consumers, newest first; without
-- this index that is a sort of every row the application has.
CREATE INDEX request_logs_by_app ON request_logs (application_id, timestamp, id);
