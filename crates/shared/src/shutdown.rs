//! Stopping a server on a signal: SIGTERM (what `docker stop`, systemd and Kubernetes send) and
//! Ctrl-C both stop gracefully. The listener closes, requests in flight are answered, then the
//! server's own shutdown runs (see each server's `run_until_stopped`). A second signal stops at
//! once.
//!
//! Only the binaries call this: a test process keeps the default handling of its signals.

use actix_web::dev::ServerHandle;
use tokio::signal::unix::{signal, SignalKind};

/// Spawns, on the current runtime, the task that stops `server` when a signal arrives.
pub fn stop_on_signals(server: ServerHandle, name: &'static str) {
    tokio::spawn(async move {
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            log::error!("cannot listen for SIGTERM; {name} stops only when killed");
            return;
        };
        let received = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
        };
        log::info!("{received} received: {name} finishes the requests in flight, then stops");
        let stopping = tokio::spawn(server.stop(true));
        tokio::select! {
            _ = stopping => {}
            _ = terminate.recv() => {
                log::warn!("second signal: {name} stops now");
                server.stop(false).await;
            }
            _ = tokio::signal::ctrl_c() => {
                log::warn!("second signal: {name} stops now");
                server.stop(false).await;
            }
        }
    });
}
