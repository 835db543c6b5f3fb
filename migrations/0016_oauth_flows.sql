-- Sign-ins through an identity provider's pages, between the redirect there and the callback
-- (GoTrue's flow_state rows of the OAuth flows): the state the provider carries back is stored
-- only as its SHA-256, and the callback takes the row (DELETE ... RETURNING), so each is
-- finished once. Rows older than their expiry are dropped by the next flow's start and by the
-- scheduled purge.

CREATE TABLE oauth_flows (
  state_hash            TEXT PRIMARY KEY,          -- SHA-256 of the state, hex
  provider              TEXT NOT NULL,             -- configured name
  dialect               TEXT NOT NULL,             -- the client's: gotrue, feathers
  redirect_to           TEXT NOT NULL,             -- checked against URI_ALLOW_LIST
  code_challenge        TEXT NULL,                 -- GoTrue's PKCE flow: the client's challenge
  code_challenge_method TEXT NULL,
  link_user_id          TEXT NULL,                 -- linking by hand: the account, and
  link_session_id       TEXT NULL,                 -- the session that asked
  created_at            INTEGER NOT NULL,
  expires_at            INTEGER NOT NULL
);
CREATE INDEX oauth_flows_by_expiry ON oauth_flows(expires_at);

-- A PKCE auth code of a sign-in through a provider keeps the provider's tokens until the
-- exchange hands them to the client: sealed (XChaCha20-Poly1305, a key derived from
-- JWT_SECRET, the auth code's hash as associated data), gone with the auth code.
ALTER TABLE flow_states ADD COLUMN provider_tokens TEXT NULL;
