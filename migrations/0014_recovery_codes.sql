-- Recovery codes (GoTrue's `recovery_code` factor): an account's set is one verified factor of
-- type 'recovery_code' in mfa_factors, and its codes are here, each as a SHA-256 of the factor
-- id and the code (80 random bits a code: no key is needed against guessing from a copy of the
-- database). A code is used once: its row keeps when.

CREATE TABLE mfa_recovery_codes (
  factor_id TEXT NOT NULL REFERENCES mfa_factors(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  used_at   INTEGER,
  PRIMARY KEY (factor_id, code_hash)
) WITHOUT ROWID;
