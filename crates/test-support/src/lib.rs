//! What the integration tests of every crate share: a throwaway database per test (SQLite always,
//! PostgreSQL when `TEST_DATABASE_URL` is set), the real auth server on a random port, answers read
//! whole, a browser with a cookie jar, and Redis for the shared sign-in limits (when
//! `TEST_REDIS_URL` is set). `#[on_both_backends]` runs a test on both databases.

mod answer;
mod auth_server;
mod browser;
mod database;
pub mod metrics;
pub mod openapi;
mod redis;
mod slow_client;

pub use answer::{answer, csrf_of, field_of, params_of, Answer};
pub use auth_server::{spawn_app, spawn_app_with, sqlite_app_with, start, test_settings, TestApp};
pub use browser::Browser;
pub use database::{Backend, TestDb};
pub use redis::{OwnRedis, TestRedis};
pub use slow_client::{assert_cut_off, many_trickling, trickle_body, Trickled};
pub use test_support_macros::on_both_backends;
