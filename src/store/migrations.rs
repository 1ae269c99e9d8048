//! The schema, as named migrations applied in list order.
//!
//! Append new migrations at the end with a new name; never edit one that has
//! been released. Times are milliseconds since the epoch (UTC).
//!
//! May depend on: nothing: SQL text only.

/// (name, SQL) of every migration.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", CORE),
    ("0002_outbox", OUTBOX),
    ("0003_faxes", FAXES),
    ("0004_callbacks", CALLBACKS),
    ("0005_calls", CALLS),
    ("0006_console", CONSOLE),
];

const CORE: &str = r#"
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    display     TEXT,
    role        TEXT NOT NULL CHECK (role IN ('agent', 'clerk', 'manager', 'technician')),
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);

CREATE TABLE subscribers (
    account     TEXT PRIMARY KEY,
    estate      TEXT NOT NULL,
    building    INTEGER NOT NULL,
    unit        INTEGER NOT NULL,
    room        INTEGER NOT NULL,
    name        TEXT,
    fixed_line  TEXT,
    mobile      TEXT,
    address     TEXT,
    product     TEXT,
    plan        TEXT,
    opened_on   TEXT,
    expires_on  TEXT,
    remarks     TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX subscribers_fixed_line ON subscribers (fixed_line);
CREATE INDEX subscribers_mobile ON subscribers (mobile);
CREATE INDEX subscribers_room ON subscribers (estate, building, unit, room);

-- The per-day sequence of ticket numbers, by prefix (tag).
CREATE TABLE ticket_seq (
    prefix  TEXT NOT NULL,
    day     TEXT NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (prefix, day)
) WITHOUT ROWID;

CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    tag             TEXT,
    origin          TEXT NOT NULL,
    state           TEXT NOT NULL,
    source          TEXT NOT NULL,
    subscriber      TEXT REFERENCES subscribers (account),
    caller          TEXT,
    caller_raw      TEXT,
    address         TEXT,
    accepting_agent TEXT,
    service_type    TEXT,
    reporter        TEXT,
    fault           TEXT,
    cause           TEXT,
    remarks         TEXT,
    depot           TEXT,
    reported_at     INTEGER NOT NULL,
    due_at          INTEGER NOT NULL,
    sla_paused_at   INTEGER,
    sla_exempt      TEXT,
    repaired_at     INTEGER,
    closed_at       INTEGER,
    satisfaction    TEXT,
    repeat_count    INTEGER NOT NULL DEFAULT 0,
    reopen_count    INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX tickets_open_subscriber ON tickets (subscriber) WHERE state <> 'closed';
CREATE INDEX tickets_open_caller ON tickets (caller) WHERE state <> 'closed';
CREATE INDEX tickets_state ON tickets (state, reported_at);

-- The whole history of every ticket: who did what, when.
CREATE TABLE ticket_events (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT,
    detail      TEXT
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- Every view and change of customer data, attributed to a person.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    object  TEXT,
    detail  TEXT
);
CREATE INDEX audit_at ON audit (at);
"#;

const OUTBOX: &str = r#"
-- Every outgoing message, committed before it is attempted.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    purpose         TEXT NOT NULL,
    ticket_id       INTEGER REFERENCES tickets (id),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'queued';
"#;

const FAXES: &str = r#"
-- Every file the fax spool took: recorded, a duplicate of one recorded, or failed.
CREATE TABLE faxes (
    id           INTEGER PRIMARY KEY,
    -- The file's identity when taken (device:inode:size:mtime:name); a file seen again is known.
    identity     TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    -- Where the file is kept now (done/yyyy/mm/dd/…, failed/…, or the watched folder).
    path         TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('recorded', 'duplicate', 'failed')),
    class        TEXT CHECK (class IN ('workorders', 'desk', 'triage')),
    tag          TEXT,
    format       TEXT,
    sha256       TEXT,
    size         INTEGER NOT NULL,
    pages        INTEGER,
    sender       TEXT,
    tsi          TEXT,
    call_ids     TEXT,
    partial      INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    reason       TEXT,
    x_dpi        REAL,
    y_dpi        REAL,
    file_date    TEXT,
    duplicate_of INTEGER REFERENCES faxes (id),
    ticket_id    INTEGER REFERENCES tickets (id),
    received_at  INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX faxes_content ON faxes (sha256) WHERE state = 'recorded';
CREATE INDEX faxes_received ON faxes (received_at);

-- A fax from the work-order room: a batch of work orders awaiting entry.
CREATE TABLE workorder_batches (
    id           INTEGER PRIMARY KEY,
    fax_id       INTEGER NOT NULL UNIQUE REFERENCES faxes (id),
    orders       INTEGER NOT NULL,
    ack_message  TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
"#;

const CALLBACKS: &str = r#"
-- Every callback is a row: a restart finds what is due.
CREATE TABLE callbacks (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('post_repair', 'missed_call')),
    ticket_id       INTEGER REFERENCES tickets (id),
    call_id         TEXT UNIQUE,
    phone           TEXT,
    state           TEXT NOT NULL
                    CHECK (state IN ('pending', 'passed', 'failed', 'resolved', 'escalated', 'cancelled')),
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    outcome         TEXT,
    actor           TEXT,
    last_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE state = 'pending';
CREATE INDEX callbacks_ticket ON callbacks (ticket_id);
-- One pending missed-call callback per number.
CREATE UNIQUE INDEX callbacks_pending_phone ON callbacks (phone)
    WHERE state = 'pending' AND kind = 'missed_call';

-- A repair promise broken: recorded once per ticket and due time.
CREATE TABLE sla_breaches (
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    due_at      INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, due_at)
) WITHOUT ROWID;

-- Outbox delivery: the accepting server's reply and the last attempt.
ALTER TABLE outbox ADD COLUMN last_attempt_at INTEGER;
ALTER TABLE outbox ADD COLUMN response TEXT;
"#;

const CALLS: &str = r#"
-- Every call to a watched number, one row per Call-ID (retransmissions and
-- repeated INVITEs of a call never make a second row).
CREATE TABLE calls (
    id              INTEGER PRIMARY KEY,
    call_id         TEXT NOT NULL UNIQUE,
    caller_raw      TEXT,
    caller_display  TEXT,
    caller_source   TEXT,
    caller          TEXT,
    callee          TEXT NOT NULL,
    transport       TEXT NOT NULL,
    peer            TEXT NOT NULL,
    invited_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    ring_ms         INTEGER,
    outcome         TEXT NOT NULL CHECK (outcome IN
                    ('ringing', 'answered-elsewhere', 'abandoned', 'timed-out', 'interrupted')),
    ticket_id       INTEGER REFERENCES tickets (id),
    repeat_report   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calls_ringing ON calls (invited_at) WHERE outcome = 'ringing';
CREATE INDEX calls_invited ON calls (invited_at);

-- What each running component says about itself (e.g. SIP registration).
CREATE TABLE component_status (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
"#;

const CONSOLE: &str = r#"
-- Console logins: the password's argon2 hash (PHC string); NULL: no login.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- Console sessions: the cookie's SHA-256 (never the cookie itself), the
-- per-session CSRF token, and the last request for the idle expiry.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users (name),
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_name);

-- Who took a call (我接的): the first claim wins.
ALTER TABLE calls ADD COLUMN claimed_by TEXT;
ALTER TABLE calls ADD COLUMN claimed_at INTEGER;

-- The board: tickets by tag and state, newest first; calls by ticket.
CREATE INDEX tickets_tag_state ON tickets (tag, state, id);
CREATE INDEX tickets_caller ON tickets (caller, id);
CREATE INDEX tickets_subscriber ON tickets (subscriber, id);
CREATE INDEX tickets_due ON tickets (due_at) WHERE state IN ('new', 'dispatched', 'reopened');
CREATE INDEX calls_ticket ON calls (ticket_id);
CREATE INDEX audit_actor ON audit (actor, id);
"#;
