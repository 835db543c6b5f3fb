-- GoTrue's admin API and anonymous sign-in: what only the service role sets (app_metadata, a
-- ban), soft deletion, and accounts without any address.
ALTER TABLE users ADD COLUMN app_metadata TEXT NOT NULL DEFAULT '{}';   -- JSON object
ALTER TABLE users ADD COLUMN banned_until INTEGER;                      -- NULL: not banned
ALTER TABLE users ADD COLUMN is_anonymous INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deleted_at INTEGER;                        -- soft deletion
-- The admin list pages newest first.
CREATE INDEX users_by_created_at ON users(created_at DESC, id);
