-- The keys JWT access tokens are signed with, shared by every replica. A key is published (in the
-- JWK set and /oauth/token_key) from the moment it is added and signs from `signs_from`, so
-- resource servers learn it before they meet a token it signed; a retired key signs no more and
-- stays published until `unpublish_at`, when every token it signed has expired. `private_key` is
-- PKCS#8 PEM, or sealed under the configured key-encryption key ("sealed:v1:" then base64).
CREATE TABLE oauth_signing_key (
    kid VARCHAR(64) NOT NULL PRIMARY KEY,
    algorithm VARCHAR(16) NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    signs_from BIGINT NOT NULL,
    retired_at BIGINT,
    unpublish_at BIGINT
);
