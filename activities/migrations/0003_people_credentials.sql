-- People's credentials for the HTTP service: per-person API tokens (only their SHA-256 is kept)
-- and the acknowledge links already used (each link's nonce, taken once).

CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person        text        NOT NULL,
    token_sha256  text        NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

CREATE INDEX api_tokens_person ON api_tokens (person);

CREATE TABLE used_ack_links (
    nonce    text        PRIMARY KEY,
    used_at  timestamptz NOT NULL DEFAULT now()
);
