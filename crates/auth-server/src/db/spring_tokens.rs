//! Spring's `JdbcTokenStore` tables, read as they are (never written): `oauth_access_token` and
//! `oauth_refresh_token` in a Spring database, or `*_spring` in one this server adopted (its
//! migration sets Spring's tables aside under those names).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};

use super::{DbConnection, StoreError};

#[derive(Debug, Clone, QueryableByName)]
pub struct SpringAccessRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub token_id: Option<String>,
    #[diesel(sql_type = Nullable<Binary>)]
    pub token: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub authentication_id: Option<String>,
    #[diesel(sql_type = Nullable<Binary>)]
    pub authentication: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct SpringRefreshRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub token_id: Option<String>,
    #[diesel(sql_type = Nullable<Binary>)]
    pub token: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Binary>)]
    pub authentication: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Whether `table` exists with Spring's layout: a `token` column and none of ours.
fn is_springs(conn: &mut DbConnection, table: &str) -> Result<bool, StoreError> {
    let columns = |conn: &mut DbConnection, column: &str| -> Result<i64, StoreError> {
        let sql = match conn {
            DbConnection::Sqlite(_) => {
                "SELECT COUNT(*) AS n FROM pragma_table_info(?) WHERE name = ?"
            }
            DbConnection::Pg(_) => {
                "SELECT COUNT(*) AS n FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2"
            }
        };
        Ok(diesel::sql_query(sql)
            .bind::<Text, _>(table)
            .bind::<Text, _>(column)
            .get_result::<Count>(conn)?
            .n)
    };
    Ok(columns(conn, "token")? > 0 && columns(conn, "family_id")? == 0)
}

/// Where Spring's rows of `base` are: the table itself, or its set-aside copy.
fn springs_table(conn: &mut DbConnection, base: &'static str) -> Result<String, StoreError> {
    let aside = format!("{base}_spring");
    for table in [base.to_owned(), aside.clone()] {
        if is_springs(conn, &table)? {
            return Ok(table);
        }
    }
    Err(StoreError::Internal(format!(
        "no Spring token table here: neither {base} nor {aside} has Spring's layout"
    )))
}

/// Every row of Spring's two token tables.
pub fn read(
    conn: &mut DbConnection,
) -> Result<(Vec<SpringAccessRow>, Vec<SpringRefreshRow>), StoreError> {
    // The names come from the two above, never from input.
    let access = springs_table(conn, "oauth_access_token")?;
    let refresh = springs_table(conn, "oauth_refresh_token")?;
    let access_rows = diesel::sql_query(format!(
        "SELECT token_id, token, authentication_id, authentication, refresh_token FROM {access}"
    ))
    .load(conn)?;
    let refresh_rows = diesel::sql_query(format!(
        "SELECT token_id, token, authentication FROM {refresh}"
    ))
    .load(conn)?;
    Ok((access_rows, refresh_rows))
}
