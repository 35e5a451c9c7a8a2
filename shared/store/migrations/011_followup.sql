-- 011_followup: the follow-up call after a ticket closes (回访, the
-- operations-and-maintenance standard's 8.3.3 f): whether the problem
-- stayed solved. A closed ticket without a row is a follow-up the desk
-- still owes (store_followup_due); recording one is a row, once per
-- ticket, with who, when, the outcome and a note.

CREATE TABLE followups (
    ticket_id  bigint PRIMARY KEY REFERENCES tickets (id),
    agent_id   bigint NOT NULL REFERENCES people (id),
    outcome    text NOT NULL CHECK (outcome IN ('stayed_solved', 'recurred', 'no_answer')),
    note       text CHECK (note IS NULL OR char_length(note) BETWEEN 1 AND 2000),
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX followups_at_idx ON followups (at);
