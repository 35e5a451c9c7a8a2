-- 017_hooks: notifications beyond the requester's mail: agents' mails,
-- per-person preferences, group robots (WeCom, DingTalk, Feishu) and
-- outgoing integration webhooks, delivered from an outbox.
--
-- * notify_prefs: a person's notification preferences, per kind (assigned:
--   a ticket assigned to me; team: a new ticket in one of my teams) and per
--   channel (mail; browser: the in-page notice and the browser's
--   notification). No row: everything on.
-- * mail_outbox gains the kinds ticket_assigned and team_ticket, written by
--   a trigger on ticket_events in the transaction of the event: 'assigned'
--   mails the new holder (unless they assigned it to themselves);
--   'transferred', and 'created' of a ticket that already has a team, mail
--   the team's members (but the actor), each with an address, not disabled,
--   and the preference on.
-- * robots: group-robot webhooks (kind wecom, dingtalk or feishu; an http(s)
--   URL; an optional signing secret for DingTalk and Feishu) of one team
--   (team_id) or of every ticket (NULL), for the event types in events.
-- * webhooks: integration subscriptions: an http(s) URL, the secret that
--   signs each delivery (HMAC-SHA256 of the body), the event types ('*':
--   all).
-- * webhook_outbox: one row per delivery (to a robot or to a webhook),
--   written by a trigger on ticket_events in the transaction of the event,
--   with the event as a JSON payload; chatdesk's sender claims due rows
--   with FOR UPDATE SKIP LOCKED, formats and signs them at send time, and
--   marks them sent or counts the attempt with a back-off.

CREATE TABLE notify_prefs (
    person_id      bigint PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    mail_assigned  boolean NOT NULL DEFAULT true,
    mail_team      boolean NOT NULL DEFAULT true,
    browser_assigned boolean NOT NULL DEFAULT true,
    browser_team   boolean NOT NULL DEFAULT true,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('signin_code', 'ticket_created', 'agent_replied', 'ticket_resolved',
                    'ticket_assigned', 'team_ticket'));

CREATE FUNCTION ticket_events_agent_mail() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t tickets%ROWTYPE;
    tm teams%ROWTYPE;
BEGIN
    IF NEW.type NOT IN ('created', 'assigned', 'transferred') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO t FROM tickets WHERE id = NEW.ticket_id;
    IF NEW.type = 'assigned' THEN
        INSERT INTO mail_outbox (kind, person_id, ticket_id, to_addr, subject, body)
        SELECT 'ticket_assigned', p.id, t.id, p.email,
               '工单 ' || t.number || ' 已分配给您 / Ticket ' || t.number || ' assigned to you',
               p.name || '，您好：' || E'\n\n'
               || '工单 ' || t.number || ' 已分配给您' || coalesce('（' || a.name || '）', '')
               || '。' || E'\n' || '摘要：' || t.summary || E'\n'
               || coalesce('原因：' || (NEW.detail->>'reason') || E'\n', '') || E'\n'
               || 'Ticket ' || t.number || ' was assigned to you: ' || t.summary || E'\n'
               || '{portal}' || E'\n'
        FROM people p LEFT JOIN people a ON a.id = NEW.actor_id
        LEFT JOIN notify_prefs n ON n.person_id = p.id
        WHERE p.id = t.agent_id AND p.id IS DISTINCT FROM NEW.actor_id
          AND p.email IS NOT NULL AND NOT p.disabled AND p.email !~ '[\r\n<>,]'
          AND p.email LIKE '%_@_%' AND coalesce(n.mail_assigned, true);
        RETURN NULL;
    END IF;
    IF t.team_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO tm FROM teams WHERE id = t.team_id;
    INSERT INTO mail_outbox (kind, person_id, ticket_id, to_addr, subject, body)
    SELECT 'team_ticket', p.id, t.id, p.email,
           tm.name || '：新工单 ' || t.number || ' / New ticket ' || t.number || ' in '
           || coalesce(tm.name_en, tm.slug),
           p.name || '，您好：' || E'\n\n'
           || '您所在的团队「' || tm.name || '」有新工单 ' || t.number || '：' || E'\n'
           || t.summary || E'\n\n'
           || 'Ticket ' || t.number || ' is now in your team ' || coalesce(tm.name_en, tm.slug)
           || ': ' || t.summary || E'\n' || '{portal}' || E'\n'
    FROM team_members m JOIN people p ON p.id = m.person_id
    LEFT JOIN notify_prefs n ON n.person_id = p.id
    WHERE m.team_id = t.team_id AND p.id IS DISTINCT FROM NEW.actor_id
      AND p.role IN ('agent', 'admin')
      AND p.email IS NOT NULL AND NOT p.disabled AND p.email !~ '[\r\n<>,]'
      AND p.email LIKE '%_@_%' AND coalesce(n.mail_team, true);
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_events_agent_mail AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_agent_mail();

CREATE TABLE robots (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64 AND btrim(name) <> ''),
    kind       text NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'feishu')),
    url        text NOT NULL CHECK (char_length(url) BETWEEN 8 AND 2000
                                    AND url ~ '^https?://[^[:space:]/?#]+[^[:space:]]*$'),
    secret     text CHECK (secret IS NULL OR char_length(secret) BETWEEN 1 AND 200),
    team_id    bigint REFERENCES teams (id),
    events     text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 32),
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhooks (
    id         bigserial PRIMARY KEY,
    url        text NOT NULL CHECK (char_length(url) BETWEEN 8 AND 2000
                                    AND url ~ '^https?://[^[:space:]/?#]+[^[:space:]]*$'),
    secret     text NOT NULL CHECK (char_length(secret) BETWEEN 16 AND 200),
    events     text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 32),
    enabled    boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_outbox (
    id              bigserial PRIMARY KEY,
    robot_id        bigint REFERENCES robots (id) ON DELETE CASCADE,
    webhook_id      bigint REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        bigint NOT NULL REFERENCES ticket_events (id),
    payload         jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CHECK ((robot_id IS NULL) <> (webhook_id IS NULL)),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE status = 'queued';

CREATE FUNCTION ticket_events_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pl jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM robots WHERE enabled AND NEW.type = ANY (events))
       AND NOT EXISTS (SELECT 1 FROM webhooks WHERE enabled
                       AND (NEW.type = ANY (events) OR '*' = ANY (events))) THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_build_object(
             'event', NEW.type, 'event_id', NEW.id,
             'at', to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
             'actor', a.name, 'from_status', NEW.from_status, 'to_status', NEW.to_status,
             'ticket', jsonb_build_object('number', t.number, 'summary', t.summary,
                                          'status', t.status, 'priority', t.priority,
                                          'team', tm.slug, 'team_name', tm.name,
                                          'agent', g.name),
             'detail', NEW.detail)
      INTO pl
      FROM tickets t LEFT JOIN teams tm ON tm.id = t.team_id
      LEFT JOIN people g ON g.id = t.agent_id LEFT JOIN people a ON a.id = NEW.actor_id
     WHERE t.id = NEW.ticket_id;
    INSERT INTO webhook_outbox (robot_id, event_id, payload)
    SELECT r.id, NEW.id, pl FROM robots r, tickets t
     WHERE t.id = NEW.ticket_id AND r.enabled AND NEW.type = ANY (r.events)
       AND (r.team_id IS NULL OR r.team_id = t.team_id);
    INSERT INTO webhook_outbox (webhook_id, event_id, payload)
    SELECT w.id, NEW.id, pl FROM webhooks w
     WHERE w.enabled AND (NEW.type = ANY (w.events) OR '*' = ANY (w.events));
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_events_webhooks AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_webhooks();
