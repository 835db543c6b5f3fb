-- Secure email change: the two codes of one request (to the new and to the current address)
-- share a pair id, and the new address's code moves the account only once its pair's other
-- code was used. NULL: a code that is no half of a pair.
ALTER TABLE one_time_codes ADD COLUMN pair_id TEXT;
