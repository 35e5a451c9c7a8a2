-- 019_major: major incidents (重大事件).
--
-- * major_incidents: one row per ticket ever declared a major incident:
--   when, by whom (NULL: the system, by the priority rule), why, the
--   message shown to affected requesters, and when and by whom it was
--   cleared (NULL: still a major incident). A cleared incident may be
--   declared again (the row is reused; the events keep the history).
-- * major_links: a ticket affected by a major incident (one at a time),
--   by whom and when; its requester sees the incident's banner.
-- * major_rule: the automatic declaration (single row; priority NULL: off):
--   an open ticket of this priority or a more urgent one becomes a major
--   incident (loaded by `chatdesk escalation-load`, key "major_priority").
-- * ticket_events.type gains major_declared, major_cleared, major_linked
--   (every type of 014_pause kept).
-- * mail_outbox.kind gains major_incident (every kind of 018_escal kept).

CREATE TABLE major_incidents (
    ticket_id   bigint PRIMARY KEY REFERENCES tickets (id),
    declared_at timestamptz NOT NULL,
    declared_by bigint REFERENCES people (id),
    reason      text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    message     text CHECK (message IS NULL OR char_length(message) BETWEEN 1 AND 500),
    cleared_at  timestamptz,
    cleared_by  bigint REFERENCES people (id),
    CHECK (cleared_at IS NULL OR cleared_at >= declared_at)
);
CREATE INDEX major_incidents_open_idx ON major_incidents (declared_at) WHERE cleared_at IS NULL;

CREATE TABLE major_links (
    ticket_id bigint PRIMARY KEY REFERENCES tickets (id),
    major_id  bigint NOT NULL REFERENCES major_incidents (ticket_id),
    linked_by bigint NOT NULL REFERENCES people (id),
    at        timestamptz NOT NULL,
    CHECK (ticket_id <> major_id)
);
CREATE INDEX major_links_major_idx ON major_links (major_id);

CREATE TABLE major_rule (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    priority smallint CHECK (priority IS NULL OR priority BETWEEN 1 AND 4)
);
INSERT INTO major_rule (one, priority) VALUES (true, NULL);

ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_type_check;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_type_check
    CHECK (type IN ('created', 'taken', 'replied', 'linked', 'resolved', 'reopened',
                    'confirmed', 'closed', 'auto_closed', 'rated', 'sla_applied',
                    'sla_warning', 'sla_breach', 'edited', 'noted', 'assigned',
                    'transferred', 'merged', 'merged_from', 'pending', 'resumed',
                    'major_declared', 'major_cleared', 'major_linked'));

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('signin_code', 'ticket_created', 'agent_replied', 'ticket_resolved',
                    'ticket_assigned', 'team_ticket',
                    'sla_warning', 'sla_breach', 'sla_escalated', 'major_incident'));
