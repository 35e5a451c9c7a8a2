-- 003_knowledge: desk-authored knowledge (articles and known errors) with
-- versions and a review lifecycle, and roles beyond people.role.
--
-- * person_roles: extra roles a person holds on top of people.role (which
--   stays requester / agent / admin). Today the only one is
--   'knowledge_reviewer'; a later migration widens the CHECK to add more.
-- * knowledge_items: one row per item, with its doc_id (the index's
--   document id: generated KB-D000001 / KE-D000001 for items created in the
--   desk, or the corpus id for imported ones), its state (draft, in_review,
--   approved, published, retired), the latest saved version, the version
--   live in the index (published_version: it stays live while a new draft
--   is written and reviewed), owner and review-due date, and index_seq, set
--   from knowledge_index_seq whenever what the index must show changes
--   (publish, retire), which the indexer follows.
-- * knowledge_versions: every save, numbered 1, 2, ... per item; doc is
--   the whole document as kb_doc_to_json writes it (kind, id, title, body,
--   visibility and the kind's fields). Append-only.
-- * knowledge_events: every change (who, when, from, to, a comment).
--   Append-only.
-- The store NOTIFYs channel kbdesk_knowledge when index_seq moves.

CREATE TABLE person_roles (
    person_id  bigint NOT NULL REFERENCES people (id),
    role       text NOT NULL CHECK (role IN ('knowledge_reviewer')),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, role)
);

CREATE SEQUENCE knowledge_index_seq;

CREATE TABLE knowledge_items (
    id                bigserial PRIMARY KEY,
    doc_id            text NOT NULL UNIQUE CHECK (doc_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    kind              text NOT NULL CHECK (kind IN ('article', 'known_error')),
    state             text NOT NULL DEFAULT 'draft'
                      CHECK (state IN ('draft', 'in_review', 'approved', 'published',
                                       'retired')),
    version           integer NOT NULL CHECK (version >= 1),
    published_version integer CHECK (published_version BETWEEN 1 AND version),
    owner_id          bigint NOT NULL REFERENCES people (id),
    review_due        timestamptz,
    index_seq         bigint NOT NULL DEFAULT 0,
    -- the creating request's Idempotency-Key: a retry finds this item
    idempotency_key   text CHECK (idempotency_key IS NULL
                                  OR char_length(idempotency_key) BETWEEN 1 AND 255),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'published' OR published_version = version),
    CHECK (state <> 'retired' OR published_version IS NULL),
    CHECK ((published_version IS NULL) = (review_due IS NULL)),
    UNIQUE (owner_id, idempotency_key)
);
CREATE INDEX knowledge_items_state_idx ON knowledge_items (state, id);
CREATE INDEX knowledge_items_index_seq_idx ON knowledge_items (index_seq);
CREATE INDEX knowledge_items_review_due_idx ON knowledge_items (review_due)
    WHERE published_version IS NOT NULL;

CREATE TABLE knowledge_versions (
    item_id    bigint NOT NULL REFERENCES knowledge_items (id),
    version    integer NOT NULL CHECK (version >= 1),
    doc        jsonb NOT NULL CHECK (jsonb_typeof(doc) = 'object'
                                     AND doc->>'visibility' IN ('public', 'internal')
                                     AND char_length(btrim(coalesce(doc->>'title', ''))) >= 1),
    title      text NOT NULL GENERATED ALWAYS AS (doc->>'title') STORED,
    author_id  bigint NOT NULL REFERENCES people (id),
    restored_from integer CHECK (restored_from IS NULL OR restored_from BETWEEN 1 AND version - 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, version)
);

CREATE TABLE knowledge_events (
    id         bigserial PRIMARY KEY,
    item_id    bigint NOT NULL REFERENCES knowledge_items (id),
    actor_id   bigint REFERENCES people (id),
    type       text NOT NULL CHECK (type IN ('created', 'imported', 'saved', 'restored',
                                             'submitted', 'approved', 'returned', 'published',
                                             'retired')),
    from_state text CHECK (from_state IN ('draft', 'in_review', 'approved', 'published',
                                          'retired')),
    to_state   text NOT NULL CHECK (to_state IN ('draft', 'in_review', 'approved', 'published',
                                                 'retired')),
    version    integer NOT NULL,
    comment    text CHECK (comment IS NULL OR char_length(comment) <= 2000),
    at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((type IN ('created', 'imported')) = (from_state IS NULL))
);
CREATE INDEX knowledge_events_item_idx ON knowledge_events (item_id, id);

CREATE FUNCTION knowledge_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER knowledge_versions_append_only BEFORE UPDATE OR DELETE ON knowledge_versions
    FOR EACH ROW EXECUTE FUNCTION knowledge_append_only();
CREATE TRIGGER knowledge_events_append_only BEFORE UPDATE OR DELETE ON knowledge_events
    FOR EACH ROW EXECUTE FUNCTION knowledge_append_only();
