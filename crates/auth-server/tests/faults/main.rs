//! Fault injection, docs/security.md, items 20, 22 and 24: the real `auth-server` and `resource-server`
//! binaries as child processes, configured by `APP__` variables, on a real database, spoken to over
//! real HTTP; faults come from outside the server, as they would in production: PostgreSQL cut off
//! by a TCP proxy, a SQLite file the kernel refuses to let grow, `kill -9`.
//!
//! Each test prints what it saw (answers by kind, recovery times, tokens checked); run them with
//! `scripts/faults.sh` to read those lines. The tests take turns (see `harness::one_at_a_time`):
//! each puts the machine under load, and two at once would measure each other.
//!
//! PostgreSQL scenarios need `TEST_DATABASE_URL` and say they were skipped without it.
#![cfg(target_os = "linux")]

mod harness;
mod load;

mod database_down;
mod kill_9;
mod lifecycle;
mod resource_server;
