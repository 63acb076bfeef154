-- What customers were told, for the public status page and its feeds: every customer
-- update (never the internal timeline), and how each incident's service looks to them now.

ALTER TABLE incidents ADD COLUMN customer_impact text;

CREATE TABLE customer_updates (
    human_id  text NOT NULL REFERENCES incidents (human_id),
    seq       integer NOT NULL,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    stage     text NOT NULL,
    status    text NOT NULL,
    impact    text NOT NULL,
    message   text NOT NULL,
    PRIMARY KEY (human_id, seq),
    FOREIGN KEY (human_id, seq) REFERENCES timeline (human_id, seq)
);
CREATE INDEX customer_updates_at ON customer_updates (at);
