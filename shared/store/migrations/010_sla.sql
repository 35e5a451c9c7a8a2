-- 010_sla: service levels. Business calendars with versions, the service
-- catalogue, SLA policies per service and priority, and each ticket's
-- service-level clock.
--
-- * calendars: one row per calendar (name, title) and its current version.
-- * calendar_versions: every edit of a calendar, numbered 1, 2, ... per
--   calendar; body is the calendar in kb_calendar's canonical JSON (zone,
--   offset, weekly hours, holidays, adjusted working days, 7x24). Append-only:
--   a ticket keeps the version it was computed with.
-- * services: name, title, owner team (text for now), description, the
--   calendar its targets count in; at most one is the default (a ticket that
--   names no service gets it).
-- * sla_policies: per service x priority (1..4) a response and a resolution
--   target in working minutes of the service's calendar (fractions allowed:
--   deadlines are counted in whole seconds), and the share of a target at
--   which a warning goes out.
-- * ticket_sla: a ticket's service, policy, the targets and calendar
--   version it was computed with, when its clock started, the deadlines and
--   the instants of the warnings, and when each warning and breach was
--   marked (NULL: not yet). tickets.response_due / resolution_due carry the
--   same deadlines (the queue and the pages read them there).
-- * ticket_events gains the types sla_applied (deadlines computed or
--   recomputed), sla_warning and sla_breach.

CREATE TABLE calendars (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    title           text CHECK (title IS NULL OR char_length(title) BETWEEN 1 AND 200),
    current_version integer NOT NULL CHECK (current_version >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calendar_versions (
    calendar_id bigint NOT NULL REFERENCES calendars (id),
    version     integer NOT NULL CHECK (version >= 1),
    tz          text NOT NULL CHECK (char_length(tz) BETWEEN 1 AND 63),
    body        jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    created_by  bigint REFERENCES people (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (calendar_id, version)
);

CREATE FUNCTION sla_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER calendar_versions_append_only BEFORE UPDATE OR DELETE ON calendar_versions
    FOR EACH ROW EXECUTE FUNCTION sla_append_only();

CREATE TABLE services (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    owner_team  text CHECK (owner_team IS NULL OR char_length(owner_team) BETWEEN 1 AND 200),
    description text CHECK (description IS NULL OR char_length(description) <= 2000),
    calendar_id bigint NOT NULL REFERENCES calendars (id),
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX services_one_default ON services ((true)) WHERE is_default;

CREATE TABLE sla_policies (
    id               bigserial PRIMARY KEY,
    service_id       bigint NOT NULL REFERENCES services (id),
    priority         smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    -- minutes, to the millisecond (0.05 is 3 s: tests), at most ten years
    response_minutes numeric(12, 4) NOT NULL CHECK (response_minutes > 0
                                                    AND response_minutes <= 5256000),
    resolve_minutes  numeric(12, 4) NOT NULL CHECK (resolve_minutes > 0
                                                    AND resolve_minutes <= 5256000),
    warn_percent     smallint NOT NULL DEFAULT 75 CHECK (warn_percent BETWEEN 1 AND 99),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (service_id, priority),
    CHECK (resolve_minutes >= response_minutes)
);

CREATE TABLE ticket_sla (
    ticket_id           bigint PRIMARY KEY REFERENCES tickets (id),
    service_id          bigint NOT NULL REFERENCES services (id),
    policy_id           bigint NOT NULL REFERENCES sla_policies (id),
    calendar_id         bigint NOT NULL,
    calendar_version    integer NOT NULL,
    -- the targets used (a later policy edit changes them only on re-apply)
    response_minutes    numeric(12, 4) NOT NULL,
    resolve_minutes     numeric(12, 4) NOT NULL,
    warn_percent        smallint NOT NULL,
    started_at          timestamptz NOT NULL,
    response_due        timestamptz NOT NULL,
    resolve_due         timestamptz NOT NULL,
    response_warn_at    timestamptz NOT NULL,
    resolve_warn_at     timestamptz NOT NULL,
    response_warned_at  timestamptz,
    response_breached_at timestamptz,
    resolve_warned_at   timestamptz,
    resolve_breached_at timestamptz,
    -- the clock ended for good (first response given; ticket closed): the
    -- timer's indexes forget the row
    response_done       boolean NOT NULL DEFAULT false,
    resolve_done        boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (calendar_id, calendar_version) REFERENCES calendar_versions (calendar_id, version),
    CHECK (response_warn_at <= response_due AND resolve_warn_at <= resolve_due
           AND response_due <= resolve_due AND started_at <= response_due)
);
-- the timer's look-ups: each threshold not yet marked on a clock still
-- running, and the running clocks (to find those that ended)
CREATE INDEX ticket_sla_response_warn_idx ON ticket_sla (response_warn_at)
    WHERE response_warned_at IS NULL AND NOT response_done;
CREATE INDEX ticket_sla_response_due_idx ON ticket_sla (response_due)
    WHERE response_breached_at IS NULL AND NOT response_done;
CREATE INDEX ticket_sla_response_live_idx ON ticket_sla (response_warn_at)
    WHERE NOT response_done;
CREATE INDEX ticket_sla_resolve_warn_idx ON ticket_sla (resolve_warn_at)
    WHERE resolve_warned_at IS NULL AND NOT resolve_done;
CREATE INDEX ticket_sla_resolve_due_idx ON ticket_sla (resolve_due)
    WHERE resolve_breached_at IS NULL AND NOT resolve_done;
CREATE INDEX ticket_sla_resolve_live_idx ON ticket_sla (resolve_warn_at)
    WHERE NOT resolve_done;

ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_type_check;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_type_check
    CHECK (type IN ('created', 'taken', 'replied', 'linked', 'resolved', 'reopened', 'confirmed',
                    'closed', 'auto_closed', 'rated', 'sla_applied', 'sla_warning', 'sla_breach'));
