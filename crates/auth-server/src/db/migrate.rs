//! Embedded migrations, applied at start, and the adoption of a Spring-era database.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{DbConnection, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Serializes replicas that start at the same time on one PostgreSQL database.
const PG_MIGRATION_LOCK: i64 = 0x0A07_0002;

/// Spring's token tables: same names as ours, Java-serialized content.
const SPRING_TOKEN_TABLES: [&str; 3] = ["oauth_access_token", "oauth_refresh_token", "oauth_code"];

pub fn run(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    if let DbConnection::Pg(_) = conn {
        conn.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
        let result = apply(conn);
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
        return result;
    }
    apply(conn)
}

fn apply(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    set_aside_spring_token_tables(conn)?;
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(versions),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES).map(versions),
    };
    applied.map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
}

/// How many of this build's migrations the database lacks: more than 0 when it was restored from
/// an older backup, or replaced, after this server migrated it at start.
pub fn pending(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let pending = match conn {
        DbConnection::Sqlite(c) => MigrationHarness::pending_migrations(c, SQLITE).map(|p| p.len()),
        DbConnection::Pg(c) => MigrationHarness::pending_migrations(c, POSTGRES).map(|p| p.len()),
    };
    pending.map_err(|e| StoreError::Unavailable(format!("reading the applied migrations: {e}")))
}

fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied.iter().map(ToString::to_string).collect()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConnection, sql: &str, table: &str) -> Result<i64, StoreError> {
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(table)
        .get_result::<Count>(conn)?
        .n)
}

/// Spring's token tables are not destroyed: a Spring-shaped token table is renamed to
/// `<name>_spring` so our table of the same name can be created, and `auth-server spring
/// import-tokens` carries their tokens over.
fn set_aside_spring_token_tables(conn: &mut DbConnection) -> Result<(), StoreError> {
    let (exists_sql, ours_sql) = match conn {
        DbConnection::Sqlite(_) => (
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
            "SELECT COUNT(*) AS n FROM pragma_table_info(?) WHERE name = 'family_id'",
        ),
        DbConnection::Pg(_) => (
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1",
            "SELECT COUNT(*) AS n FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'family_id'",
        ),
    };
    for table in SPRING_TOKEN_TABLES {
        if count(conn, exists_sql, table)? == 0 || count(conn, ours_sql, table)? > 0 {
            continue;
        }
        let legacy = format!("{table}_spring");
        if count(conn, exists_sql, &legacy)? > 0 {
            return Err(StoreError::Internal(format!(
                "{table} has Spring's layout and {legacy} exists already: rename or drop one of them"
            )));
        }
        log::warn!(
            "renaming Spring's {table} to {legacy}; `auth-server spring import-tokens` carries its tokens over"
        );
        let mut sql = format!("ALTER TABLE {table} RENAME TO {legacy};");
        if let DbConnection::Pg(_) = conn {
            // The primary key's index keeps its name through a rename and would collide with ours.
            sql.push_str(&format!(
                "ALTER INDEX IF EXISTS {table}_pkey RENAME TO {legacy}_pkey;"
            ));
        }
        conn.batch_execute(&sql)?;
    }
    Ok(())
}
