-- 013_workspace: the agent workspace: teams, roles, ticket fields an agent
-- edits, internal notes, transfers, merges and text search over tickets.
--
-- * teams and team_members: the teams tickets are routed to (seeded: 一线
--   first line, 二线 second line, 专家 specialists) and who belongs to each.
-- * person_roles also holds 'team_lead' (a team lead reassigns any ticket of
--   the teams they belong to). people.role stays requester / agent / admin.
-- * tickets.team_id: the team a ticket is routed to (NULL: none yet);
--   tickets.merged_into: the surviving ticket of a merged duplicate;
--   tickets.summary_terms: the analyzer's terms of the summary.
-- * conversation_terms: the analyzer's terms of every message of a
--   conversation (requester and agent), appended in the transaction that
--   stores each message. Ticket search matches the query's terms (made by
--   the same analyzer) against summary_terms and these; both text[] with
--   GIN indexes. The terms come from shared/kb_analyzer (through the hook
--   store_terms_set), never from PostgreSQL's text-search parser.
-- * ticket_notes: internal notes by agents; never shown to requesters.
-- * ticket_events gains the types edited, noted, assigned, transferred,
--   merged (on the duplicate) and merged_from (on the surviving ticket).

CREATE TABLE teams (
    id         bigserial PRIMARY KEY,
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9_-]{1,32}$'),
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 128 AND btrim(name) <> ''),
    name_en    text CHECK (name_en IS NULL OR char_length(name_en) BETWEEN 1 AND 128),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO teams (slug, name, name_en) VALUES
    ('first-line', '一线', 'First line'),
    ('second-line', '二线', 'Second line'),
    ('specialists', '专家', 'Specialists');

CREATE TABLE team_members (
    team_id   bigint NOT NULL REFERENCES teams (id),
    person_id bigint NOT NULL REFERENCES people (id),
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, person_id)
);
CREATE INDEX team_members_person_idx ON team_members (person_id);

ALTER TABLE person_roles DROP CONSTRAINT person_roles_role_check;
ALTER TABLE person_roles ADD CONSTRAINT person_roles_role_check
    CHECK (role IN ('knowledge_reviewer', 'team_lead'));

ALTER TABLE tickets ADD COLUMN team_id bigint REFERENCES teams (id);
ALTER TABLE tickets ADD COLUMN merged_into bigint REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN summary_terms text[] NOT NULL DEFAULT '{}';
ALTER TABLE tickets ADD CONSTRAINT tickets_merged_check
    CHECK (merged_into IS NULL OR (merged_into <> id AND status = 'closed'));
CREATE INDEX tickets_team_idx ON tickets (team_id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_summary_terms_idx ON tickets USING gin (summary_terms);

CREATE TABLE conversation_terms (
    conversation_id bigint PRIMARY KEY REFERENCES conversations (id),
    terms           text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX conversation_terms_idx ON conversation_terms USING gin (terms);

CREATE TABLE ticket_notes (
    id         bigserial PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    author_id  bigint NOT NULL REFERENCES people (id),
    body       text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 20000
                                    AND btrim(body, E' \t\r\n') <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_notes_ticket_idx ON ticket_notes (ticket_id, id);

ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_type_check;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_type_check
    CHECK (type IN ('created', 'taken', 'replied', 'linked', 'resolved', 'reopened',
                    'confirmed', 'closed', 'auto_closed', 'rated', 'sla_applied',
                    'sla_warning', 'sla_breach', 'edited', 'noted', 'assigned',
                    'transferred', 'merged', 'merged_from'));
