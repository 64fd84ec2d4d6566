//! A team's Spring Security OAuth2 database, with rows written the way Spring writes them, served
//! unchanged.

use auth_server::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use test_support::{on_both_backends, start, test_settings, Backend, TestDb};

/// The example hash of Spring Security's reference documentation, for the password "password".
const SPRING_BCRYPT: &str = "$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG";

/// Spring Security OAuth2's schema.sql and Spring Security's users.ddl, as a team created them.
fn spring_schema(binary: &str, timestamp: &str) -> String {
    format!(
        "create table oauth_client_details (
            client_id VARCHAR(256) PRIMARY KEY, resource_ids VARCHAR(256), client_secret VARCHAR(256),
            scope VARCHAR(256), authorized_grant_types VARCHAR(256), web_server_redirect_uri VARCHAR(256),
            authorities VARCHAR(256), access_token_validity INTEGER, refresh_token_validity INTEGER,
            additional_information VARCHAR(4096), autoapprove VARCHAR(256));
        create table oauth_client_token (token_id VARCHAR(256), token {binary},
            authentication_id VARCHAR(256) PRIMARY KEY, user_name VARCHAR(256), client_id VARCHAR(256));
        create table oauth_access_token (token_id VARCHAR(256), token {binary},
            authentication_id VARCHAR(256) PRIMARY KEY, user_name VARCHAR(256), client_id VARCHAR(256),
            authentication {binary}, refresh_token VARCHAR(256));
        create table oauth_refresh_token (token_id VARCHAR(256), token {binary}, authentication {binary});
        create table oauth_code (code VARCHAR(256), authentication {binary});
        create table oauth_approvals (userId VARCHAR(256), clientId VARCHAR(256), scope VARCHAR(256),
            status VARCHAR(10), expiresAt {timestamp}, lastModifiedAt {timestamp});
        create table users (username varchar(50) not null primary key, password varchar(500) not null,
            enabled boolean not null);
        create table authorities (username varchar(50) not null, authority varchar(50) not null,
            constraint fk_authorities_users foreign key(username) references users(username));
        create unique index ix_auth_username on authorities (username,authority);"
    )
}

/// Rows as JdbcClientDetailsService, JdbcUserDetailsManager and JdbcTokenStore wrote them.
fn spring_rows(yes: &str) -> String {
    format!(
        "insert into oauth_client_details (client_secret, resource_ids, scope, authorized_grant_types,
            web_server_redirect_uri, authorities, access_token_validity, refresh_token_validity,
            additional_information, autoapprove, client_id) values
          ('{{bcrypt}}{SPRING_BCRYPT}', null, 'read,write', 'password,refresh_token,client_credentials',
            null, 'ROLE_CLIENT', null, null, '{{}}', 'true', 'delegating'),
          ('{SPRING_BCRYPT}', 'hi', 'read', 'client_credentials,password', null, 'ROLE_CLIENT', 600, null,
            '{{}}', 'false', 'pre-spring5'),
          ('{{noop}}plain', null, 'read', 'client_credentials', null, null, null, null, null, null, 'noop');
        insert into users (username, password, enabled) values
          ('alice', '{{bcrypt}}{SPRING_BCRYPT}', {yes}), ('bob', '{{noop}}pw', {yes}),
          ('carol', '{SPRING_BCRYPT}', {yes});
        insert into authorities (username, authority) values
          ('alice', 'ROLE_USER'), ('bob', 'ROLE_USER'), ('carol', 'ROLE_ADMIN');
        insert into oauth_access_token (token_id, authentication_id, user_name, client_id, refresh_token)
          values ('0d8c5c6ed9ec47a3b8b3e1c1b9a3f1a2', 'a1b2', 'alice', 'delegating', null);
        insert into oauth_approvals (userId, clientId, scope, status) values ('alice', 'delegating', 'read', 'APPROVED');
        insert into oauth_approvals (userId, clientId, scope, status) values ('alice', 'delegating', 'read', 'DENIED');
        insert into oauth_approvals (userId, clientId, scope, status) values ('alice', 'delegating', 'write', 'APPROVED');"
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[on_both_backends]
async fn spring_clients_users_and_tables_work_unchanged(backend: Backend) {
    let Some((db, url)) = TestDb::create(backend) else {
        return;
    };
    {
        let store = auth_server::db::Store::open(
            &auth_server::db::DatabaseUrl::parse(&url).unwrap(),
            1,
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        let mut conn = store.conn().unwrap();
        let (binary, yes) = match backend {
            Backend::Sqlite => ("LONGVARBINARY", "1"),
            Backend::Postgres => ("BYTEA", "true"),
        };
        conn.batch_execute(&spring_schema(binary, "TIMESTAMP"))
            .unwrap();
        conn.batch_execute(&spring_rows(yes)).unwrap();
    }
    let mut settings = test_settings(&url);
    settings.demo.seed = false;
    let app = start(db, settings.clone()).await;

    for (client, secret) in [
        ("delegating", "password"),
        ("pre-spring5", "password"),
        ("noop", "plain"),
    ] {
        let answer = app
            .token_basic((client, secret), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(answer.status, 200, "{client}: {}", answer.body);
        assert_eq!(
            answer.json()["scope"],
            if client == "delegating" {
                "read write"
            } else {
                "read"
            }
        );
    }
    let expires = app
        .token_basic(
            ("pre-spring5", "password"),
            &[("grant_type", "client_credentials")],
        )
        .await
        .json()["expires_in"]
        .clone();
    assert_eq!(expires, 600, "the client's access_token_validity column");

    for (user, password) in [("alice", "password"), ("bob", "pw"), ("carol", "password")] {
        let answer = app
            .password_grant_as(("delegating", "password"), (user, password))
            .await;
        assert_eq!(answer.status, 200, "{user}: {}", answer.body);
        answer.field("refresh_token");
    }

    // Spring's token table was set aside with its row, not destroyed; approvals are untouched.
    let mut conn = app.store.conn().unwrap();
    let count = |conn: &mut auth_server::db::DbConnection, sql: &str| {
        diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
    };
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM oauth_access_token_spring"
        ),
        1
    );
    // Spring's update-then-insert left a duplicate; one row per (user, client, scope) remains.
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM oauth_approvals"),
        2
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM oauth_client_details"),
        3
    );
    drop(conn);

    // A second start on the same database (a restart, or a second replica) finds nothing to do.
    let again = Application::build(settings)
        .await
        .expect("restart on an adopted database");
    assert_ne!(again.port(), 0);
}
