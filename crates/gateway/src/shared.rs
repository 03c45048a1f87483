//! Subscriptions that share one execution. Sockets that subscribe to the same document with the
//! same variables, as the same caller (tenant, principal and session, rights, locations, and the
//! condition its rights were kept under), would receive the same answers: one execution serves
//! them all. It reads and answers each event once and serializes the payload once; each socket
//! only frames that payload with its own operation id. A caller whose rights change gets other
//! answers from then on, and its sockets are closed by their re-checks (see [`crate::ws`]).
//!
//! Queries and mutations sent over a socket are never shared: each runs once, for its sender.
//!
//! An execution runs in a task of its own and ends when its last subscriber leaves, or by
//! itself (then every subscriber hears the end). A subscriber that falls more than [`BACKLOG`]
//! results behind gets `SUBSCRIPTION_LAGGED` and ends, as a subscription whose events overtook
//! it does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use async_graphql::parser::types::ExecutableDocument;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use switchyard_kernel::Caller;
use switchyard_kernel::events::until_lagged;
use tokio::sync::{broadcast, oneshot};

use crate::order::reorder;
use crate::schema::{Executed, code_execution_errors, code_request_errors};
use crate::types::SchemaIndex;

/// Results an execution keeps for a subscriber that has not taken them yet. Room for each is
/// reserved up front (about 56 bytes), so this bounds what an execution holds while idle. The
/// execution lets its subscribers run after each result, so a socket falls this far behind
/// only when its client has stopped reading (and the socket's send buffer is full).
const BACKLOG: usize = 16;

/// What an execution hands its subscribers.
#[derive(Clone)]
pub(crate) enum Delivery {
    /// A result's payload (`{"data":…}`), serialized once for every subscriber.
    Next(Arc<str>),
    /// The operation was refused before it ran (request errors, as a JSON array); it ends.
    Refused(Arc<Value>),
    /// The operation ended.
    End,
}

/// What one subscriber receives: a delivery, or `SUBSCRIPTION_LAGGED` when it missed some
/// (it then ends).
pub(crate) type Received = Result<Delivery, switchyard_kernel::Error>;

/// The shared executions of this process, by what makes their answers the same.
#[derive(Default)]
pub struct Executions {
    running: Mutex<HashMap<Key, Weak<Execution>>>,
}

/// What makes two subscriptions' answers the same: the SHA-256 of the caller (tenant,
/// principal and session, rights, locations, the condition its rights were kept under), the
/// document, the operation's name, the variables and the extensions. A digest rather than the
/// parts themselves: an execution serving one socket holds 32 bytes, not a copy of its
/// document.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key([u8; 32]);

impl Key {
    pub(crate) fn new(
        caller: Option<&Caller>,
        query: &str,
        operation_name: Option<&str>,
        variables: &Map<String, Value>,
        extensions: &Map<String, Value>,
    ) -> Key {
        let caller = caller.map(|caller| {
            let mut rights = caller.permissions();
            rights.sort();
            format!(
                "{}|{:?}|{:?}|{:?}|{:?}",
                caller.tenant_id,
                caller.principal,
                caller.location_ids,
                rights,
                caller.kept()
            )
        });
        let mut digest = Sha256::new();
        // Each part with its length first, so that no two lists of parts read the same.
        let mut part = |bytes: &[u8]| {
            digest.update((bytes.len() as u64).to_le_bytes());
            digest.update(bytes);
        };
        part(caller.as_deref().unwrap_or("-").as_bytes());
        part(query.as_bytes());
        part(operation_name.unwrap_or("-").as_bytes());
        part(&serde_json::to_vec(variables).unwrap_or_default());
        part(&serde_json::to_vec(extensions).unwrap_or_default());
        Key(digest.finalize().into())
    }
}

/// A running operation; it stops when the last subscriber drops it.
pub(crate) struct Execution {
    results: broadcast::Sender<Delivery>,
    /// Dropped with the execution, which stops the task that runs it.
    _stop: oneshot::Sender<()>,
}

/// An operation ready to run: its results and what turns them into payloads.
pub(crate) struct Run {
    pub results: BoxStream<'static, async_graphql::Response>,
    pub executed: Executed,
    pub document: Arc<ExecutableDocument>,
    pub operation_name: Option<String>,
    pub index: Arc<SchemaIndex>,
}

/// One subscriber of an execution, as a stream of what it receives.
pub(crate) struct Subscriber {
    _execution: Arc<Execution>,
    results: BoxStream<'static, Received>,
}

