-- The providers of an account's identities, kept with the account (GoTrue's
-- `app_metadata.providers`): a JSON array, each provider once, in the order it was first
-- linked. Every write of `identities` rewrites it in the same batch, so every read of the
-- account (a sign-in, a refresh, a bearer token's session) knows it without reading the
-- identities; tokens say `github` for an account a provider made, as upstream's do.

ALTER TABLE users ADD COLUMN providers TEXT NOT NULL DEFAULT '[]';

UPDATE users SET providers = (
  SELECT json_group_array(provider) FROM (
    SELECT provider FROM identities WHERE user_id = users.id
    GROUP BY provider ORDER BY MIN(created_at), MIN(id)
  )
) WHERE id IN (SELECT user_id FROM identities);
