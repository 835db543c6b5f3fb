-- Guesses at one-time codes per address, across all its codes and purposes: a budget that a
-- new code does not reset. A window starts with its first guess.
CREATE TABLE code_guesses (
  address      TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  guesses      INTEGER NOT NULL
);
