-- 018_escal: who hears of a service-level warning or breach, escalation
-- rules and quiet hours.
--
-- * sla_notifications: one row per person told of one mark (ticket x
--   kind x target), written in the transaction of the mark; the desk sends
--   its WebSocket frames to these people after the commit. The primary key
--   makes each threshold notify each person once.
-- * escalation_rules: what a warning or breach does beyond notifying,
--   loaded as a whole from a file (`chatdesk escalation-load`): for a
--   service (NULL: any), a priority (NULL: any), a kind (warning or breach)
--   and a target (NULL: either), either functional (move the ticket to
--   to_team, NULL: the next team of its current one) or hierarchical
--   (notify the leads of the ticket's team, or the leads of the service's
--   owner team). The rules apply in position order; the first functional
--   rule that matches is the only move.
-- * teams.escalates_to: the next team of a functional escalation (seeded
--   first-line -> second-line -> specialists).
-- * calendar_quiet: a calendar's quiet hours, local minutes of the day
--   [from_min, to_min) (to_min < from_min: over midnight); notification
--   mails that fall inside wait (next_attempt_at) until the quiet hours end.
-- * mail_outbox.kind gains sla_warning, sla_breach and sla_escalated (the
--   list keeps every earlier kind, 017_hooks' ticket_assigned and team_ticket
--   included).

CREATE TABLE sla_notifications (
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    kind      text NOT NULL CHECK (kind IN ('warning', 'breach')),
    target    text NOT NULL CHECK (target IN ('response', 'resolution')),
    person_id bigint NOT NULL REFERENCES people (id),
    why       text NOT NULL CHECK (why IN ('assignee', 'team', 'lead', 'owner')),
    mailed    boolean NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, kind, target, person_id)
);

ALTER TABLE teams ADD COLUMN escalates_to bigint REFERENCES teams (id);
UPDATE teams SET escalates_to = (SELECT id FROM teams WHERE slug = 'second-line')
    WHERE slug = 'first-line';
UPDATE teams SET escalates_to = (SELECT id FROM teams WHERE slug = 'specialists')
    WHERE slug = 'second-line';

CREATE TABLE escalation_rules (
    id         bigserial PRIMARY KEY,
    position   integer NOT NULL UNIQUE CHECK (position >= 0),
    service_id bigint REFERENCES services (id),
    priority   smallint CHECK (priority IS NULL OR priority BETWEEN 1 AND 4),
    on_kind    text NOT NULL CHECK (on_kind IN ('warning', 'breach')),
    target     text CHECK (target IS NULL OR target IN ('response', 'resolution')),
    action     text NOT NULL CHECK (action IN ('functional', 'hierarchical')),
    to_team_id bigint REFERENCES teams (id),
    notify     text CHECK (notify IS NULL OR notify IN ('lead', 'owner')),
    CHECK ((action = 'hierarchical') = (notify IS NOT NULL)),
    CHECK (action = 'functional' OR to_team_id IS NULL)
);

CREATE TABLE calendar_quiet (
    calendar_id bigint PRIMARY KEY REFERENCES calendars (id),
    from_min    smallint NOT NULL CHECK (from_min BETWEEN 0 AND 1439),
    to_min      smallint NOT NULL CHECK (to_min BETWEEN 0 AND 1439),
    CHECK (from_min <> to_min)
);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('signin_code', 'ticket_created', 'agent_replied', 'ticket_resolved',
                    'ticket_assigned', 'team_ticket',
                    'sla_warning', 'sla_breach', 'sla_escalated'));
