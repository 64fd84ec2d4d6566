-- Deliberately nothing: these tables may hold a team's clients and users from before this server.
SELECT 1;
