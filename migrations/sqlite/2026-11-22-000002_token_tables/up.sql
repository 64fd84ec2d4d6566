-- Spring's token tables held Java-serialized tokens next to an MD5 key. These keep the table and key
-- column names but hold only SHA-256 hashes of token values, with plain columns for what a token
-- grants. A Spring-era table of the same name is renamed to <name>_spring before this runs.
-- WITHOUT ROWID: the tables are stored in the order of their key (the hash), so an insert touches one
-- B-tree instead of a row tree plus a key index.

-- One row per grant that can grow (it has a refresh token or a code): every token and code that
-- descends from one authorization shares its family_id, a time-ordered UUID. Writers that add to a
-- family lock this row first and refuse when it is revoked, so a revocation can never miss a token
-- committed by a concurrent refresh.
CREATE TABLE oauth_token_family (
    family_id VARCHAR(36) NOT NULL PRIMARY KEY,
    client_id VARCHAR(256) NOT NULL,
    user_name VARCHAR(256),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revoked_at BIGINT
) WITHOUT ROWID;

CREATE TABLE oauth_access_token (
    token_id VARCHAR(64) NOT NULL PRIMARY KEY,
    authentication_id VARCHAR(64) NOT NULL,
    user_name VARCHAR(256),
    client_id VARCHAR(256) NOT NULL,
    refresh_token VARCHAR(64),
    family_id VARCHAR(36) NOT NULL,
    grant_type VARCHAR(32) NOT NULL,
    scope TEXT NOT NULL,
    authorities TEXT NOT NULL,
    resource_ids TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT
) WITHOUT ROWID;
CREATE INDEX ix_access_token_family ON oauth_access_token (family_id);
CREATE INDEX ix_access_token_expires_at ON oauth_access_token (expires_at);

CREATE TABLE oauth_refresh_token (
    token_id VARCHAR(64) NOT NULL PRIMARY KEY,
    family_id VARCHAR(36) NOT NULL,
    client_id VARCHAR(256) NOT NULL,
    user_name VARCHAR(256),
    scope TEXT NOT NULL,
    authorities TEXT NOT NULL,
    resource_ids TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT,
    rotated_at BIGINT
) WITHOUT ROWID;
CREATE INDEX ix_refresh_token_family ON oauth_refresh_token (family_id);
CREATE INDEX ix_refresh_token_expires_at ON oauth_refresh_token (expires_at);

CREATE TABLE oauth_code (
    code VARCHAR(64) NOT NULL PRIMARY KEY,
    family_id VARCHAR(36) NOT NULL,
    client_id VARCHAR(256) NOT NULL,
    user_name VARCHAR(256) NOT NULL,
    redirect_uri TEXT,
    scope TEXT NOT NULL,
    authorities TEXT NOT NULL,
    code_challenge VARCHAR(128),
    code_challenge_method VARCHAR(8),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
) WITHOUT ROWID;
CREATE INDEX ix_code_family ON oauth_code (family_id);
CREATE INDEX ix_code_expires_at ON oauth_code (expires_at);
