-- Provider identities (OpenID Connect and OAuth sign-in, GoTrue's `identities`): which account a
-- provider's subject signs in. A subject is one identity of one account across all of them (the
-- unique constraint, which a link's insert runs into rather than checking first, so that two
-- sign-ins at once cannot both link it). The account's deletion takes them (ON DELETE CASCADE);
-- a soft deletion and a first proof of the mailbox that forgets delete them in their batches.

CREATE TABLE identities (
  id              TEXT PRIMARY KEY,                 -- UUID v4 (GoTrue's identity_id)
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider        TEXT NOT NULL,                    -- configured name, lower case
  subject         TEXT NOT NULL,                    -- the provider's `sub` (or numeric id as text)
  email           TEXT NULL,                        -- as the provider gave it, normalised
  data            TEXT NOT NULL,                    -- JSON object: the claims at the latest sign-in
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  last_sign_in_at INTEGER NULL,
  UNIQUE (provider, subject)
);
-- An account's identities, oldest first (and the deletions by account).
CREATE INDEX identities_by_user ON identities(user_id, created_at);
-- No index on email: nothing looks an identity up by its address (an account is found by
-- users.email), and every sign-in would pay for keeping one.
