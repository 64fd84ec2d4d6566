DROP TABLE oauth_signing_key;
