-- 009_search_log: what people searched for in the desk, for the report's
-- search indicators (content gaps: searches that found nothing or nothing
-- good; top queries; click-through). One row per search: a requester's
-- chat suggestions (the latest message as the query) or an agent's search
-- in the agent page; the hits, the best hit's confidence and whether the
-- search answered "no good match".

CREATE TABLE search_log (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL CHECK (source IN ('chat', 'agent')),
    person_id       bigint REFERENCES people (id) ON DELETE SET NULL,
    conversation_id bigint REFERENCES conversations (id) ON DELETE SET NULL,
    query           text NOT NULL CHECK (char_length(query) BETWEEN 1 AND 200),
    hits            integer NOT NULL CHECK (hits >= 0),
    top_confidence  real CHECK (top_confidence IS NULL OR top_confidence BETWEEN 0 AND 1),
    no_good_match   boolean NOT NULL,
    top_doc         text CHECK (top_doc IS NULL OR char_length(top_doc) BETWEEN 1 AND 200)
);
CREATE INDEX search_log_at_idx ON search_log (at);
