-- 004_kbuse: knowledge utilisation and reader feedback, one event row per use.
--
-- * knowledge_use: every use of a knowledge document, by document id (a
--   corpus file's id or a desk item's KB-D... / KE-D...; the index's id, so
--   it needs no knowledge_items row), with its kind:
--     shown        it appeared in a requester's or an agent's suggestions or
--                  an agent's search results in the desk
--     opened       a requester or an agent opened the whole document
--     helpful, not_helpful, out_of_date
--                  a reader's feedback (comment optional, at most 2,000
--                  characters)
--     linked       an agent linked it to a ticket
--     self_solved  a conversation in which it was suggested ended
--                  self-solved
--   with who (NULL once a requester is purged), the conversation and the
--   ticket when there is one, and when. Counters are aggregates over these
--   rows, so reports can count any period. Append-only.
-- Indexes: (doc_id, kind) for one item's counters; (doc_id, id) for its
-- newest feedback; (at) for counting a period across items.

CREATE TABLE knowledge_use (
    id              bigserial PRIMARY KEY,
    doc_id          text NOT NULL CHECK (char_length(doc_id) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN ('shown', 'opened', 'helpful', 'not_helpful',
                                                  'out_of_date', 'linked', 'self_solved')),
    person_id       bigint REFERENCES people (id) ON DELETE SET NULL,
    conversation_id bigint REFERENCES conversations (id) ON DELETE SET NULL,
    ticket_id       bigint REFERENCES tickets (id),
    comment         text CHECK (comment IS NULL OR (char_length(comment) BETWEEN 1 AND 2000
                                                    AND kind IN ('helpful', 'not_helpful',
                                                                 'out_of_date'))),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_use_doc_kind_idx ON knowledge_use (doc_id, kind);
CREATE INDEX knowledge_use_feedback_idx ON knowledge_use (doc_id, id)
    WHERE kind IN ('helpful', 'not_helpful', 'out_of_date');
CREATE INDEX knowledge_use_at_idx ON knowledge_use (at);

CREATE FUNCTION knowledge_use_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.id = NEW.id AND OLD.doc_id = NEW.doc_id
       AND OLD.kind = NEW.kind AND OLD.at = NEW.at
       AND OLD.comment IS NOT DISTINCT FROM NEW.comment
       AND OLD.ticket_id IS NOT DISTINCT FROM NEW.ticket_id THEN
        RETURN NEW; -- ON DELETE SET NULL of a purged requester or conversation
    END IF;
    RAISE EXCEPTION 'knowledge_use is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER knowledge_use_append_only BEFORE UPDATE OR DELETE ON knowledge_use
    FOR EACH ROW EXECUTE FUNCTION knowledge_use_append_only();
