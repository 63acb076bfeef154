-- On-call overrides a person set (`warroom override`): on top of the directory file's
-- schedules and iCal feeds, and winning over them.

CREATE TABLE oncall_overrides (
    id          bigserial PRIMARY KEY,
    schedule    text NOT NULL,
    person      text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    note        text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oncall_overrides_ordered CHECK (ends_at > starts_at)
);
CREATE INDEX oncall_overrides_ends ON oncall_overrides (ends_at);
