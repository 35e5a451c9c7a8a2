-- 001_init: the chat desk's tables.
--
-- Applied by store_migrate() inside one transaction (this file must not
-- contain BEGIN or COMMIT) and recorded in schema_migrations. Never edit a
-- migration that has been released: add 002_... instead.
--
-- Rules the constraints keep, so that no bug in a daemon can store nonsense:
-- * people: requesters have no username or password; agents and admins have
--   both, and the password is an Argon2id hash string (never plain text).
-- * a conversation's requester, a message's sender_role and a ticket's
--   requester are tied to people.role through composite foreign keys
--   (people has UNIQUE (id, role)).
-- * a ticket belongs to exactly one conversation and to its requester.
-- * ticket status and timestamps agree: 'new' has no agent, 'assigned' and
--   'resolved' have one, resolved_at is set exactly while resolved or closed,
--   closed_at exactly while closed.
-- * ticket_events is append-only (a trigger refuses UPDATE and DELETE).
-- All times are timestamptz.

CREATE TABLE people (
    id            bigserial PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('requester', 'agent', 'admin')),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128
                                       AND btrim(name) <> ''),
    email         text CHECK (email IS NULL OR (char_length(email) BETWEEN 3 AND 254
                                                AND email LIKE '%_@_%')),
    username      text CHECK (username IS NULL OR username ~ '^[A-Za-z0-9._-]{1,64}$'),
    password_hash text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled      boolean NOT NULL DEFAULT false,
    UNIQUE (id, role),
    CHECK ((role = 'requester') = (username IS NULL)),
    CHECK ((role = 'requester') = (password_hash IS NULL))
);
-- user names are unique whatever their case
CREATE UNIQUE INDEX people_username_key ON people (lower(username));

CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    person_id    bigint NOT NULL REFERENCES people (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > created_at)
);
CREATE INDEX sessions_person_idx ON sessions (person_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE conversations (
    id             bigserial PRIMARY KEY,
    requester_id   bigint NOT NULL,
    requester_role text NOT NULL DEFAULT 'requester' CHECK (requester_role = 'requester'),
    status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'self_solved', 'escalated', 'closed')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_seq       integer NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    UNIQUE (id, requester_id),
    FOREIGN KEY (requester_id, requester_role) REFERENCES people (id, role)
);
CREATE INDEX conversations_requester_idx ON conversations (requester_id, id);

CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id),
    seq             integer NOT NULL CHECK (seq >= 1),
    sender_id       bigint NOT NULL,
    sender_role     text NOT NULL CHECK (sender_role IN ('requester', 'agent', 'admin')),
    client_id       text CHECK (client_id IS NULL OR char_length(client_id) BETWEEN 1 AND 128),
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 20000
                                         AND btrim(body, E' \t\r\n') <> ''),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq),
    -- a resent client id stores nothing twice (NULL client ids never clash)
    UNIQUE (conversation_id, sender_id, client_id),
    FOREIGN KEY (sender_id, sender_role) REFERENCES people (id, role)
);

-- the knowledge shown to the requester during the chat (one row per document)
CREATE TABLE conversation_suggestions (
    conversation_id bigint NOT NULL REFERENCES conversations (id),
    doc_id          text NOT NULL CHECK (char_length(doc_id) BETWEEN 1 AND 200),
    doc_kind        text NOT NULL CHECK (doc_kind IN ('article', 'known_error', 'standard')),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    shown_at        timestamptz NOT NULL DEFAULT now(),
    helpful         boolean,
    PRIMARY KEY (conversation_id, doc_id)
);

CREATE TABLE tickets (
    id                bigserial PRIMARY KEY,
    -- INC-000001 ... INC-999999, then INC-1000000 (never truncated)
    number            text NOT NULL UNIQUE GENERATED ALWAYS AS
                      ('INC-' || lpad(id::text, greatest(6, length(id::text)), '0')) STORED,
    conversation_id   bigint NOT NULL UNIQUE,
    requester_id      bigint NOT NULL,
    requester_role    text NOT NULL DEFAULT 'requester' CHECK (requester_role = 'requester'),
    agent_id          bigint REFERENCES people (id),
    status            text NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'assigned', 'resolved', 'reopened', 'closed')),
    summary           text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 1000
                                           AND btrim(summary) <> ''),
    category          text CHECK (category IS NULL OR char_length(category) BETWEEN 1 AND 200),
    impact            smallint NOT NULL CHECK (impact BETWEEN 1 AND 3),
    urgency           smallint NOT NULL CHECK (urgency BETWEEN 1 AND 3),
    priority          smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    response_due      timestamptz NOT NULL,
    resolution_due    timestamptz NOT NULL,
    first_response_at timestamptz,
    resolved_at       timestamptz,
    resolution        text CHECK (resolution IS NULL OR (char_length(resolution) <= 20000
                                                         AND btrim(resolution) <> '')),
    closed_at         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (conversation_id, requester_id) REFERENCES conversations (id, requester_id),
    FOREIGN KEY (requester_id, requester_role) REFERENCES people (id, role),
    CHECK (response_due >= created_at AND resolution_due >= response_due),
    CHECK (status <> 'new' OR agent_id IS NULL),
    CHECK (status NOT IN ('assigned', 'resolved') OR agent_id IS NOT NULL),
    CHECK ((status IN ('resolved', 'closed')) = (resolved_at IS NOT NULL)),
    CHECK (status NOT IN ('resolved', 'closed') OR resolution IS NOT NULL),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX tickets_open_idx ON tickets (priority, created_at)
    WHERE status IN ('new', 'assigned', 'reopened');
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at) WHERE status = 'resolved';
CREATE INDEX tickets_requester_idx ON tickets (requester_id);
CREATE INDEX tickets_agent_idx ON tickets (agent_id);

-- every change of a ticket, with who (NULL: the system) and when
CREATE TABLE ticket_events (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets (id),
    actor_id    bigint REFERENCES people (id),
    type        text NOT NULL CHECK (type IN ('created', 'taken', 'replied', 'linked',
                                              'resolved', 'reopened', 'confirmed', 'closed',
                                              'auto_closed', 'rated')),
    from_status text CHECK (from_status IN ('new', 'assigned', 'resolved', 'reopened', 'closed')),
    to_status   text NOT NULL
                CHECK (to_status IN ('new', 'assigned', 'resolved', 'reopened', 'closed')),
    detail      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'created') = (from_status IS NULL))
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);

CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only();

CREATE TABLE ticket_links (
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    doc_id    text NOT NULL CHECK (char_length(doc_id) BETWEEN 1 AND 200),
    relation  text NOT NULL CHECK (relation IN ('suggested', 'viewed', 'helpful', 'used')),
    actor_id  bigint REFERENCES people (id),
    at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticket_id, doc_id, relation)
);

-- a chat that ended self-solved, and the document that solved it
CREATE TABLE deflections (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL UNIQUE REFERENCES conversations (id),
    doc_id          text NOT NULL CHECK (char_length(doc_id) BETWEEN 1 AND 200),
    at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ratings (
    ticket_id bigint PRIMARY KEY REFERENCES tickets (id),
    score     smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment   text CHECK (comment IS NULL OR char_length(comment) <= 2000),
    at        timestamptz NOT NULL DEFAULT now()
);
