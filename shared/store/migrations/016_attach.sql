-- 016_attach: attachments on chat messages and tickets.
--
-- The bytes live on disk, content-addressed by their SHA-256 under the
-- configured directory (chatdesk's attach_dir: ab/cdef...); each row here
-- is one upload: who uploaded it, its name as given, the type the server
-- detected from the content, and what it is attached to. Identical content
-- uploaded twice is two rows and one file.
--
-- * An upload starts unattached (conversation_id, message_seq and
--   ticket_id NULL): only its uploader may see it or attach it.
-- * Attached to a message: conversation_id + message_seq (the message's
--   seq in that conversation); to a ticket: ticket_id. Once attached it
--   stays where it is.
-- * Who may read it: its uploader, and whoever may see the conversation or
--   ticket it is attached to (the requester who owns it, enabled agents
--   and admins), as for the ticket itself.

CREATE TABLE attachments (
    id              bigserial PRIMARY KEY,
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size            bigint NOT NULL CHECK (size > 0),
    type            text NOT NULL CHECK (type ~ '^[a-z]+/[a-z0-9.+-]+$'),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    uploader_id     bigint NOT NULL REFERENCES people (id),
    conversation_id bigint REFERENCES conversations (id),
    message_seq     integer,
    ticket_id       bigint REFERENCES tickets (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    attached_at     timestamptz,
    CHECK ((conversation_id IS NULL) = (message_seq IS NULL)),
    CHECK (conversation_id IS NULL OR ticket_id IS NULL)
);
CREATE INDEX attachments_conv_idx ON attachments (conversation_id, message_seq)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX attachments_ticket_idx ON attachments (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX attachments_sha_idx ON attachments (sha256);
