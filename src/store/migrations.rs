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
    ("0007_work_orders", WORK_ORDERS),
    ("0008_console_reads", CONSOLE_READS),
    ("0009_complaints_kpi", COMPLAINTS_KPI),
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
CREATE INDEX tickets_due ON tickets (due_at, sla_paused_at, sla_exempt)
    WHERE state IN ('new', 'dispatched', 'reopened');
-- The board's chips count tickets by state and tag from the index alone.
CREATE INDEX tickets_state_tag ON tickets (state, tag);
CREATE INDEX calls_ticket ON calls (ticket_id);
CREATE INDEX audit_actor ON audit (actor, id);
"#;

const WORK_ORDERS: &str = r#"
-- A batch is verified by a clerk before the room is told its count (or at
-- once, with work_order_room.ack = "on_arrival"). Batches recorded before
-- this migration were acknowledged on arrival.
ALTER TABLE workorder_batches ADD COLUMN state TEXT NOT NULL DEFAULT 'received'
    CHECK (state IN ('received', 'verified'));
-- The count the room was last told (NULL: nothing yet).
ALTER TABLE workorder_batches ADD COLUMN acked_count INTEGER;
-- The role of each page, as a JSON array of page roles.
ALTER TABLE workorder_batches ADD COLUMN page_roles TEXT;
ALTER TABLE workorder_batches ADD COLUMN verified_by TEXT;
ALTER TABLE workorder_batches ADD COLUMN verified_at INTEGER;
-- The same-day rule: orders entered by this time, else the manager is told once.
ALTER TABLE workorder_batches ADD COLUMN entry_due_at INTEGER;
ALTER TABLE workorder_batches ADD COLUMN entry_told_at INTEGER;
UPDATE workorder_batches SET acked_count = orders;

-- The installation callback is a callback of its own kind: the table is
-- rebuilt to widen the kind's CHECK (SQLite cannot alter one).
CREATE TABLE callbacks_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('post_repair', 'missed_call', 'installation')),
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
INSERT INTO callbacks_new SELECT id, kind, ticket_id, call_id, phone, state, due_at, attempts, outcome,
    actor, last_attempt_at, created_at, updated_at FROM callbacks;
DROP TABLE callbacks;
ALTER TABLE callbacks_new RENAME TO callbacks;
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE state = 'pending';
CREATE INDEX callbacks_ticket ON callbacks (ticket_id);
CREATE UNIQUE INDEX callbacks_pending_phone ON callbacks (phone)
    WHERE state = 'pending' AND kind = 'missed_call';

-- What a person decided for a fax from an unknown sender (the fax inbox's
-- triage): attached to a ticket, made a work-order batch, or set aside.
CREATE TABLE fax_triage (
    fax_id      INTEGER PRIMARY KEY REFERENCES faxes (id),
    action      TEXT NOT NULL CHECK (action IN ('ticket', 'batch', 'junk')),
    reason      TEXT,
    actor       TEXT NOT NULL,
    at          INTEGER NOT NULL
);

