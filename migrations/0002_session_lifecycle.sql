-- Refresh rotation, session timeouts and mail send limits.

-- Last refresh of a session: the inactivity timeout counts from here.
ALTER TABLE sessions ADD COLUMN refreshed_at INTEGER;
UPDATE sessions SET refreshed_at = created_at;

-- A token's parent, and when it was exchanged for its successor.
ALTER TABLE refresh_tokens ADD COLUMN parent_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER;

-- When a mail for a purpose last went to an address (whether or not it has an account).
CREATE TABLE send_limits (
  address      TEXT NOT NULL,
  purpose      TEXT NOT NULL,
  last_sent_at INTEGER NOT NULL,
  PRIMARY KEY (address, purpose)
);

CREATE INDEX one_time_codes_by_recipient ON one_time_codes(sent_to, purpose);
