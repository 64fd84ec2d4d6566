DROP TABLE oauth_user_sessions;
