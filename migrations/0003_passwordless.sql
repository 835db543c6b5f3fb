-- Passwordless sessions: session tokens, emailed sign-in requests, and session activity.

-- Last authenticated use of a session (written at most once a minute).
ALTER TABLE sessions ADD COLUMN last_active_at INTEGER;
UPDATE sessions SET last_active_at = COALESCE(refreshed_at, created_at);

CREATE TABLE session_tokens (
  id          TEXT PRIMARY KEY,                     -- public half of id.secret
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,                        -- SHA-256 of the secret half, hex
  created_at  INTEGER NOT NULL
);
CREATE INDEX session_tokens_by_session ON session_tokens(session_id);

CREATE TABLE login_requests (
  id         TEXT PRIMARY KEY,                      -- the auth_id the requester polls with
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  platform   TEXT NOT NULL,
  link_hash  TEXT NOT NULL UNIQUE,                  -- SHA-256 of the mailed link's token
  page_hash  TEXT,                                  -- SHA-256 of the last page's token
  state      TEXT NOT NULL,                         -- pending | confirmed | denied | claimed
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
