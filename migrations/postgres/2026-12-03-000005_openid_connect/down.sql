ALTER TABLE oauth_code DROP COLUMN auth_time;
ALTER TABLE oauth_code DROP COLUMN nonce;
DROP TABLE oauth_user_profile;
