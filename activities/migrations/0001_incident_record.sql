-- The incident record: what a team reads after the fact. Temporal holds the
-- live incident; every row here is written by an activity with a key the
-- workflow fixed, so retries and replays never double a row.

CREATE TABLE incidents (
    human_id                text PRIMARY KEY,
    workflow_id             text NOT NULL,
    title                   text NOT NULL,
    severity                text NOT NULL,
    phase                   text NOT NULL,
    status                  text NOT NULL,
    service                 text,
    org                     text,
    source                  text NOT NULL,
    dedup_key               text,
    roles                   jsonb NOT NULL DEFAULT '{}',
    flags                   jsonb NOT NULL DEFAULT '[]',
    policy_version          text NOT NULL,
    root_cause              text,
    follows                 text,
    declared_at             timestamptz NOT NULL,
    acknowledged_at         timestamptz,
    mitigated_at            timestamptz,
    resolved_at             timestamptz,
    closed_at               timestamptz,
    postmortem_schedule_by  timestamptz,
    postmortem_complete_by  timestamptz,
    last_seq                integer NOT NULL
);
CREATE INDEX incidents_declared ON incidents (declared_at);

CREATE TABLE timeline (
    human_id  text NOT NULL REFERENCES incidents (human_id),
    seq       integer NOT NULL,
    at        timestamptz NOT NULL,
    kind      text NOT NULL,
    actor     text NOT NULL,
    text      text NOT NULL,
    reason    text,
    PRIMARY KEY (human_id, seq)
);

CREATE TABLE decisions (
    human_id  text NOT NULL,
    seq       integer NOT NULL,
    at        timestamptz NOT NULL,
    kind      text NOT NULL,
    actor     text NOT NULL,
    reason    text,
    payload   jsonb NOT NULL,
    PRIMARY KEY (human_id, seq),
    FOREIGN KEY (human_id, seq) REFERENCES timeline (human_id, seq)
);

CREATE TABLE notifications (
    human_id     text NOT NULL REFERENCES incidents (human_id),
    key          text NOT NULL,
    channel      text NOT NULL,
    kind         text NOT NULL,
    audience     text NOT NULL,
    delivered    boolean NOT NULL,
    status_code  integer,
    detail       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL,
    PRIMARY KEY (human_id, key, channel)
);

CREATE TABLE postmortems (
    human_id              text PRIMARY KEY REFERENCES incidents (human_id),
    status                text NOT NULL,
    submitted_by          text NOT NULL,
    submitted_at          timestamptz NOT NULL,
    scheduled_for         timestamptz,
    document_url          text,
    summary               text NOT NULL DEFAULT '',
    contributing_factors  jsonb NOT NULL DEFAULT '[]',
    lessons               jsonb NOT NULL DEFAULT '[]'
);

CREATE TABLE postmortem_drafts (
    human_id     text PRIMARY KEY REFERENCES incidents (human_id),
    draft        text NOT NULL,
    rendered_at  timestamptz NOT NULL
);

CREATE TABLE action_items (
    human_id     text NOT NULL REFERENCES incidents (human_id),
    id           integer NOT NULL,
    description  text NOT NULL,
    owner        text NOT NULL,
    priority     text NOT NULL,
    created_at   timestamptz NOT NULL,
    due          timestamptz,
    PRIMARY KEY (human_id, id)
);
