//! (Over 600 lines: one data structure, the table of running executions, with its two ways of
//! running one (alone, or shared by a task); a third of the file is its unit tests.)
//!
//! Subscriptions that share one execution. Sockets that subscribe to the same document with the
//! same variables, as the same caller (tenant, principal and session, rights, locations, and the
//! condition its rights were kept under), would receive the same answers: one execution serves
//! them all. It reads and answers each event once and serializes the payload once; each socket
//! only frames that payload with its own operation id. A caller whose rights change gets other
//! answers from then on, and its sockets are closed by their re-checks (see [`crate::ws`]).
//!
//! Queries and mutations sent over a socket are never shared: each runs once, for its sender.
//!
//! An execution with one subscriber is run by that subscriber's socket: no task and no channel
//! of its own, so a lone subscription (most are: one person, one screen) costs only itself.
//! When a second subscriber arrives, the execution moves to a task of its own, which hands each
//! result to every subscriber, and ends when its last subscriber leaves, or by itself (then
//! every subscriber hears the end). A subscriber that falls more than [`BACKLOG`] results
//! behind a shared execution gets `SUBSCRIPTION_LAGGED` and ends, as a subscription whose
//! events overtook it does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll};

use async_graphql::parser::types::ExecutableDocument;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use futures_util::task::AtomicWaker;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use switchyard_kernel::Caller;
use switchyard_kernel::events::until_lagged;
use tokio::sync::{broadcast, oneshot};

use crate::order::reorder;
use crate::schema::{Executed, code_execution_errors, code_request_errors};
use crate::types::SchemaIndex;

/// Results a shared execution keeps for a subscriber that has not taken them yet. Room for
/// each is reserved up front (about 56 bytes), so this bounds what an execution holds while
/// idle. The execution lets its subscribers run after each result, so a socket falls this far
/// behind only when its client has stopped reading (and the socket's send buffer is full).
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
/// principal and session, rights, locations, the condition its rights were kept under; for an
/// impersonal subscription, see [`switchyard_kernel::module::Impersonal`], only tenant, rights
/// and locations), the document, the operation's name, the variables and the extensions. A
/// digest rather than the parts themselves: an execution serving one socket holds 32 bytes,
/// not a copy of its document.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key([u8; 32]);

