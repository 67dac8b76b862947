-- Courier schema, version 1. Migrations run in order at start-up, each once, in a transaction.
CREATE TABLE inbox (
    owner_user     text     NOT NULL,
    owner_device   text     NOT NULL,
    server_id      bigint   NOT NULL,
    state          smallint NOT NULL,          -- 0 pending, 1 delivered (payload dropped)
    kind           smallint NOT NULL,          -- MessageKind ordinal
    sender_user    text     NOT NULL,
    sender_device  text     NOT NULL,
    recipient      text     NOT NULL,
    client_id      text     NOT NULL,
    ref_server_id  bigint   NOT NULL,
    ts_ms          bigint   NOT NULL,
    content_type   text     NOT NULL,
    payload        bytea    NOT NULL,
    media          bytea    NOT NULL,
    PRIMARY KEY (owner_user, owner_device, server_id)
);
-- Draining reads only pending entries, in id order.
CREATE INDEX inbox_pending ON inbox (owner_user, owner_device, server_id) WHERE state = 0;

CREATE TABLE sends (
    sender_user    text   NOT NULL,
    sender_device  text   NOT NULL,
    client_id      text   NOT NULL,
    server_id      bigint NOT NULL,
    accepted_at_ms bigint NOT NULL,
    PRIMARY KEY (sender_user, sender_device, client_id)
);

CREATE TABLE devices (
    user_id text NOT NULL,
    device  text NOT NULL,
    PRIMARY KEY (user_id, device)
);

CREATE TABLE presence (
    user_id      text   PRIMARY KEY,
    last_seen_ms bigint NOT NULL
);

CREATE TABLE key_bundles (
    user_id       text  NOT NULL,
    device        text  NOT NULL,
    identity_key  bytea NOT NULL,
    agreement_key bytea NOT NULL,
    signature     bytea NOT NULL,
    PRIMARY KEY (user_id, device)
);

CREATE TABLE counters (
    name  text   PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('highest_server_id', 0);
