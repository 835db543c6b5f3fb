-- Passkeys (GoTrue's /passkeys): discoverable WebAuthn credentials an account signs in with,
-- and the challenges of their ceremonies. A credential id is one passkey's (the unique index
-- here) or one WebAuthn factor's (mfa_factors_by_credential), never both: every write that
-- stores one checks the other table in the same statement.

CREATE TABLE passkeys (
  id               TEXT PRIMARY KEY,
  user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  credential_id    TEXT NOT NULL,                   -- base64url
  public_key       TEXT NOT NULL,                   -- JWK with its "alg"
  sign_count       INTEGER NOT NULL,
  aaguid           TEXT NOT NULL,                   -- hex
  backup_eligible  INTEGER NOT NULL,
  backed_up        INTEGER NOT NULL,
  transports       TEXT NOT NULL DEFAULT '',        -- comma list
  friendly_name    TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  last_used_at     INTEGER
);
CREATE UNIQUE INDEX passkeys_by_credential ON passkeys(credential_id);
CREATE INDEX passkeys_by_user ON passkeys(user_id, created_at);

-- Single use: deleted as they are answered. user_id is NULL for a sign-in's.
CREATE TABLE passkey_challenges (
  id          TEXT PRIMARY KEY,
  ceremony    TEXT NOT NULL,                        -- 'registration' or 'authentication'
  user_id     TEXT REFERENCES users(id) ON DELETE CASCADE,
  challenge   TEXT NOT NULL,                        -- base64url
  client      TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
);
CREATE INDEX passkey_challenges_by_created_at ON passkey_challenges(created_at);
