-- Spring Security OAuth2's client, user and approval tables, column for column. IF NOT EXISTS:
-- a team pointing this server at its Spring database keeps its rows as they are.

CREATE TABLE IF NOT EXISTS oauth_client_details (
    client_id VARCHAR(256) NOT NULL PRIMARY KEY,
    resource_ids VARCHAR(256),
    client_secret VARCHAR(256),
    scope VARCHAR(256),
    authorized_grant_types VARCHAR(256),
    web_server_redirect_uri VARCHAR(256),
    authorities VARCHAR(256),
    access_token_validity INTEGER,
    refresh_token_validity INTEGER,
    additional_information VARCHAR(4096),
    autoapprove VARCHAR(256)
);

CREATE TABLE IF NOT EXISTS users (
    username VARCHAR(50) NOT NULL PRIMARY KEY,
    password VARCHAR(500) NOT NULL,
    enabled BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS authorities (
    username VARCHAR(50) NOT NULL,
    authority VARCHAR(50) NOT NULL,
    CONSTRAINT fk_authorities_users FOREIGN KEY (username) REFERENCES users (username)
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_auth_username ON authorities (username, authority);

CREATE TABLE IF NOT EXISTS oauth_approvals (
    userId VARCHAR(256) NOT NULL,
    clientId VARCHAR(256) NOT NULL,
    scope VARCHAR(256) NOT NULL,
    status VARCHAR(10),
    expiresAt TIMESTAMP,
    lastModifiedAt TIMESTAMP
);
-- Spring saved approvals by update-then-insert with no key, so races could leave duplicates; keep
-- the most recent of each before the key that makes our upsert race-free.
DELETE FROM oauth_approvals WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, ROW_NUMBER() OVER (
            PARTITION BY userId, clientId, scope ORDER BY lastModifiedAt DESC, rowid DESC) AS n
        FROM oauth_approvals)
    WHERE n > 1);
CREATE UNIQUE INDEX IF NOT EXISTS ux_oauth_approvals ON oauth_approvals (userId, clientId, scope);