impl Subscriber {
    fn new(execution: Arc<Execution>, receiver: broadcast::Receiver<Delivery>) -> Subscriber {
        Subscriber {
            _execution: execution,
            results: until_lagged(receiver).boxed(),
        }
    }
}

impl futures_util::Stream for Subscriber {
    type Item = Received;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Received>> {
        self.results.poll_next_unpin(cx)
    }
}

impl Executions {
    /// Subscribes to the running execution of `key` (a subscription), or starts the operation
    /// `start` makes: shared under `key`, or for this subscriber alone when there is no key.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        key: Option<Key>,
        start: impl FnOnce() -> Run,
    ) -> Subscriber {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(execution) = key
            .as_ref()
            .and_then(|key| running.get(key))
            .and_then(Weak::upgrade)
        {
            let receiver = execution.results.subscribe();
            return Subscriber::new(execution, receiver);
        }
        let (sender, receiver) = broadcast::channel(BACKLOG);
        let (stop, stopped) = oneshot::channel();
        let execution = Arc::new(Execution {
            results: sender.clone(),
            _stop: stop,
        });
        let listed = key.map(|key| {
            running.insert(key, Arc::downgrade(&execution));
            (self.clone(), key, Arc::downgrade(&execution))
        });
        drop(running);
        tokio::spawn(run(start(), sender, stopped, listed));
        Subscriber::new(execution, receiver)
    }

    /// The shared executions running now.
    pub fn running(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|e| e.strong_count() > 0)
            .count()
    }
}

/// Runs an operation until it ends or its last subscriber leaves, handing each result to its
/// subscribers.
async fn run(
    run: Run,
    results: broadcast::Sender<Delivery>,
    mut stopped: oneshot::Receiver<()>,
    listed: Option<(Arc<Executions>, Key, Weak<Execution>)>,
) {
    let Run {
        results: mut responses,
        executed,
        document,
        operation_name,
        index,
    } = run;
    let mut first = true;
    let last = loop {
        let response = tokio::select! {
            _ = &mut stopped => break None,
            response = responses.next() => response,
        };
        let Some(mut response) = response else {
            break Some(Delivery::End);
        };
        if std::mem::take(&mut first) && !executed.get() && !response.errors.is_empty() {
            code_request_errors(&mut response);
            let errors = serde_json::to_value(&response.errors).unwrap_or(Value::Null);
            break Some(Delivery::Refused(Arc::new(errors)));
        }
        code_execution_errors(&mut response);
        reorder(
            &mut response.data,
            &document,
            operation_name.as_deref(),
            &index,
        );
        // None listening only between the last subscriber leaving and the stop.
        let _ = results.send(Delivery::Next(payload(&response)));
        // The subscribers just woken go first (the next result may be ready at once, when
        // the change's read was shared).
        tokio::task::yield_now().await;
    };
    // Out of the table before the last word, under its lock: whoever joined before hears it,
    // whoever comes after starts anew.
    let _running = listed.as_ref().map(|(executions, key, me)| {
        let mut running = executions
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if running.get(key).is_some_and(|listed| listed.ptr_eq(me)) {
            running.remove(key);
        }
        running
    });
    if let Some(last) = last {
        let _ = results.send(last);
    }
}

