-- Accounts, sessions, refresh tokens and one-time codes.
-- Times are unix milliseconds. Secrets are never stored in the clear: passwords as PHC strings,
-- refresh token and link secrets as SHA-256, code digits as a keyed HMAC.

CREATE TABLE users (
  id                 TEXT PRIMARY KEY,
  email              TEXT UNIQUE,                   -- trimmed, lower-cased; NULL: none yet
  username           TEXT,                          -- as chosen; unique regardless of case
  password_hash      TEXT,                          -- PHC string; NULL: no password
  email_confirmed_at INTEGER,
  last_sign_in_at    INTEGER,
  user_metadata      TEXT NOT NULL DEFAULT '{}',    -- JSON object
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username ON users(lower(username));

CREATE TABLE sessions (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  platform   TEXT NOT NULL DEFAULT '',
  method     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
  id          TEXT PRIMARY KEY,                     -- public half of id.secret
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,                        -- SHA-256 of the secret half, hex
  created_at  INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);

CREATE TABLE one_time_codes (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose    TEXT NOT NULL,
  code_hash  TEXT NOT NULL,
  link_hash  TEXT NOT NULL UNIQUE,
  sent_to    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  used_at    INTEGER,
  UNIQUE (user_id, purpose)                         -- one live code per purpose
);
