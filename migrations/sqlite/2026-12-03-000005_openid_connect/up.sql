-- OpenID Connect. A user's profile claims (OIDC Core §5.1) in a table of their own, so Spring's
-- `users` stays as Spring made it; a user without a row has no profile claims. Codes remember the
-- request's `nonce` and when the user signed in, for the ID token their exchange returns.
CREATE TABLE oauth_user_profile (
    username VARCHAR(50) NOT NULL PRIMARY KEY,
    name VARCHAR(256),
    given_name VARCHAR(256),
    family_name VARCHAR(256),
    nickname VARCHAR(256),
    preferred_username VARCHAR(256),
    picture VARCHAR(1024),
    website VARCHAR(1024),
    locale VARCHAR(64),
    zoneinfo VARCHAR(64),
    email VARCHAR(256),
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);
ALTER TABLE oauth_code ADD COLUMN nonce VARCHAR(512);
ALTER TABLE oauth_code ADD COLUMN auth_time BIGINT;
