-- Courier schema, version 3: token revocations. One row per user: tokens issued to the user
-- before revoked_before_ms are refused. The authenticator reads the whole table at start-up.
CREATE TABLE token_revocations (
    user_id           text   PRIMARY KEY,
    revoked_before_ms bigint NOT NULL
);
