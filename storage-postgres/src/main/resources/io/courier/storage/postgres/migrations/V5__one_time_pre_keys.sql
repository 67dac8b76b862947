-- Courier schema, version 5: the complete key directory. Bundles gain the device's X25519
-- identity key, its signature and the signed pre-key's id (empty and 0 for bundles published
-- before); each device has a supply of one-time pre-keys, handed out once by a fetch and deleted
-- in the same statement. Ids are the device's unsigned 32-bit ids, stored as their signed bits.
ALTER TABLE key_bundles
    ADD COLUMN identity_dh_key       bytea   NOT NULL DEFAULT ''::bytea,
    ADD COLUMN identity_dh_signature bytea   NOT NULL DEFAULT ''::bytea,
    ADD COLUMN signed_pre_key_id     integer NOT NULL DEFAULT 0;

CREATE TABLE one_time_pre_keys (
    user_id    text    NOT NULL,
    device     text    NOT NULL,
    key_id     integer NOT NULL,
    public_key bytea   NOT NULL,
    PRIMARY KEY (user_id, device, key_id)
);
