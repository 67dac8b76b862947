-- Courier schema, version 6: the servers of a cluster reserve their batches' ids from a sequence,
-- read in the same round trip as the batch's inbox locks, instead of an UPDATE of the counter's
-- row in a transaction of its own. nextval is never rolled back and never waits for another
-- transaction; a batch commits synchronously after it reserved, which makes the sequence's
-- advance durable before any id from it is. One server on the store goes on with the counter:
-- each start takes the sequence up to it, and the store's highest id is the larger of the two.
CREATE SEQUENCE server_ids AS bigint MINVALUE 1;
SELECT setval('server_ids', GREATEST(value, 1), value > 0) FROM counters WHERE name = 'highest_server_id';
