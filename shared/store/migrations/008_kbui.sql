-- 008_kbui: knowledge written from a ticket. knowledge_items.source_ticket
-- is the resolved or closed ticket a draft was created from
-- (store_knowledge_from_ticket, POST /api/v1/tickets/{number}/knowledge);
-- NULL for items written from scratch or imported. Its "created" event
-- names the ticket in its comment.
ALTER TABLE knowledge_items ADD COLUMN source_ticket bigint REFERENCES tickets (id);
CREATE INDEX knowledge_items_source_ticket_idx ON knowledge_items (source_ticket)
    WHERE source_ticket IS NOT NULL;
