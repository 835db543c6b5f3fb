-- Budgets counted per key in a window that starts with its first use: wrong guesses at
-- one-time codes per address (`guess:<address>`, across all its codes and purposes, so a new
-- code does not reset it) and mails per recipient (`mail:<address>`, across all purposes).
CREATE TABLE budgets (
  key          TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  used         INTEGER NOT NULL
);
