-- What GoTrue's `app_metadata` says of an account's identities, kept with the account so that
-- every read of it (a sign-in, a refresh, a bearer token's session) knows without reading the
-- identities: `providers`, a JSON array of its identities' providers, each once, in the order
-- it was first linked, which every write of `identities` rewrites in the same batch; and
-- `made_by`, the provider whose identity made the account (`provider`, how it signed up),
-- NULL for one made with an address, a username or anonymously. A first proof of the mailbox
-- that forgets clears both, as it removes the identities.

ALTER TABLE users ADD COLUMN providers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN made_by TEXT NULL;

UPDATE users SET providers = (
  SELECT json_group_array(provider) FROM (
    SELECT provider FROM identities WHERE user_id = users.id
    GROUP BY provider ORDER BY MIN(created_at), MIN(id)
  )
) WHERE id IN (SELECT user_id FROM identities);

-- An account a provider made was stored with its first identity, at the same instant. One whose
-- first identity was unlinked since is not found so: it reads as made with its address.
-- (Identities arrived one release before this migration.)
UPDATE users SET made_by = (
  SELECT provider FROM identities i WHERE i.user_id = users.id AND i.created_at = users.created_at
  ORDER BY i.id LIMIT 1
) WHERE id IN (SELECT user_id FROM identities);
