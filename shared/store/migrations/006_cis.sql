-- 006_cis: configuration items, light (the operations-and-maintenance
-- standard, 8.3.5): services, systems, devices and the like as records with
-- a type, an owner and relations between them; tickets, problems and known
-- errors refer to them.
--
-- * cis: one row per item, numbered CI-000001 from its id; name unique per
--   type; owner is a person (an agent) or a team's name; retired items stay
--   (records refer to them) but take no new references.
-- * ci_relations: directed, typed edges (runs_on, depends_on, part_of,
--   connects_to); no self-edge, one edge of a type between two items.
-- * ci_refs: what refers to an item: a ticket, a problem or a knowledge
--   document (by its index id, so corpus known errors count too).
-- * ci_events: every change (created, edited, retired, related, unrelated,
--   referred, unreferred), append-only.

CREATE TABLE cis (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE GENERATED ALWAYS AS
                ('CI-' || lpad(id::text, greatest(6, length(id::text)), '0')) STORED,
    type        text NOT NULL CHECK (type IN ('service', 'application', 'system', 'server',
                                              'network', 'device', 'database', 'other')),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200 AND btrim(name) <> ''),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 20000),
    owner_id    bigint REFERENCES people (id),
    owner_team  text CHECK (owner_team IS NULL OR char_length(owner_team) BETWEEN 1 AND 200),
    retired     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (type, name)
);

CREATE TABLE ci_relations (
    from_id  bigint NOT NULL REFERENCES cis (id),
    type     text NOT NULL CHECK (type IN ('runs_on', 'depends_on', 'part_of', 'connects_to')),
    to_id    bigint NOT NULL REFERENCES cis (id),
    PRIMARY KEY (from_id, type, to_id),
    CHECK (from_id <> to_id)
);
CREATE INDEX ci_relations_to_idx ON ci_relations (to_id);

CREATE TABLE ci_refs (
    ci_id      bigint NOT NULL REFERENCES cis (id),
    ticket_id  bigint REFERENCES tickets (id),
    problem_id bigint REFERENCES problems (id),
    doc_id     text CHECK (doc_id IS NULL OR char_length(doc_id) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(ticket_id, problem_id, doc_id) = 1)
);
CREATE UNIQUE INDEX ci_refs_ticket_idx ON ci_refs (ci_id, ticket_id) WHERE ticket_id IS NOT NULL;
CREATE UNIQUE INDEX ci_refs_problem_idx ON ci_refs (ci_id, problem_id) WHERE problem_id IS NOT NULL;
CREATE UNIQUE INDEX ci_refs_doc_idx ON ci_refs (ci_id, doc_id) WHERE doc_id IS NOT NULL;
CREATE INDEX ci_refs_ticket_rev_idx ON ci_refs (ticket_id) WHERE ticket_id IS NOT NULL;

CREATE TABLE ci_events (
    id        bigserial PRIMARY KEY,
    ci_id     bigint NOT NULL REFERENCES cis (id),
    actor_id  bigint REFERENCES people (id),
    type      text NOT NULL CHECK (type IN ('created', 'edited', 'retired', 'related', 'unrelated',
                                            'referred', 'unreferred')),
    detail    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ci_events_ci_idx ON ci_events (ci_id, id);

CREATE FUNCTION ci_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ci_events is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ci_events_append_only BEFORE UPDATE OR DELETE ON ci_events
    FOR EACH ROW EXECUTE FUNCTION ci_events_append_only();