impl Key {
    pub(crate) fn new(
        caller: Option<&Caller>,
        impersonal: bool,
        query: &str,
        operation_name: Option<&str>,
        variables: &Map<String, Value>,
        extensions: &Map<String, Value>,
    ) -> Key {
        let caller = caller.map(|caller| {
            let rights = caller.permissions();
            // Without the kept condition: a socket's caller is always read for it (never kept
            // from an earlier request), so its rights are as they are now.
            if impersonal {
                let mut locations = caller.location_ids.to_vec();
                locations.sort();
                format!("{}|anyone|{locations:?}|{rights:?}", caller.tenant_id)
            } else {
                format!(
                    "{}|{:?}|{:?}|{:?}|{:?}",
                    caller.tenant_id,
                    caller.principal,
                    caller.location_ids,
                    rights,
                    caller.kept()
                )
            }
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

/// A running operation: run by its only subscriber's socket, or by a task of its own once it
/// has several. It stops when its last subscriber drops it.
pub(crate) struct Execution {
    /// The operation while its first subscriber runs it alone; `None` once it moved to a task
    /// (then `shared` is set) or ended.
    alone: Mutex<Option<Box<Runner>>>,
    /// Where its results go once a task runs it.
    shared: OnceLock<Fanout>,
    /// The first subscriber's socket, woken when the operation moves to a task.
    owner: AtomicWaker,
    /// Its place in the table, given up when it stops.
    listed: Option<(Arc<Executions>, Key)>,
}

/// A shared execution's results.
struct Fanout {
    results: broadcast::Sender<Delivery>,
    /// The first subscriber's place among the receivers, made when the operation moved so
    /// that it misses nothing; the first subscriber takes it on its next turn.
    first: Mutex<Option<broadcast::Receiver<Delivery>>>,
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

/// An operation as it runs: its results turned into deliveries.
struct Runner {
    run: Run,
    /// No result delivered yet (the first may be a refusal).
    first: bool,
    /// The operation is a subscription.
    subscription: bool,
}

impl Runner {
    fn new(run: Run) -> Runner {
        let subscription =
            crate::checks::is_subscription(&run.document, run.operation_name.as_deref());
        Runner {
            run,
            first: true,
            subscription,
        }
    }

    /// Whether the first response refuses the operation: a request error (nothing executed),
    /// or a subscription whose stream could not start (its root field failed: no data, no
    /// error below the root). A subscription's first event that met a field error is a
    /// result like any other, on either schema (the direct one marks nothing executed).
    fn refuses(&self, response: &async_graphql::Response) -> bool {
        !response.errors.is_empty()
            && !self.run.executed.get()
            && (!self.subscription
                || (response.data == async_graphql::Value::Null
                    && response.errors.iter().all(|e| e.path.len() <= 1)))
    }

    /// The next delivery; `End` or `Refused` is the last.
    fn poll_delivery(&mut self, cx: &mut Context<'_>) -> Poll<Delivery> {
        let Some(mut response) = std::task::ready!(self.run.results.poll_next_unpin(cx)) else {
            return Poll::Ready(Delivery::End);
        };
        if std::mem::take(&mut self.first) && self.refuses(&response) {
            code_request_errors(&mut response);
            let errors = serde_json::to_value(&response.errors).unwrap_or(Value::Null);
            return Poll::Ready(Delivery::Refused(Arc::new(errors)));
        }
        // The checked schema's extension repairs null propagation for queries and mutations
        // (see `crate::nulls`); a subscription's events are repaired here, on either schema.
        if self.subscription && !response.errors.is_empty() {
            crate::nulls::propagate(
                &mut response,
                &self.run.document,
                self.run.operation_name.as_deref(),
                &self.run.index,
            );
        }
        code_execution_errors(&mut response);
        reorder(
            &mut response.data,
            &self.run.document,
            self.run.operation_name.as_deref(),
            &self.run.index,
        );
        Poll::Ready(Delivery::Next(payload(&response)))
    }
}

fn last(delivery: &Delivery) -> bool {
    !matches!(delivery, Delivery::Next(_))
}

impl Execution {
    /// A place among the subscribers of this execution; `None` when it has ended. The first
    /// newcomer moves the operation from its first subscriber's socket to a task.
    fn join(self: &Arc<Self>) -> Option<Subscriber> {
        let subscriber = |results: broadcast::Receiver<Delivery>| Subscriber {
            execution: self.clone(),
            results: Some(until_lagged(results).boxed()),
        };
        if let Some(fanout) = self.shared.get() {
            return Some(subscriber(fanout.results.subscribe()));
        }
        let mut alone = self.alone.lock().unwrap_or_else(PoisonError::into_inner);
        // Moved by another newcomer while this one waited for the lock.
        if let Some(fanout) = self.shared.get() {
            return Some(subscriber(fanout.results.subscribe()));
        }
        let runner = alone.take()?;
        let (sender, first) = broadcast::channel(BACKLOG);
        let mine = sender.subscribe();
        let (stop, stopped) = oneshot::channel();
        let _ = self.shared.set(Fanout {
            results: sender.clone(),
            first: Mutex::new(Some(first)),
            _stop: stop,
        });
        drop(alone);
        let listed = self
            .listed
            .as_ref()
            .map(|(executions, key)| (executions.clone(), *key, Arc::downgrade(self)));
        tokio::spawn(run(*runner, sender, stopped, listed));
        self.owner.wake();
        Some(subscriber(mine))
    }

    /// Gives up this execution's place in the table (if it still holds it).
    fn unlist(&self) {
        if let Some((executions, key)) = &self.listed {
            let mut running = executions
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if running
                .get(key)
                .is_some_and(|listed| std::ptr::eq(listed.as_ptr(), self))
            {
                running.remove(key);
            }
        }
    }
}

impl Drop for Execution {
    fn drop(&mut self) {
        self.unlist();
    }
}

/// One subscriber of an execution, as a stream of what it receives.
pub(crate) struct Subscriber {
    execution: Arc<Execution>,
    /// Its place among a shared execution's receivers; `None` while it runs the execution
    /// alone.
    results: Option<BoxStream<'static, Received>>,
}

impl futures_util::Stream for Subscriber {
    type Item = Received;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Received>> {
        let this = &mut *self;
        loop {
            if let Some(results) = this.results.as_mut() {
                return results.poll_next_unpin(cx);
            }
            // Moved to a task: take the place kept for this subscriber.
            if let Some(fanout) = this.execution.shared.get() {
                let first = fanout
                    .first
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                match first {
                    Some(receiver) => this.results = Some(until_lagged(receiver).boxed()),
                    None => return Poll::Ready(None),
                }
                continue;
            }
            this.execution.owner.register(cx.waker());
            let mut alone = this
                .execution
                .alone
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let Some(runner) = alone.as_mut() else {
                // Moved while this looked (`shared` is set now), or ended.
                drop(alone);
                if this.execution.shared.get().is_some() {
                    continue;
                }
                return Poll::Ready(None);
            };
            let delivery = std::task::ready!(runner.poll_delivery(cx));
            if last(&delivery) {
                // Ended: whoever comes next starts anew.
                *alone = None;
                drop(alone);
                this.execution.unlist();
            }
            return Poll::Ready(Some(Ok(delivery)));
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        // The first subscriber leaving before it took its place among the receivers.
        if self.results.is_none()
            && let Some(fanout) = self.execution.shared.get()
        {
            fanout
                .first
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
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
        // Declared before the lock, so dropped after it: the last reference to an ended
        // execution takes the lock again to leave the table.
        let found: Option<Arc<Execution>>;
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        found = key.as_ref().and_then(|key| running.get(key)?.upgrade());
        if let Some(subscriber) = found.as_ref().and_then(Execution::join) {
            return subscriber;
        }
        let execution = Arc::new(Execution {
            alone: Mutex::new(Some(Box::new(Runner::new(start())))),
            shared: OnceLock::new(),
            owner: AtomicWaker::new(),
            listed: key.map(|key| (self.clone(), key)),
        });
        if let Some(key) = key {
            running.insert(key, Arc::downgrade(&execution));
        }
        drop(running);
        Subscriber {
            execution,
            results: None,
        }
    }

    /// The executions running now (shared or not) for subscriptions.
    pub fn running(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|e| e.strong_count() > 0)
            .count()
    }
}

/// Runs a shared operation until it ends or its last subscriber leaves, handing each result
/// to its subscribers.
async fn run(
    mut runner: Runner,
    results: broadcast::Sender<Delivery>,
    mut stopped: oneshot::Receiver<()>,
    listed: Option<(Arc<Executions>, Key, Weak<Execution>)>,
) {
    let last = loop {
        let delivery = tokio::select! {
            _ = &mut stopped => break None,
            delivery = std::future::poll_fn(|cx| runner.poll_delivery(cx)) => delivery,
        };
        if last(&delivery) {
            break Some(delivery);
        }
        // None listening only between the last subscriber leaving and the stop.
        let _ = results.send(delivery);
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
            false,
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
            Key::new(None, false, query, name, &vars(l), &Map::new())
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

    /// The next thing `subscriber` receives is the result whose data is `data`.
    async fn hears(subscriber: &mut Subscriber, data: &str) {
        match subscriber.next().await {
            Some(Ok(Delivery::Next(payload))) => {
                assert_eq!(&*payload, format!(r#"{{"data":{data}}}"#))
            }
            _ => panic!("expected the result {data}"),
        }
    }

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
            hears(subscriber, "7").await;
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
            hears(&mut reader, &n.to_string()).await;
        }
        assert!(matches!(
            stalled.next().await,
            Some(Err(switchyard_kernel::Error::Lagged(4)))
        ));
    }

    #[tokio::test]
    async fn a_lone_subscriber_runs_its_execution_and_a_second_moves_it_to_a_task_missing_nothing()
    {
        let executions = Arc::new(Executions::default());
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let results = tokio_stream::wrappers::UnboundedReceiverStream::new(receiver).boxed();
        let mut first = executions.subscribe(key("ana"), || Run {
            results,
            ..run_of(vec![], started.clone())
        });
        let next = |n: i32| async_graphql::Response::new(async_graphql::Value::from(n));
        sender.send(next(1)).expect("running");
        hears(&mut first, "1").await;
        assert!(
            first.execution.shared.get().is_none(),
            "alone, its socket runs it: no task, no channel"
        );
        let mut second = executions.subscribe(key("ana"), || unreachable!("shared"));
        assert!(first.execution.shared.get().is_some(), "moved to a task");
        assert_eq!(executions.running(), 1);
        sender.send(next(2)).expect("running");
        drop(sender);
        // The second result, not the first again, then the end.
        for subscriber in [&mut first, &mut second] {
            hears(subscriber, "2").await;
            assert!(matches!(subscriber.next().await, Some(Ok(Delivery::End))));
        }
        assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// A subscription's execution (nothing marks it executed) of `subscription { tick { a b } }`
    /// where `a` is non-null, with `results` as its responses.
    fn ticks(results: Vec<async_graphql::Response>) -> Run {
        Run {
            results: futures_util::stream::iter(results).boxed(),
            executed: Executed::default(),
            document: Arc::new(
                async_graphql::parser::parse_query("subscription { tick { a b } }")
                    .expect("parses"),
            ),
            operation_name: None,
            index: Arc::new(
                SchemaIndex::from_sdl(
                    "type Query { x: Int } type Subscription { tick: T } type T { a: Int! b: Int }",
                )
                .expect("an index"),
            ),
        }
    }

    fn failed(data: async_graphql::Value, path: &[&str]) -> async_graphql::Response {
        let mut error = async_graphql::ServerError::new("not found", None);
        error.path = path
            .iter()
            .map(|p| async_graphql::PathSegment::Field((*p).to_owned()))
            .collect();
        let mut response = async_graphql::Response::new(data);
        response.errors = vec![error];
        response
    }

    #[tokio::test]
    async fn an_event_that_meets_a_field_error_is_a_result_with_nulls_where_the_specification_puts_them()
     {
        let executions = Arc::new(Executions::default());
        let event = || failed(async_graphql::value!({"tick": {"b": 1}}), &["tick", "a"]);
        // The first event, too: a field error is no refusal.
        let mut subscriber = executions.subscribe(None, || ticks(vec![event(), event()]));
        for _ in 0..2 {
            let Some(Ok(Delivery::Next(payload))) = subscriber.next().await else {
                panic!("expected a result");
            };
            let payload: Value = serde_json::from_str(&payload).expect("JSON");
            // `a` is non-null, so its null moves up to `tick`.
            assert_eq!(payload["data"], json!({"tick": null}), "{payload}");
            assert_eq!(
                payload["errors"][0]["path"],
                json!(["tick", "a"]),
                "{payload}"
            );
            assert_eq!(payload["errors"][0]["extensions"]["code"], "INTERNAL");
        }
        // A root field that fails before any event refuses the subscription.
        let mut refused = executions.subscribe(None, || {
            ticks(vec![failed(async_graphql::Value::Null, &["tick"])])
        });
        assert!(matches!(
            refused.next().await,
            Some(Ok(Delivery::Refused(_)))
        ));
    }

    #[tokio::test]
    async fn a_lone_execution_that_ends_leaves_the_table_and_the_next_starts_anew() {
        let executions = Arc::new(Executions::default());
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut only = executions.subscribe(key("ana"), || Run {
            results: futures_util::stream::iter(vec![async_graphql::Response::new(
                async_graphql::Value::from(5),
            )])
            .boxed(),
            ..run_of(vec![], started.clone())
        });
        assert!(matches!(only.next().await, Some(Ok(Delivery::Next(_)))));
        assert!(matches!(only.next().await, Some(Ok(Delivery::End))));
        assert_eq!(executions.running(), 0, "ended: out of the table at once");
        let again = executions.subscribe(key("ana"), || run_of(vec![], started.clone()));
        assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(executions.running(), 1);
        drop((only, again));
        assert_eq!(executions.running(), 0);
    }
}
