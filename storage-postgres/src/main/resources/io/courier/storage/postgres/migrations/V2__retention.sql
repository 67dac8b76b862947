-- Courier schema, version 2: retention. De-duplication records expire by accepted_at_ms and
-- delivered entries by delivered_at_ms (the caller passes the cutoff); an index on each makes
-- expiry a range scan and a bounded delete, never a scan of the table.
ALTER TABLE inbox ADD COLUMN delivered_at_ms bigint;  -- null while pending
-- Entries delivered before this version have no delivery time: their acceptance time stands in.
UPDATE inbox SET delivered_at_ms = ts_ms WHERE state = 1;
CREATE INDEX inbox_delivered_at ON inbox (delivered_at_ms) WHERE state = 1;
CREATE INDEX sends_accepted_at ON sends (accepted_at_ms);
