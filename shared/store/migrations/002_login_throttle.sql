-- 002_login_throttle: account lockouts after repeated wrong passwords, and
-- a message body of only Unicode blanks refused.
--
-- * people.failed_logins counts an agent's consecutive wrong passwords (a
--   successful login sets it back to 0); when it reaches chatdesk's
--   login_max_failures the account is locked until people.locked_until and
--   the count starts again. The count lives here, not in one daemon's
--   memory, so a restart does not wipe it and several chatdesk processes on
--   one database share it.
-- * login_lockouts records every lockout (who, from which client address,
--   until when) and its early end by an administrator (`chatdesk unlock`).
-- * messages.body: 001 refused bodies of only ASCII blanks; this also
--   refuses the other Unicode white space and zero-width characters (an
--   ideographic space U+3000 is what a Chinese keyboard types). NOT VALID:
--   rows stored before are not re-checked.

ALTER TABLE people
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    ADD COLUMN locked_until  timestamptz;

CREATE TABLE login_lockouts (
    id           bigserial PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES people (id),
    address      text CHECK (address IS NULL OR char_length(address) BETWEEN 1 AND 64),
    failures     integer NOT NULL CHECK (failures >= 1),
    locked_at    timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz NOT NULL,
    unlocked_at  timestamptz,
    unlocked_by  text CHECK (unlocked_by IS NULL OR char_length(unlocked_by) BETWEEN 1 AND 128),
    CHECK (locked_until > locked_at),
    CHECK ((unlocked_at IS NULL) = (unlocked_by IS NULL))
);
CREATE INDEX login_lockouts_person_idx ON login_lockouts (person_id, locked_at);

ALTER TABLE messages ADD CONSTRAINT messages_body_not_blank CHECK (btrim(body, E' \t\r\n\u000b\u000c\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff') <> '') NOT VALID;
