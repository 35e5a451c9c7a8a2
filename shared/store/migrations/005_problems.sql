-- 005_problems: problem management (the operations-and-maintenance
-- standard, 8.3.4): problem records, incidents linked to them, root cause,
-- workaround and permanent fix, and the known error drafted from a problem.
--
-- * problems: one row per problem, numbered PRB-000001 from its id; status
--   new -> investigating -> known_error -> resolved -> closed (the
--   transition table is store_problem.c's); known_error_doc is the
--   knowledge item drafted from it ("linked both ways": the item's
--   problem_id points back).
-- * tickets.problem_id: the problem an incident is linked to (many to one).
-- * problem_events: every change of a problem (who, when, from, to, and a
--   detail: the fields edited, the ticket linked, the comment). Append-only.

CREATE TABLE problems (
    id              bigserial PRIMARY KEY,
    number          text NOT NULL UNIQUE GENERATED ALWAYS AS
                    ('PRB-' || lpad(id::text, greatest(6, length(id::text)), '0')) STORED,
    status          text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'investigating', 'known_error', 'resolved', 'closed')),
    summary         text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 1000
                                         AND btrim(summary) <> ''),
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 20000),
    service         text CHECK (service IS NULL OR char_length(service) BETWEEN 1 AND 200),
    impact          smallint NOT NULL DEFAULT 3 CHECK (impact BETWEEN 1 AND 3),
    root_cause      text NOT NULL DEFAULT '' CHECK (char_length(root_cause) <= 20000),
    workaround      text NOT NULL DEFAULT '' CHECK (char_length(workaround) <= 20000),
    fix             text NOT NULL DEFAULT '' CHECK (char_length(fix) <= 20000),
    known_error_doc text CHECK (known_error_doc IS NULL OR known_error_doc ~ '^[A-Za-z0-9._-]{1,64}$'),
    owner_id        bigint NOT NULL REFERENCES people (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    closed_at       timestamptz,
    CHECK ((status IN ('resolved', 'closed')) = (resolved_at IS NOT NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX problems_status_idx ON problems (status, id);

ALTER TABLE tickets ADD COLUMN problem_id bigint REFERENCES problems (id);
CREATE INDEX tickets_problem_idx ON tickets (problem_id) WHERE problem_id IS NOT NULL;

ALTER TABLE knowledge_items ADD COLUMN problem_id bigint REFERENCES problems (id);

CREATE TABLE problem_events (
    id          bigserial PRIMARY KEY,
    problem_id  bigint NOT NULL REFERENCES problems (id),
    actor_id    bigint REFERENCES people (id),
    type        text NOT NULL CHECK (type IN ('created', 'edited', 'investigating',
                                              'known_error', 'resolved', 'closed', 'reopened',
                                              'linked', 'unlinked', 'known_error_drafted')),
    from_status text CHECK (from_status IN ('new', 'investigating', 'known_error', 'resolved',
                                            'closed')),
    to_status   text NOT NULL CHECK (to_status IN ('new', 'investigating', 'known_error',
                                                   'resolved', 'closed')),
    ticket_id   bigint REFERENCES tickets (id),
    detail      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'created') = (from_status IS NULL))
);
CREATE INDEX problem_events_problem_idx ON problem_events (problem_id, id);
CREATE INDEX problem_events_ticket_idx ON problem_events (ticket_id) WHERE ticket_id IS NOT NULL;

CREATE FUNCTION problem_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'problem_events is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER problem_events_append_only BEFORE UPDATE OR DELETE ON problem_events
    FOR EACH ROW EXECUTE FUNCTION problem_events_append_only();
