-- The id of the HTTP request that produced a log entry (the `x-request-id` header it was
-- answered with, also in its tracing span and its error envelope's `ref`), so an operator can
-- go from a customer's error report to the entry and the server's log lines. NULL for entries
-- written before this column existed and for gap markers.
ALTER TABLE request_logs ADD COLUMN request_id TEXT;
