-- 007_audit: the data-access audit log (the operations-and-maintenance
-- standard, 8.6.1): who read which ticket, internal knowledge, problem,
-- person record or report, and every change of roles, permissions,
-- settings and knowledge state: time, actor, address, action, object.
--
-- Append-only and chained: each row carries prev_hash (the hash of the row
-- before it) and hash = sha256(prev_hash || audit_row_text(row)), so an
-- edited or deleted row breaks the chain where it stood (`chatdesk audit
-- verify`). audit_tip holds the newest hash; an insert locks it, so rows
-- chain in id order. Retention deletes the oldest rows in order and moves
-- their last hash to audit_tip.anchor, where verification starts; the
-- trigger refuses UPDATE always and DELETE unless the transaction set
-- kbdesk.audit_purge (store_audit_purge does).

CREATE TABLE audit_tip (
    id     smallint PRIMARY KEY CHECK (id = 1),
    hash   bytea NOT NULL,
    anchor bytea NOT NULL   -- the prev_hash of the oldest row kept
);
INSERT INTO audit_tip VALUES (1, sha256(convert_to('kbdesk audit', 'UTF8')),
                              sha256(convert_to('kbdesk audit', 'UTF8')));

CREATE TABLE audit_log (
    id          bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    bigint,
    actor_role  text CHECK (actor_role IS NULL OR char_length(actor_role) <= 32),
    address     text CHECK (address IS NULL OR char_length(address) <= 64),
    action      text NOT NULL CHECK (action IN ('read', 'change', 'export')),
    object_type text NOT NULL CHECK (object_type IN ('ticket', 'knowledge', 'problem', 'ci',
                                                     'person', 'report', 'role', 'setting',
                                                     'attachment', 'audit')),
    object_id   text NOT NULL CHECK (char_length(object_id) BETWEEN 1 AND 200),
    detail      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL
);
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, id);

-- The text a row's hash covers: every field, the time in UTC to the
-- microsecond, independent of the session's settings.
CREATE FUNCTION audit_row_text(id bigint, at timestamptz, actor_id bigint, actor_role text,
                               address text, action text, object_type text, object_id text,
                               detail jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(concat_ws(E'\x1f', id::text,
                                to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                                coalesce(actor_id::text, '-'), coalesce(actor_role, '-'),
                                coalesce(address, '-'), action, object_type, object_id,
                                detail::text), 'UTF8')
$$;

CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('kbdesk.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
