-- PKCE (GoTrue's flowType 'pkce'): a code mailed for a client that sent a challenge keeps
-- it, and following its link issues an auth code that only that client's verifier exchanges.

ALTER TABLE one_time_codes ADD COLUMN code_challenge TEXT;          -- NULL: no PKCE
ALTER TABLE one_time_codes ADD COLUMN code_challenge_method TEXT;   -- s256 | plain

CREATE TABLE flow_states (
  auth_code_hash        TEXT PRIMARY KEY,                           -- SHA-256 of the auth code, hex
  user_id               TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  method                TEXT NOT NULL,                              -- the session's AuthMethod
  code_challenge        TEXT NOT NULL,
  code_challenge_method TEXT NOT NULL,
  created_at            INTEGER NOT NULL,
  expires_at            INTEGER NOT NULL
);
CREATE INDEX flow_states_by_user ON flow_states(user_id);
