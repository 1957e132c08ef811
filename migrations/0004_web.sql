-- Web app: server-side sessions.
--
-- A browser holds only a random session token in an HttpOnly cookie; the row
-- is keyed by the token's SHA-256, so a copy of this table cannot be replayed
-- as a cookie. A session with no operator is a login page waiting for its
-- form (it carries the CSRF token of that form).

CREATE TABLE web_sessions (
    id text PRIMARY KEY CHECK (length(id) = 64),
    operator_id text REFERENCES operators (id) ON DELETE CASCADE,
    role text,
    csrf_token text NOT NULL,
    must_change_password boolean NOT NULL DEFAULT false,
    remote text,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);
CREATE INDEX web_sessions_operator_idx ON web_sessions (operator_id)
    WHERE operator_id IS NOT NULL;
