//! One access check for every open WebSocket at once.
//!
//! A socket's caller may lose a right without any event saying so (a role changed by plain
//! SQL, a session ended in another process before its event arrived), so open sockets check
//! their access again every `ws_access_recheck_secs`. Each socket reading its caller's rights
//! itself costs a statement per socket and period (5,000 idle sockets: 333 statements a
//! second). Instead, a socket whose rights are known to stay true under a condition
//! ([`Held`]: the tenant's access version as read, and the session live; the same condition
//! that kept rights rely on, counted up by trigger on every change to what rights are made
//! of) registers it here, and one task checks every registered condition together, one
//! statement per thousand sessions. A registered socket keeps no timer for this: it sleeps
//! until told. Only the sockets whose condition no longer holds are told to read their rights
//! again, which closes them (4403) when they lost any; each does so at a random point of the
//! next half period, so that a change that concerns a whole tenant (its version moves) does
//! not send all its sockets' reads at once.
//!
//! The safety net never rests on this task alone: sockets without such a condition (API keys,
//! rights with a grant that ends, a user named by email) check by themselves, and so do those
//! of a process whose watch does not run. When the shared check has not succeeded for two
//! periods (the database could not answer it in time), every registered socket is told, each
//! period until a check succeeds, as if its condition had moved. When the task ends (at
//! shutdown, or by a panic), it tells every registered socket once more and registers no more,
//! so each reads its rights again and from then on checks by itself.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard_identity::Authenticator;
use switchyard_identity::auth::Held;
use switchyard_kernel::{Error, TenantId};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The conditions the open sockets' rights hold under.
#[derive(Default)]
pub struct AccessWatch {
    next: AtomicU64,
    watched: Mutex<HashMap<u64, Watched>>,
    /// Whether a task checks the watched conditions ([`AccessWatch::spawn`]).
    running: AtomicBool,
}

struct Watched {
    held: Held,
    /// Told when `held` may no longer hold, when the shared check has failed for two periods,
    /// and when the watch ends.
    stale: Arc<Notify>,
}

/// A socket's registration; dropping it ends the watch.
pub(crate) struct Watching {
    watch: Arc<AccessWatch>,
    id: u64,
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Ok(mut watched) = self.watch.watched.lock() {
            watched.remove(&self.id);
        }
    }
}

impl AccessWatch {
    /// Watches `held`: `stale` is told once it may no longer hold. `None` when no task checks
    /// (the socket then checks by itself).
    pub(crate) fn watch(self: &Arc<Self>, held: Held, stale: Arc<Notify>) -> Option<Watching> {
        // Under the lock that the task's end takes to tell every socket: a socket registered
        // here is either told then, or not registered.
        let mut watched = self.watched.lock().ok()?;
        if !self.running.load(Ordering::Acquire) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        watched.insert(id, Watched { held, stale });
        drop(watched);
        Some(Watching {
            watch: self.clone(),
            id,
        })
    }

    /// Tells every watched socket to read its rights again, and with `end`, registers no more
    /// (under the lock [`AccessWatch::watch`] registers under); answers how many were told.
    fn tell_all(&self, end: bool) -> usize {
        let watched = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if end {
            self.running.store(false, Ordering::Release);
        }
        for w in watched.values() {
            w.stale.notify_one();
        }
        watched.len()
    }

    /// Checks every condition watched now; tells the sockets whose condition no longer holds
    /// and answers how many they are.
    pub async fn check(&self, authenticator: &Authenticator) -> Result<usize, Error> {
        let (tenants, sessions) = {
            let Ok(watched) = self.watched.lock() else {
                return Ok(0);
            };
            let tenants: HashSet<TenantId> = watched.values().map(|w| w.held.tenant).collect();
            let sessions: HashSet<String> = watched
                .values()
                .filter_map(|w| w.held.session.clone())
                .collect();
            (tenants, sessions)
        };
        if tenants.is_empty() {
            return Ok(0);
        }
        let tenants: Vec<TenantId> = tenants.into_iter().collect();
        let sessions: Vec<String> = sessions.into_iter().collect();
        let current = authenticator.current(&tenants, &sessions).await?;
        let Ok(watched) = self.watched.lock() else {
            return Ok(0);
        };
        let mut stale = 0;
        // A socket that registered after the read may be told needlessly: it only reads its
        // rights again.
        for w in watched.values().filter(|w| !current.holds(&w.held)) {
            w.stale.notify_one();
            stale += 1;
        }
        Ok(stale)
    }

    /// Checks every `every` until `shutdown`.
    pub(crate) fn spawn(
        self: Arc<Self>,
        authenticator: Arc<Authenticator>,
        every: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        self.running.store(true, Ordering::Release);
        tokio::spawn(async move {
            // However the task ends (a panic included), the sockets it watched check by
            // themselves from then on.
            let _ended = Ended(self.clone());
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            let mut checked = Instant::now();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                let began = Instant::now();
                // A slow check may take until two periods have passed since the last success.
                let limit = (checked + every * 2)
                    .saturating_duration_since(began)
                    .max(every);
                let failed = match tokio::time::timeout(limit, self.check(&authenticator)).await {
                    Ok(Ok(_)) => {
                        checked = began;
                        continue;
                    }
                    Ok(Err(error)) => error.code(),
                    Err(_) => "TIMEOUT",
                };
                // As a socket's own check: a database that cannot answer leaves things as they
                // are. After two periods without a check, every registered socket is told to
                // read its rights again.
                let told = if checked.elapsed() >= every * 2 {
                    self.tell_all(false)
                } else {
                    0
                };
                tracing::warn!(
                    code = failed,
                    sockets_told = told,
                    "could not check the WebSockets' access"
                );
            }
        })
    }
}

/// Ends a watch when its task ends: no more registrations, and every registered socket told.
struct Ended(Arc<AccessWatch>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.tell_all(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn held() -> Held {
        Held {
            tenant: TenantId::new(),
            version: 1,
            session: None,
        }
    }

    #[test]
    fn a_watch_that_ends_tells_its_sockets_and_registers_no_more() {
        let watch = Arc::new(AccessWatch::default());
        // No task: nothing is registered, the socket checks by itself.
        assert!(watch.watch(held(), Arc::new(Notify::new())).is_none());
        watch.running.store(true, Ordering::Release);
        let (a, b) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let _a = watch
            .watch(held(), a.clone())
            .expect("registered while running");
        let gone = watch
            .watch(held(), b.clone())
            .expect("registered while running");
        drop(gone);
        assert!(a.notified().now_or_never().is_none(), "told before the end");
        drop(Ended(watch.clone()));
        assert!(a.notified().now_or_never().is_some(), "not told at the end");
        assert!(b.notified().now_or_never().is_none(), "told after it left");
        assert!(watch.watch(held(), Arc::new(Notify::new())).is_none());
    }
}
