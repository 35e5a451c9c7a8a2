-- Several chatdesk instances on one database: an event too large for a
-- NOTIFY payload (8000 bytes) is kept here for a while and the notification
-- carries its id (store_cluster.c). Rows older than an hour are purged by
-- the next large event.
CREATE TABLE cluster_events (
    id         bigserial PRIMARY KEY,
    payload    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cluster_events_created ON cluster_events (created_at);