/// A response as a payload, serialized straight from the response (not through a JSON tree).
fn payload(response: &async_graphql::Response) -> Arc<str> {
    serde_json::to_string(response)
        .unwrap_or_else(|error| {
            let error_id = uuid::Uuid::now_v7().to_string();
            tracing::error!(%error, %error_id, "a result could not be serialized");
            json!({"data": null, "errors": [{
                "message": "internal error", "extensions": {"code": "INTERNAL", "errorId": error_id}}]})
            .to_string()
        })
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(
        responses: Vec<async_graphql::Response>,
        started: Arc<std::sync::atomic::AtomicUsize>,
    ) -> Run {
        started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let executed = Executed::default();
        executed.0.store(true, std::sync::atomic::Ordering::SeqCst);
        Run {
            results: futures_util::stream::iter(responses)
                .chain(futures_util::stream::pending())
                .boxed(),
            executed,
            document: Arc::new(
                async_graphql::parser::parse_query("subscription { tick }").expect("parses"),
            ),
            operation_name: None,
            index: Arc::new(
                SchemaIndex::from_sdl("type Query { a: Int } type Subscription { tick: Int }")
                    .expect("an index"),
            ),
        }
    }

    fn key(user: &str) -> Option<Key> {
        Some(Key::new(
            None,
            &format!("subscription {{ tick }} # {user}"),
            None,
            &Map::new(),
            &Map::new(),
        ))
    }

    #[test]
    fn keys_differ_in_any_part_and_in_where_the_parts_meet() {
        let vars = |l: &str| {
            let mut map = Map::new();
            map.insert("l".to_owned(), Value::from(l));
            map
        };
        let k = |query: &str, name: Option<&str>, l: &str| {
            Key::new(None, query, name, &vars(l), &Map::new())
        };
        assert!(k("subscription { a }", None, "x") == k("subscription { a }", None, "x"));
        assert!(k("subscription { a }", None, "x") != k("subscription { a }", None, "y"));
        assert!(k("subscription { a }", None, "x") != k("subscription { a }", Some("A"), "x"));
        assert!(k("subscription { a }", None, "x") != k("subscription { b }", None, "x"));
        // The name's text moved into the document's end reads differently.
        assert!(k("q", Some("ab"), "x") != k("qa", Some("b"), "x"));
    }

    #[tokio::test]
    async fn the_same_subscription_runs_once_and_stops_when_its_last_subscriber_leaves() {
        let executions = Arc::new(Executions::default());
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let one = || async_graphql::Response::new(async_graphql::Value::from(1));
        let a = executions.subscribe(key("ana"), || run_of(vec![], started.clone()));
        let b = executions.subscribe(key("ana"), || run_of(vec![one()], started.clone()));
        let c = executions.subscribe(key("bo"), || run_of(vec![], started.clone()));
        let d = executions.subscribe(None, || run_of(vec![], started.clone()));
        // Ana's two sockets share one execution; Bo's and the unkeyed one run their own.
        assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(executions.running(), 2);
        drop((a, b));
        assert_eq!(
            executions.running(),
            1,
            "Ana's execution stops with her last subscriber"
        );
        drop((c, d));
        assert_eq!(executions.running(), 0);
    }

    type Feed = tokio::sync::mpsc::UnboundedSender<async_graphql::Response>;

    /// Two subscribers of Ana's execution, whose results the test hands it one by one.
    fn two_of_one(
        executions: &Arc<Executions>,
        started: &Arc<std::sync::atomic::AtomicUsize>,
    ) -> (Feed, Subscriber, Subscriber) {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let results = tokio_stream::wrappers::UnboundedReceiverStream::new(receiver).boxed();
        let first = executions.subscribe(key("ana"), || Run {
            results,
            ..run_of(vec![], started.clone())
        });
        let second = executions.subscribe(key("ana"), || unreachable!("shared"));
        (sender, first, second)
    }

    #[tokio::test]
    async fn every_subscriber_receives_each_result_and_the_end() {
        let executions = Arc::new(Executions::default());
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (sender, mut a, mut b) = two_of_one(&executions, &started);
        sender
            .send(async_graphql::Response::new(async_graphql::Value::from(7)))
            .expect("running");
        drop(sender);
        for subscriber in [&mut a, &mut b] {
            match subscriber.next().await {
                Some(Ok(Delivery::Next(payload))) => assert_eq!(&*payload, r#"{"data":7}"#),
                _ => panic!("expected the result"),
            }
            assert!(matches!(subscriber.next().await, Some(Ok(Delivery::End))));
        }
        // Ended: the next subscriber starts anew.
        let _c = executions.subscribe(key("ana"), || run_of(vec![], started.clone()));
        assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_too_far_behind_is_told_how_much_it_missed() {
        let executions = Arc::new(Executions::default());
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (sender, mut reader, mut stalled) = two_of_one(&executions, &started);
        let total = BACKLOG as i32 + 4;
        for n in 0..total {
            sender
                .send(async_graphql::Response::new(async_graphql::Value::from(n)))
                .expect("running");
        }
        // The reader keeps up; the stalled socket takes nothing until all were handed out.
        for n in 0..total {
            match reader.next().await {
                Some(Ok(Delivery::Next(payload))) => {
                    assert_eq!(&*payload, format!(r#"{{"data":{n}}}"#))
                }
                _ => panic!("expected result {n}"),
            }
        }
        assert!(matches!(
            stalled.next().await,
            Some(Err(switchyard_kernel::Error::Lagged(4)))
        ));
    }
}
