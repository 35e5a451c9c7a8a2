-- 014_pause: the ticket status "pending" (waiting for the requester, 待用户
-- 反馈) with its reason, and the service-level clock as segments.
--
-- * tickets.status gains 'pending': an agent holding the ticket sets it
--   with a reason (tickets.pending_reason, NULL in every other status); the
--   requester's next message, or the agent ("resume"), leaves it. A pending
--   ticket has its agent.
-- * ticket_events gains the types 'pending' and 'resumed', and 'pending'
--   among the from / to statuses.
-- * ticket_sla_segments: each ticket's resolution clock as a list of
--   segments, running or paused, in order (seq 1, 2, ...). A segment is
--   appended when the clock changes state and the open one (ended_at NULL)
--   is closed then; nothing else is ever changed or deleted (trigger). The
--   resolution deadline and its warning are derived from it: the target's
--   working time is counted over the running segments only. Tickets older
--   than this migration get one running segment from their creation (or
--   the clock's start).

ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
    CHECK (status IN ('new', 'assigned', 'pending', 'resolved', 'reopened', 'closed'));
ALTER TABLE tickets ADD COLUMN pending_reason text
    CHECK (pending_reason IS NULL OR (char_length(pending_reason) BETWEEN 1 AND 500
                                      AND btrim(pending_reason) <> ''));
ALTER TABLE tickets ADD CONSTRAINT tickets_pending_check
    CHECK ((status = 'pending') = (pending_reason IS NOT NULL)
           AND (status <> 'pending' OR agent_id IS NOT NULL));
CREATE INDEX tickets_pending_idx ON tickets (priority, created_at) WHERE status = 'pending';

ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_from_status_check;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_from_status_check
    CHECK (from_status IN ('new', 'assigned', 'pending', 'resolved', 'reopened', 'closed'));
ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_to_status_check;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_to_status_check
    CHECK (to_status IN ('new', 'assigned', 'pending', 'resolved', 'reopened', 'closed'));
ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_type_check;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_type_check
    CHECK (type IN ('created', 'taken', 'replied', 'linked', 'resolved', 'reopened',
                    'confirmed', 'closed', 'auto_closed', 'rated', 'sla_applied',
                    'sla_warning', 'sla_breach', 'edited', 'noted', 'assigned',
                    'transferred', 'merged', 'merged_from', 'pending', 'resumed'));

CREATE TABLE ticket_sla_segments (
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    seq        integer NOT NULL CHECK (seq >= 1),
    kind       text NOT NULL CHECK (kind IN ('running', 'paused')),
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    reason     text CHECK (reason IS NULL OR char_length(reason) <= 500),
    PRIMARY KEY (ticket_id, seq),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- at most one open segment per ticket
CREATE UNIQUE INDEX ticket_sla_segments_open ON ticket_sla_segments (ticket_id)
    WHERE ended_at IS NULL;

-- append-only: a row may only be closed (ended_at NULL -> a time), once
CREATE FUNCTION sla_segment_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL
       AND NEW.ticket_id = OLD.ticket_id AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind
       AND NEW.started_at = OLD.started_at
       AND NEW.reason IS NOT DISTINCT FROM OLD.reason THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ticket_sla_segments is append-only (a segment is closed once)'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ticket_sla_segments_append_only BEFORE UPDATE OR DELETE
    ON ticket_sla_segments FOR EACH ROW EXECUTE FUNCTION sla_segment_append_only();

INSERT INTO ticket_sla_segments (ticket_id, seq, kind, started_at, ended_at, reason)
    SELECT t.id, 1, 'running', coalesce(ts.started_at, t.created_at), NULL, 'created'
    FROM tickets t LEFT JOIN ticket_sla ts ON ts.ticket_id = t.id;
