-- smki store schema, version 1. Applied once by Open under an advisory
-- lock and recorded in schema_migrations. Key columns use the "C"
-- collation so that ORDER BY is byte order, as in the bbolt engine.
-- Times are text in fixed-width UTC RFC 3339 with nanoseconds
-- ("2026-01-02T03:04:05.000000006Z"): lossless (timestamptz keeps only
-- microseconds, and the audit hash covers nanoseconds) and still sortable.

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

-- Single-row counters: UPDATE ... RETURNING serialises writers on the
-- row, so sequence numbers are gap-free and in commit order.
CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL CHECK (value >= 0)
);
INSERT INTO counters (name, value) VALUES ('revocation', 0);

CREATE TABLE audit_head (
    id   int PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL CHECK (seq >= 0),
    hash bytea
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

-- Every serial ever used, by an intent or a certificate: serials are
-- never reused, and the primary key makes that race-free across instances.
CREATE TABLE serials (
    serial text COLLATE "C" PRIMARY KEY
);

CREATE TABLE intents (
    serial     text COLLATE "C" PRIMARY KEY REFERENCES serials,
    issuer     text NOT NULL,
    profile    text NOT NULL,
    user_id    text NOT NULL,
    lint_der   bytea,
    created_at text NOT NULL,
    state      text NOT NULL CHECK (state IN ('open', 'completed', 'failed'))
);
CREATE INDEX intents_open ON intents (serial) WHERE state = 'open';

CREATE TABLE certificates (
    serial         text COLLATE "C" PRIMARY KEY REFERENCES serials,
    issuer         text COLLATE "C" NOT NULL,
    user_id        text COLLATE "C" NOT NULL,
    party_id       text COLLATE "C" NOT NULL,
    profile        text NOT NULL,
    role           text NOT NULL,
    key_hash       text COLLATE "C" NOT NULL,
    not_before     text NOT NULL,
    not_after      text NOT NULL,
    issued_at      text NOT NULL,
    der            bytea NOT NULL,
    status         text NOT NULL CHECK (status IN ('good', 'revoked')),
    revoked_at     text NOT NULL,
    reason         int NOT NULL,
    revocation_seq bigint NOT NULL
);
CREATE INDEX certificates_user   ON certificates (user_id, serial);
CREATE INDEX certificates_party  ON certificates (party_id, serial);
CREATE INDEX certificates_issuer ON certificates (issuer, serial);
CREATE INDEX certificates_status ON certificates (status, serial);
CREATE INDEX certificates_key    ON certificates (key_hash, serial);

-- The one UserID a key hash is certified for.
CREATE TABLE key_owners (
    key_hash text COLLATE "C" PRIMARY KEY,
    user_id  text NOT NULL
);

CREATE TABLE revocations (
    seq        bigint PRIMARY KEY CHECK (seq > 0),
    serial     text COLLATE "C" NOT NULL UNIQUE REFERENCES certificates,
    issuer     text NOT NULL,
    user_id    text NOT NULL,
    party_id   text NOT NULL,
    reason     int NOT NULL,
    revoked_at text NOT NULL
);

CREATE TABLE crls (
    name        text COLLATE "C" PRIMARY KEY,
    number      numeric(20, 0) NOT NULL,
    this_update text NOT NULL,
    next_update text NOT NULL,
    der         bytea NOT NULL
);

CREATE TABLE parties (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    status     text NOT NULL,
    created_at text NOT NULL
);

CREATE TABLE users (
    id         text COLLATE "C" PRIMARY KEY,
    party_id   text COLLATE "C" NOT NULL,
    role       text NOT NULL,
    name       text NOT NULL,
    status     text NOT NULL,
    created_at text NOT NULL
);
CREATE INDEX users_party ON users (party_id, id);

CREATE TABLE officers (
    id           text COLLATE "C" PRIMARY KEY,
    name         text NOT NULL,
    party_id     text COLLATE "C" NOT NULL,
    kind         text NOT NULL,
    cert_serial  text NOT NULL,
    status       text NOT NULL,
    created_at   text NOT NULL,
    appointed_by text NOT NULL
);
CREATE INDEX officers_party ON officers (party_id, id);

CREATE TABLE audit (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    time      text NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    result    text NOT NULL,
    detail    text NOT NULL,
    prev_hash bytea,
    hash      bytea NOT NULL
);

CREATE TABLE records (
    kind  text COLLATE "C" NOT NULL,
    id    text COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (kind, id)
);
