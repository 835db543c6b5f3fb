-- Second factors (GoTrue's MFA): enrolled factors, their challenges, and what a session has
-- proven. A TOTP factor's secret is sealed (XChaCha20-Poly1305, a key derived from a deployment
-- secret), never stored in the clear; a WebAuthn factor has none, and holds its credential's
-- public key once registered.

CREATE TABLE mfa_factors (
  id                 TEXT PRIMARY KEY,
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  friendly_name      TEXT NOT NULL DEFAULT '',
  factor_type        TEXT NOT NULL,                 -- 'totp' or 'webauthn'
  verified           INTEGER NOT NULL DEFAULT 0,
  secret             TEXT NOT NULL,                 -- sealed; '' for webauthn
  last_step          INTEGER,                       -- the last TOTP step a code was taken for
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  last_challenged_at INTEGER,
  -- A WebAuthn factor's credential, set by its registration (all NULL until then).
  webauthn_credential_id   TEXT,                    -- base64url
  webauthn_public_key      TEXT,                    -- JWK with its "alg"
  webauthn_sign_count      INTEGER,
  webauthn_aaguid          TEXT,                    -- hex
  webauthn_backup_eligible INTEGER,
  webauthn_transports      TEXT,                    -- comma list
  UNIQUE (user_id, friendly_name)
);
-- A credential belongs to one factor of one account.
CREATE UNIQUE INDEX mfa_factors_by_credential ON mfa_factors(webauthn_credential_id);

CREATE TABLE mfa_challenges (
  id          TEXT PRIMARY KEY,
  factor_id   TEXT NOT NULL REFERENCES mfa_factors(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  verified_at INTEGER,
  answer_id   TEXT,                                 -- the answer that took it (its refresh token's id)
  client      TEXT NOT NULL DEFAULT '',
  webauthn_challenge TEXT                           -- base64url: what a WebAuthn ceremony signs
);
CREATE INDEX mfa_challenges_by_factor ON mfa_challenges(factor_id, created_at);
CREATE INDEX mfa_challenges_by_created_at ON mfa_challenges(created_at);

-- What factors the account has (0 none, 1 only unverified ones, 2 a verified one), kept with
-- the account so that every read of it (sign-ins, the bearer road, GET /user) knows without
-- another query.
ALTER TABLE users ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0;

-- The second step a session took (NULL: aal1).
ALTER TABLE sessions ADD COLUMN factor_id TEXT;
ALTER TABLE sessions ADD COLUMN factor_type TEXT;
ALTER TABLE sessions ADD COLUMN aal2_at INTEGER;
CREATE INDEX sessions_by_factor ON sessions(factor_id) WHERE factor_id IS NOT NULL;
