-- When each user's browser sessions were last ended (a password change, an operator's sign-out):
-- a session that signed in before is no longer accepted. Sessions live in signed cookies, so this
-- is the only way to end one the server did not see end. A table of its own, so Spring's `users`
-- stays as Spring made it.
CREATE TABLE oauth_user_sessions (
    username VARCHAR(50) NOT NULL PRIMARY KEY,
    valid_after BIGINT NOT NULL
);
