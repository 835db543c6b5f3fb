-- The scheduled purge (worker/src/purge.rs) looks for what has expired through these, so an
-- hourly run reads about what it deletes instead of whole tables. The partial indexes hold only
-- the rows that can ever match: used refresh tokens, ended sessions.
CREATE INDEX refresh_tokens_by_used_at ON refresh_tokens(used_at) WHERE used_at IS NOT NULL;
CREATE INDEX sessions_by_revoked_at ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_by_created_at ON sessions(created_at);
CREATE INDEX one_time_codes_by_expires_at ON one_time_codes(expires_at);
CREATE INDEX flow_states_by_expires_at ON flow_states(expires_at);
CREATE INDEX login_requests_by_expires_at ON login_requests(expires_at);
CREATE INDEX budgets_by_window_start ON budgets(window_start);
CREATE INDEX send_limits_by_last_sent_at ON send_limits(last_sent_at);
