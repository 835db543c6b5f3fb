-- Deleting an account cascades to its sign-in requests: without an index on user_id that
-- cascade scans the whole table.
CREATE INDEX login_requests_by_user ON login_requests(user_id);
