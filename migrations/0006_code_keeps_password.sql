-- Whether a sign-up code belongs to the attempt that set the account's password (or re-sends
-- it): only such a code keeps that password when it first proves the address. 0 for every
-- other code, and for the codes of before (their first use then removes a password set by an
-- attempt nobody can now vouch for; the owner sets one after signing in).
ALTER TABLE one_time_codes ADD COLUMN keeps_password INTEGER NOT NULL DEFAULT 0;
