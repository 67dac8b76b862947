-- Courier schema, version 4: presence privacy. One row per user who ever chose: who may see their
-- presence (EVERYONE, CONTACTS, NOBODY) and their contact list, sorted. A user without a row is
-- visible to everyone and has no contacts.
CREATE TABLE presence_privacy (
    user_id    text   PRIMARY KEY,
    visibility text   NOT NULL,
    contacts   text[] NOT NULL
);
