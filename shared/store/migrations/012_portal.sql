-- 012_portal: requester identity (private links, e-mail sign-in codes,
-- verified addresses, mail preference) and the mail outbox.
--
-- * people.email_verified: the address was proven by a sign-in code; a
--   verified address belongs to one person (case-insensitively).
--   people.ticket_mail: the person wants ticket mails (created, agent
--   replied, resolved); sign-in codes are always sent.
-- * requester_links: a requester's private link, kept under the BLAKE2b
--   hash of its token (never the token); issuing a new one revokes the
--   older ones (revoked_at set), so at most one is live per person.
-- * signin_codes: a six-digit code (and a link token) mailed to an address,
--   both stored hashed, valid until expires_at, at most 5 wrong tries
--   (tries), used once (used_at).
-- * mail_outbox: mails to send, written in the transaction of the event
--   that causes them; chatdesk's sender claims due rows (status queued,
--   next_attempt_at <= now()) with FOR UPDATE SKIP LOCKED, sends and marks
--   them sent, or counts the attempt, keeps the error and pushes
--   next_attempt_at back. 'held': a ticket-created mail waiting for the
--   private link it carries ({link} in its body, filled when the desk
--   issues the link); the sender sends a held mail without the link after
--   10 minutes. '{portal}' in a body is the configured public address.
-- * The ticket mails are written by triggers on ticket_events, so they are
--   in the transaction of the event itself: 'created' (held, for the link)
--   and 'resolved' (asking for confirmation), to a requester with an
--   address and ticket_mail on.

ALTER TABLE people
    ADD COLUMN email_verified boolean NOT NULL DEFAULT false,
    ADD COLUMN ticket_mail    boolean NOT NULL DEFAULT true,
    ADD CONSTRAINT people_verified_has_email CHECK (NOT email_verified OR email IS NOT NULL);
CREATE UNIQUE INDEX people_verified_email_key ON people (lower(email)) WHERE email_verified;

CREATE TABLE requester_links (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    person_id  bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    used_at    timestamptz
);
CREATE INDEX requester_links_person_idx ON requester_links (person_id) WHERE revoked_at IS NULL;

CREATE TABLE signin_codes (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    code_hash  bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    link_hash  bytea NOT NULL UNIQUE CHECK (octet_length(link_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    tries      integer NOT NULL DEFAULT 0 CHECK (tries >= 0),
    used_at    timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX signin_codes_email_idx ON signin_codes (lower(email), id);

CREATE TABLE mail_outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('signin_code', 'ticket_created',
                                                  'agent_replied', 'ticket_resolved')),
    person_id       bigint REFERENCES people (id) ON DELETE SET NULL,
    ticket_id       bigint REFERENCES tickets (id),
    to_addr         text NOT NULL CHECK (char_length(to_addr) BETWEEN 3 AND 254
                                         AND to_addr LIKE '%_@_%'
                                         AND to_addr !~ '[\r\n<>,]'),
    subject         text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 500
                                         AND subject !~ '[\r\n]'),
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 100000),
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('held', 'queued', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status IN ('queued', 'held');

CREATE FUNCTION ticket_events_mail() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t tickets%ROWTYPE;
    p people%ROWTYPE;
BEGIN
    IF NEW.type NOT IN ('created', 'resolved') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO t FROM tickets WHERE id = NEW.ticket_id;
    SELECT * INTO p FROM people WHERE id = t.requester_id;
    IF p.email IS NULL OR NOT p.ticket_mail OR p.disabled OR p.email ~ '[\r\n<>,]' THEN
        RETURN NULL;
    END IF;
    IF NEW.type = 'created' THEN
        INSERT INTO mail_outbox (kind, person_id, ticket_id, to_addr, subject, body, status)
        VALUES ('ticket_created', p.id, t.id, p.email,
                '工单 ' || t.number || ' 已创建 / Ticket ' || t.number || ' created',
                p.name || '，您好：' || E'\n\n'
                || '您的问题已登记为工单 ' || t.number || '，服务台会尽快处理。' || E'\n'
                || '摘要：' || t.summary || E'\n\n'
                || '用这个私密链接可以在任何设备上回到对话（请勿转发）：' || E'\n'
                || '{link}' || E'\n\n'
                || 'Your request is ticket ' || t.number
                || '. Open the private link above to continue from any device.' || E'\n',
                'held');
    ELSE
        INSERT INTO mail_outbox (kind, person_id, ticket_id, to_addr, subject, body)
        VALUES ('ticket_resolved', p.id, t.id, p.email,
                '工单 ' || t.number || ' 已解决，请确认 / Ticket ' || t.number
                || ' resolved: please confirm',
                p.name || '，您好：' || E'\n\n'
                || '工单 ' || t.number || ' 已由服务台解决：' || E'\n'
                || coalesce(t.resolution, '') || E'\n\n'
                || '请回到聊天页面（私密链接或邮箱登录）确认问题是否已解决，并为服务评分：' || E'\n'
                || '{portal}' || E'\n\n'
                || 'Ticket ' || t.number || ' was resolved. Please confirm on the chat page.'
                || E'\n');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_events_mail AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_mail();
