-- The dialect a session was started through: only that dialect's access and refresh tokens
-- work with it. NULL for sessions from before, which every dialect may use as before.
ALTER TABLE sessions ADD COLUMN dialect TEXT;
