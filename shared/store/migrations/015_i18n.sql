-- 015_i18n: what the administration page (chatdesk/www/admin.html) manages
-- beside people, roles and teams (013_workspace):
--
-- * ticket_categories: the managed list of ticket categories, each with the
--   team a new ticket of that category is routed to (NULL: none). A
--   ticket's category stays free text (escalation takes it from the
--   knowledge that fits); the ticket goes to the default team of the
--   longest managed category that equals it or is a path prefix of it
--   ("网络" routes "网络/VPN" unless "网络/VPN" has its own entry).
-- * settings: the settings an administrator changes at runtime, one row per
--   key that differs from the config file (no row: the file's value).
--   chatdesk reads them where it uses them; the keys and their ranges are
--   checked here and in store_admin.c.
CREATE TABLE ticket_categories (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 200
                                           AND btrim(name) = name AND name <> ''),
    team_id    bigint REFERENCES teams (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE settings (
    key        text PRIMARY KEY CHECK (key IN ('knowledge_self_approval', 'auto_close_days',
                                               'suggestions')),
    value      integer NOT NULL,
    updated_by bigint REFERENCES people (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (key <> 'knowledge_self_approval' OR value IN (0, 1)),
    CHECK (key <> 'auto_close_days' OR value BETWEEN 1 AND 365),
    CHECK (key <> 'suggestions' OR value BETWEEN 1 AND 20)
);
