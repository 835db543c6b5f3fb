-- The dialect a session was started through: only that dialect's refresh (GoTrue's grant,
-- graphql-jwt's refreshToken and revokeToken) takes its refresh token.
ALTER TABLE sessions ADD COLUMN dialect TEXT;

-- Sessions from before: the method says the dialect where only one dialect starts sessions
-- that way (passwordless registration and email links; GoTrue's codes and links). Password
-- sessions could be GoTrue's, Feathers' or graphql-jwt's: they become GoTrue's, whose refresh
-- grant is the only one most deployments use. Feathers and graphql-jwt refresh tokens are
-- never handed out, except in graphql-jwt's long-running mode, whose refresh tokens from
-- before this migration are refused once (the user signs in again) rather than left able to
-- cross into GoTrue's refresh. Access tokens are not affected.
UPDATE sessions SET dialect = 'passwordless' WHERE dialect IS NULL AND method IN ('registration', 'email_link');
UPDATE sessions SET dialect = 'gotrue' WHERE dialect IS NULL;