-- Work orders (工单): the room's installation orders and the centre's own.
CREATE TABLE work_orders (
    id               INTEGER PRIMARY KEY,
    -- 流水号 (4.0.9), written in 备注.
    serial           TEXT NOT NULL UNIQUE,
    batch_id         INTEGER REFERENCES workorder_batches (id),
    -- The fax pages of the order, as a JSON array.
    pages            TEXT,
    origin           TEXT NOT NULL CHECK (origin IN ('telecom', 'own')),
    state            TEXT NOT NULL CHECK (state IN ('verified', 'entered', 'dispatched', 'signed',
                     'slip_returned', 'installed', 'called_back', 'return_sent', 'archived')),
    line             TEXT,
    account          TEXT NOT NULL,
    estate           TEXT NOT NULL,
    building         INTEGER NOT NULL,
    unit             INTEGER NOT NULL,
    room             INTEGER NOT NULL,
    name             TEXT NOT NULL,
    contact          TEXT NOT NULL,
    address          TEXT NOT NULL,
    service          TEXT NOT NULL,
    accepted_on      TEXT NOT NULL,
    activation_on    TEXT NOT NULL,
    business_office  TEXT NOT NULL,
    status_text      TEXT NOT NULL,
    broadband_status TEXT NOT NULL,
    remarks          TEXT,
    entered_by       TEXT,
    technician       TEXT,
    -- The installation deadline: the signed slip back by this time.
    slip_due_at      INTEGER,
    slip_told_at     INTEGER,
    slip_fax_id      INTEGER REFERENCES faxes (id),
    slip_file        TEXT,
    installed_on     TEXT,
    callback_id      INTEGER REFERENCES callbacks (id),
    -- 回访单 (4.1.4).
    callback_on      TEXT,
    callback_by      TEXT,
    handling         TEXT,
    result           TEXT,
    satisfaction     TEXT,
    called_back_at   INTEGER,
    -- The Message-ID of the 回单 that named this order (once per order).
    return_message   TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX work_orders_batch ON work_orders (batch_id);
CREATE INDEX work_orders_state ON work_orders (state);

-- Every step of an order, with its person and time.
CREATE TABLE work_order_events (
    id        INTEGER PRIMARY KEY,
    order_id  INTEGER NOT NULL REFERENCES work_orders (id),
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    step      TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX work_order_events_order ON work_order_events (order_id, id);

"#;

const CONSOLE_READS: &str = r#"
-- The ticket workspace shows the faxes of a ticket.
CREATE INDEX faxes_ticket ON faxes (ticket_id);

-- The board's chips: how many tickets each tag ('' for untagged) has in each
-- state, split by whether the repair promise runs (neither paused nor
-- exempt). Kept by the triggers below in the transaction of every ticket
-- change, so the board reads a few rows instead of counting open tickets.
CREATE TABLE ticket_counts (
    tag      TEXT NOT NULL,
    state    TEXT NOT NULL,
    running  INTEGER NOT NULL CHECK (running IN (0, 1)),
    n        INTEGER NOT NULL,
    PRIMARY KEY (tag, state, running)
) WITHOUT ROWID;
INSERT INTO ticket_counts (tag, state, running, n)
    SELECT coalesce(tag, ''), state, sla_paused_at IS NULL AND sla_exempt IS NULL, count(*)
    FROM tickets GROUP BY 1, 2, 3;

-- A new ticket: one upsert.
CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_counts (tag, state, running, n)
    VALUES (coalesce(NEW.tag, ''), NEW.state, NEW.sla_paused_at IS NULL AND NEW.sla_exempt IS NULL, 1)
    ON CONFLICT (tag, state, running) DO UPDATE SET n = n + 1;
END;
-- A change of tag, state or promise moves the ticket from one row to
-- another; any other change (a repeat report, a field filled in) costs nothing.
CREATE TRIGGER ticket_counts_update AFTER UPDATE OF tag, state, sla_paused_at, sla_exempt ON tickets
WHEN OLD.tag IS NOT NEW.tag OR OLD.state IS NOT NEW.state
    OR (OLD.sla_paused_at IS NULL) <> (NEW.sla_paused_at IS NULL)
    OR (OLD.sla_exempt IS NULL) <> (NEW.sla_exempt IS NULL)
BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE tag = coalesce(OLD.tag, '') AND state = OLD.state
      AND running = (OLD.sla_paused_at IS NULL AND OLD.sla_exempt IS NULL);
    INSERT INTO ticket_counts (tag, state, running, n)
    VALUES (coalesce(NEW.tag, ''), NEW.state, NEW.sla_paused_at IS NULL AND NEW.sla_exempt IS NULL, 1)
    ON CONFLICT (tag, state, running) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE tag = coalesce(OLD.tag, '') AND state = OLD.state
      AND running = (OLD.sla_paused_at IS NULL AND OLD.sla_exempt IS NULL);
END;
"#;

const COMPLAINTS_KPI: &str = r#"
-- The complaint's follow-up check (检查落实) is a callback of its own kind:
-- the table is rebuilt to widen the kind's CHECK (SQLite cannot alter one).
CREATE TABLE callbacks_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('post_repair', 'missed_call', 'installation', 'complaint')),
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
INSERT INTO callbacks_new SELECT id, kind, ticket_id, call_id, phone, state, due_at, attempts, outcome,
    actor, last_attempt_at, created_at, updated_at FROM callbacks;
DROP TABLE callbacks;
ALTER TABLE callbacks_new RENAME TO callbacks;
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE state = 'pending';
CREATE INDEX callbacks_ticket ON callbacks (ticket_id);
CREATE UNIQUE INDEX callbacks_pending_phone ON callbacks (phone)
    WHERE state = 'pending' AND kind = 'missed_call';
-- The month's callbacks by their last attempt, covering the scorecard's columns.
CREATE INDEX callbacks_done ON callbacks (last_attempt_at, state, kind, actor, due_at, created_at, outcome, ticket_id)
    WHERE last_attempt_at IS NOT NULL;

-- 投诉登记簿 (第五章 8–10): the customer, what happened, the staff member,
-- the measure and time told to the customer, the check, the outcome.
CREATE TABLE complaints (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL CHECK (channel IN ('phone', 'in_person')),
    category     TEXT NOT NULL CHECK (category IN ('facilities', 'attitude', 'quality', 'incident')),
    state        TEXT NOT NULL CHECK (state IN ('open', 'checked', 'closed')),
    customer     TEXT NOT NULL,
    phone        TEXT,
    account      TEXT,
    what         TEXT NOT NULL,
    -- The staff member complained of (a user name), if any.
    staff        TEXT,
    -- 告知措施和时间: the measure and the time promised to the customer.
    measure      TEXT NOT NULL,
    promised_at  INTEGER NOT NULL,
    -- The follow-up check, a callback due at the time promised.
    callback_id  INTEGER REFERENCES callbacks (id),
    check_result TEXT,
    check_note   TEXT,
    checked_by   TEXT,
    checked_at   INTEGER,
    finding      TEXT CHECK (finding IN ('staff_at_fault', 'not_staff')),
    outcome      TEXT,
    closed_by    TEXT,
    closed_at    INTEGER,
    recorded_by  TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX complaints_received ON complaints (received_at);
CREATE INDEX complaints_staff ON complaints (staff, received_at);
CREATE UNIQUE INDEX complaints_callback ON complaints (callback_id);

-- The manager's monthly entries for what the data cannot know (attendance,
-- learning, spot checks), per agent: 0–100.
CREATE TABLE kpi_manual (
    month       TEXT NOT NULL,
    agent       TEXT NOT NULL REFERENCES users (name),
    item        TEXT NOT NULL CHECK (item IN ('attendance', 'learning', 'spot_check')),
    score       REAL NOT NULL CHECK (score >= 0 AND score <= 100),
    note        TEXT,
    entered_by  TEXT NOT NULL,
    entered_at  INTEGER NOT NULL,
    PRIMARY KEY (month, agent, item)
) WITHOUT ROWID;

-- The month's scorecard reads ranges of these, from the index alone.
CREATE INDEX calls_kpi ON calls (invited_at, outcome, claimed_by, ring_ms);
CREATE INDEX tickets_kpi ON tickets (reported_at, state, accepting_agent, tag, due_at, repaired_at, sla_exempt);
CREATE INDEX outbox_ticket ON outbox (ticket_id, purpose) WHERE ticket_id IS NOT NULL;
"#;
