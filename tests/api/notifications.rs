//! Notifications: the crew hears of its jobs in the app (over WebSocket) and by email at a
//! real SMTP server; reminders fire once when the clock reaches them, move with the job and go
//! with it; a message that cannot be sent is retried and ends FAILED without losing the
//! notification; preferences, language templates and quiet hours; nobody reads another's.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::NaiveDateTime;
use mailin::{Action, Handler, Response, SessionBuilder};
use serde_json::{Value, json};

use crate::backend_test;
use crate::operations::jobs::{ASSIGN, job_for, job_in, sales_tenant};
use crate::support::*;
use crate::ws::{connect, event_where, init, recv, send};

/// A mail as the SMTP server received it.
#[derive(Clone, Debug)]
pub(crate) struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

/// A real SMTP server (mailin-embedded, on its own threads) keeping what it receives; one
/// per test process, on a random port. Tests tell their mail apart by recipient.
#[derive(Clone, Default)]
pub(crate) struct Sink {
    mails: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Sink {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.mails.lock().unwrap().push(Mail {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        });
        mailin::response::OK
    }
}

/// The SMTP server and its port: the `mailin` protocol state machine over a socket, a session
/// per connection on its own thread.
pub(crate) fn sink() -> &'static (Sink, u16) {
    static SINK: OnceLock<(Sink, u16)> = OnceLock::new();
    SINK.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = Sink::default();
        let handler = sink.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                std::thread::spawn(move || serve_smtp(stream, handler));
            }
        });
        (sink, port)
    })
}

fn serve_smtp(stream: std::net::TcpStream, handler: Sink) -> std::io::Result<()> {
    use std::io::{BufRead, Write};
    let remote = stream.peer_addr()?.ip();
    let mut session = SessionBuilder::new("sink.test").build(remote, handler);
    let mut writer = stream.try_clone()?;
    let mut reader = std::io::BufReader::new(stream);
    session.greeting().write_to(&mut writer)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Close => {
                response.write_to(&mut writer)?;
                return writer.flush();
            }
            _ => response.write_to(&mut writer)?,
        }
        writer.flush()?;
    }
}

impl Sink {
    /// The mail to `address` once there are `n` (waits up to 10 s).
    pub(crate) async fn mail_to(&self, address: &str, n: usize) -> Vec<Mail> {
        for _ in 0..200 {
            let mails: Vec<Mail> = self
                .mails
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.to.iter().any(|t| t.contains(address)))
                .cloned()
                .collect();
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {n} mail(s) to {address} within 10 s");
    }
}

/// Email through the test SMTP server.
pub(crate) fn with_smtp(config: &mut switchyard_gateway::Config) {
    config.domains.set(
        switchyard_notifications::messages::SMTP_URL,
        format!("smtp://127.0.0.1:{}", sink().1),
    );
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// Raises the reminders due at `now`; how many.
async fn remind(app: &TestApp, now: &str) -> usize {
    switchyard_notifications::reminders::sweep(&app.services, at(now))
        .await
        .unwrap()
}

const MINE: &str = "query { unreadNotificationCount notifications(first: 50) { edges { node { id kind title body subjectType subjectId readAt user { id } } } } }";
const RECEIVED: &str = "subscription { notificationReceived { id kind title subjectId } }";

fn kinds(data: &Value) -> Vec<String> {
    data["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

backend_test! {
    async fn the_crew_hears_of_its_job_live_by_email_and_by_reminders_that_move_with_it(app: TestApp, with_smtp) {
        let t = sales_tenant(&app, "notify").await;
        let other = sales_tenant(&app, "elsewhere").await;
        let (ana, ana_token) = app.user(&t, "ana@notify.example", &["crew"], &[t.location]).await;
        let (bo, bo_token) = app.user(&t, "bo@notify.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@notify.example", &["dispatcher"], &[t.location]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;

        // Ana and Bo watch their notifications; so does the other tenant's owner.
        let mut sockets = Vec::new();
        for token in [&ana_token, &bo_token, &other.owner_token] {
            let mut s = connect(&app, "graphql-transport-ws").await;
            init(&mut s, token).await;
            send(&mut s, json!({"id": "n", "type": "subscribe", "payload": {"query": RECEIVED}})).await;
            sockets.push(s);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;

        // The dispatcher puts Ana on the job: she hears at once, in the app and by email.
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": ana.to_global()})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        let event = event_where(&mut sockets[0], |e| e["payload"]["data"]["notificationReceived"]["kind"] == "JOB_ASSIGNED", |_| false).await;
        let received = &event["payload"]["data"]["notificationReceived"];
        assert_eq!(received["subjectId"], json!(job));
        assert!(received["title"].as_str().unwrap().starts_with("You are on the job"), "{received}");
        let mail = &sink().0.mail_to("ana@notify.example", 1).await[0];
        assert!(mail.data.contains("Subject: You are on the job"), "{}", mail.data);
        assert!(mail.data.contains("Tue 12 Jan 09:00"), "in the location's zone: {}", mail.data);
        // Bo and the other tenant heard nothing: their next message answers a ping.
        for s in sockets.iter_mut().skip(1) {
            send(s, json!({"type": "ping", "payload": {"probe": 1}})).await;
            assert_eq!(recv(s).await, json!({"type": "pong", "payload": {"probe": 1}}));
        }

        // Ana's list: one unread, about the job, hers. Bo has none and cannot open hers.
        let data = app.ok(&ana_token, MINE, json!({})).await;
        assert_eq!(data["unreadNotificationCount"], 1, "{data}");
        let mine = data["notifications"]["edges"][0]["node"].clone();
        assert_eq!((mine["subjectType"].as_str(), mine["user"]["id"].as_str()), (Some("Job"), Some(ana.to_global().as_str())));
        let data = app.ok(&bo_token, MINE, json!({})).await;
        assert_eq!((data["unreadNotificationCount"].as_i64(), kinds(&data).len()), (Some(0), 0));
        let body = app.gql(Some(&bo_token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": mine["id"]})).await;
        assert_eq!(body["data"]["node"], Value::Null, "{body}");
        let body = app.gql(Some(&t.owner_token), "query($id: ID!) { notification(id: $id) { id } }", json!({"id": mine["id"]})).await;
        assert_eq!(body["data"]["notification"], Value::Null, "not even the owner reads it: {body}");
        let body = app.gql(Some(&bo_token), "mutation($id: ID!) { markNotificationRead(id: $id) { notification { id } } }", json!({"id": mine["id"]})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        // Ana reads it: the count drops.
        let data = app.ok(&ana_token, "mutation($id: ID!) { markNotificationRead(id: $id) { notification { readAt } } }", json!({"id": mine["id"]})).await;
        assert!(data["markNotificationRead"]["notification"]["readAt"].is_string(), "{data}");
        assert_eq!(app.ok(&ana_token, MINE, json!({})).await["unreadNotificationCount"], 0);

        // Bo joins. Reminders: the 24 h one fires when the clock reaches it, once per person.
        app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": bo.to_global()})).await;
        assert_eq!(remind(&app, "2055-01-11 07:59:00").await, 0);
        assert_eq!(remind(&app, "2055-01-11 08:00:30").await, 2);
        assert_eq!(remind(&app, "2055-01-11 08:01:00").await, 0, "fired once");
        let event = event_where(&mut sockets[0], |e| e["payload"]["data"]["notificationReceived"]["kind"] == "REMINDER", |_| false).await;
        assert_eq!(event["payload"]["data"]["notificationReceived"]["title"], "The job at Storgatan 1, Stockholm → Lillgatan 2, Uppsala starts in 1 day");

        // The job moves a day: the crew hears, and the reminders move with it.
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { rescheduleJob(input: {id: $id, plannedStart: \"2055-01-13T08:00:00Z\", plannedEnd: \"2055-01-13T16:00:00Z\"}) { userErrors { code message } } }", json!({"id": job})).await;
        assert_eq!(data["rescheduleJob"]["userErrors"], json!([]), "{data}");
        assert_eq!(remind(&app, "2055-01-12 07:45:00").await, 0, "the old day's reminders are gone");
        assert_eq!(remind(&app, "2055-01-12 08:00:30").await, 2, "the new day's 24 h reminders");
        // Bo leaves the job: his reminders go.
        let crew = app.ok(&t.owner_token, "query($id: ID!) { job(id: $id) { crew { edges { node { id user { id } } } } } }", json!({"id": job})).await;
        let bo_member = crew["job"]["crew"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["user"]["id"] == json!(bo.to_global())).unwrap()["node"]["id"].clone();
        let data = app.ok(&dispatch_token, "mutation($id: ID!) { unassignCrew(input: {id: $id}) { userErrors { code } } }", json!({"id": bo_member})).await;
        assert_eq!(data["unassignCrew"]["userErrors"], json!([]), "{data}");
        assert_eq!(remind(&app, "2055-01-13 06:00:30").await, 1, "Ana's 2 h reminder only");
        // Cancelled: no more reminders, and Ana hears.
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { cancelJob(input: {id: $id, reason: \"Customer moved abroad\"}) { userErrors { code message } } }", json!({"id": job})).await;
        assert_eq!(data["cancelJob"]["userErrors"], json!([]), "{data}");
        assert_eq!(remind(&app, "2055-01-13 07:30:30").await, 0);
        let data = app.ok(&ana_token, MINE, json!({})).await;
        assert_eq!(kinds(&data), ["JOB_CANCELLED", "REMINDER", "REMINDER", "JOB_RESCHEDULED", "REMINDER", "JOB_ASSIGNED"], "{data}");
        let data = app.ok(&bo_token, MINE, json!({})).await;
        assert_eq!(kinds(&data), ["JOB_UNASSIGNED", "REMINDER", "JOB_RESCHEDULED", "REMINDER", "JOB_ASSIGNED"], "{data}");
        let data = app.ok(&bo_token, "mutation { markAllNotificationsRead { marked } }", json!({})).await;
        assert_eq!(data["markAllNotificationsRead"]["marked"], 5);
        assert_eq!(app.ok(&bo_token, MINE, json!({})).await["unreadNotificationCount"], 0);
        // Every email went out and is in the log, which crew may not read.
        sink().0.mail_to("bo@notify.example", 5).await;
        sink().0.mail_to("ana@notify.example", 6).await;
        // (The server records a message SENT just after the SMTP server has it.)
        let mut data = Value::Null;
        for _ in 0..100 {
            data = app.ok(&t.owner_token, "query { notificationMessages(first: 50, filter: {status: {eq: SENT}}) { edges { node { channel recipient status providerId attempts } } } }", json!({})).await;
            if data["notificationMessages"]["edges"].as_array().unwrap().len() == 11 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sent = data["notificationMessages"]["edges"].as_array().unwrap();
        assert_eq!(sent.len(), 11, "{data}");
        assert!(sent.iter().all(|e| e["node"]["channel"] == "EMAIL" && e["node"]["attempts"] == 1 && e["node"]["providerId"].is_string()), "{data}");
        let body = app.gql(Some(&ana_token), "query { notificationMessages(first: 5) { edges { node { id } } } }", json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let data = app.ok(&other.owner_token, "query { notificationMessages(first: 5) { edges { node { id } } } }", json!({})).await;
        assert_eq!(data["notificationMessages"]["edges"], json!([]), "nothing crosses tenants");
    }
}

backend_test! {
    async fn a_message_that_cannot_be_sent_is_retried_with_backoff_then_failed_and_the_notification_stays(app: TestApp, |c: &mut switchyard_gateway::Config| {
        // A port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        c.domains.set(switchyard_notifications::messages::SMTP_URL, format!("smtp://127.0.0.1:{closed}"));
        c.domains.set(switchyard_notifications::messages::MAX_ATTEMPTS, "3");
        c.domains.set(switchyard_notifications::messages::DELIVERY_POLL_SECS, "3600");
    }) {
        let t = sales_tenant(&app, "failing").await;
        let (ana, ana_token) = app.user(&t, "ana@failing.example", &["crew"], &[t.location]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        app.ok(&t.owner_token, ASSIGN, json!({"job": job, "user": ana.to_global()})).await;
        const LOG: &str = "query { notificationMessages(first: 5) { edges { node { status attempts lastError nextAttemptAt recipient } } } }";
        // The worker tried at once and failed; the message waits for its retry.
        let mut first = Value::Null;
        for _ in 0..100 {
            first = app.ok(&t.owner_token, LOG, json!({})).await["notificationMessages"]["edges"][0]["node"].clone();
            if first["attempts"] == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!((first["status"].as_str(), first["attempts"].as_i64(), first["recipient"].as_str()), (Some("PENDING"), Some(1), Some("ana@failing.example")), "{first}");
        assert!(first["lastError"].is_string(), "{first}");
        let mailer = switchyard_notifications::messages::Senders::from_settings(&app.services.settings).unwrap();
        let now = chrono::Utc::now().naive_utc();
        let deliver = |days: i64| {
            let (services, mailer) = (app.services.clone(), mailer.clone());
            async move { switchyard_notifications::messages::deliver_due(&services, &mailer, now + chrono::Duration::days(days)).await.unwrap() }
        };
        // Not before the backoff is over; then twice more, and it is FAILED.
        let soon = now + chrono::Duration::seconds(10);
        assert_eq!(switchyard_notifications::messages::deliver_due(&app.services, &mailer, soon).await.unwrap(), 0);
        assert_eq!(app.ok(&t.owner_token, LOG, json!({})).await["notificationMessages"]["edges"][0]["node"]["attempts"], 1, "not retried before its time");
        deliver(1).await;
        deliver(2).await;
        deliver(3).await;
        let last = app.ok(&t.owner_token, LOG, json!({})).await["notificationMessages"]["edges"][0]["node"].clone();
        assert_eq!((last["status"].as_str(), last["attempts"].as_i64()), (Some("FAILED"), Some(3)), "{last}");
        // The notification itself is there.
        let data = app.ok(&ana_token, MINE, json!({})).await;
        assert_eq!(kinds(&data), ["JOB_ASSIGNED"]);
    }
}

backend_test! {
    async fn people_choose_channels_language_and_quiet_hours_and_templates_are_checked(app: TestApp, with_smtp) {
        let t = sales_tenant(&app, "prefs").await;
        let (ana, ana_token) = app.user(&t, "ana@prefs.example", &["crew"], &[t.location]).await;
        let (bo, bo_token) = app.user(&t, "bo@prefs.example", &["crew"], &[t.location]).await;
        let (cy, cy_token) = app.user(&t, "cy@prefs.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@prefs.example", &["dispatcher"], &[t.location]).await;

        // Templates are checked when saved: an unknown variable, an unclosed one, a bad
        // language; nothing is stored. Crew may not keep templates.
        const TEMPLATE: &str = "mutation($lang: String!, $subject: String!, $body: String!) { setMessageTemplate(kind: JOB_ASSIGNED, language: $lang, subject: $subject, body: $body) { template { language subject } userErrors { field code message } } }";
        let data = app.ok(&t.owner_token, TEMPLATE, json!({"lang": "swedish", "subject": "Nytt jobb {{title", "body": "Hej {{namn}}"})).await;
        let errors = user_errors(&data["setMessageTemplate"]);
        assert_eq!(errors, vec![("language".to_owned(), "INVALID_FORMAT".to_owned()), ("subject".to_owned(), "INVALID_FORMAT".to_owned()), ("body".to_owned(), "INVALID_FORMAT".to_owned())], "{data}");
        assert!(data["setMessageTemplate"]["userErrors"][2]["message"].as_str().unwrap().contains("unknown variable {{namn}}"), "{data}");
        assert_eq!(app.ok(&t.owner_token, "query { messageTemplates { language } }", json!({})).await["messageTemplates"], json!([]));
        let body = app.gql(Some(&ana_token), TEMPLATE, json!({"lang": "sv", "subject": "x", "body": "y"})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        let data = app.ok(&t.owner_token, TEMPLATE, json!({"lang": "sv", "subject": "Nytt jobb: {{title}}", "body": "Hej {{name}}! {{body}}"})).await;
        assert_eq!(data["setMessageTemplate"]["userErrors"], json!([]), "{data}");

        // Ana wants no email for assignments; Bo reads Swedish; Cy is never disturbed.
        let data = app.ok(&ana_token, "mutation { setNotificationPreference(kind: JOB_ASSIGNED, channels: []) { preference { kind channels chosen } userErrors { code } } }", json!({})).await;
        assert_eq!(data["setNotificationPreference"]["preference"], json!({"kind": "JOB_ASSIGNED", "channels": [], "chosen": true}));
        let data = app.ok(&bo_token, "mutation { setNotificationSettings(language: \"sv\") { settings { language quietStarts } userErrors { code } } }", json!({})).await;
        assert_eq!(data["setNotificationSettings"]["settings"], json!({"language": "sv", "quietStarts": null}));
        let data = app.ok(&cy_token, "mutation { setNotificationSettings(quietStarts: \"07:00\") { userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&data["setNotificationSettings"]), vec![("quietEnds".to_owned(), "REQUIRED".to_owned())]);
        let data = app.ok(&cy_token, "mutation { setNotificationSettings(quietStarts: \"00:00\", quietEnds: \"23:59\") { settings { quietStarts quietEnds } userErrors { code } } }", json!({})).await;
        assert_eq!(data["setNotificationSettings"]["settings"], json!({"quietStarts": "00:00", "quietEnds": "23:59"}), "{data}");
        // What is left out stays; null clears.
        const SETTINGS: &str = "{ language quietStarts quietEnds phone }";
        let data = app.ok(&bo_token, &format!("mutation {{ setNotificationSettings(quietStarts: \"21:00\", quietEnds: \"06:30\", phone: \"+46701112233\") {{ settings {SETTINGS} }} }}"), json!({})).await;
        assert_eq!(data["setNotificationSettings"]["settings"], json!({"language": "sv", "quietStarts": "21:00", "quietEnds": "06:30", "phone": "+46701112233"}), "{data}");
        let data = app.ok(&bo_token, &format!("mutation {{ setNotificationSettings(quietEnds: \"07:00\", phone: null) {{ settings {SETTINGS} }} }}"), json!({})).await;
        assert_eq!(data["setNotificationSettings"]["settings"], json!({"language": "sv", "quietStarts": "21:00", "quietEnds": "07:00", "phone": null}), "{data}");
        let data = app.ok(&bo_token, "mutation { setNotificationSettings(quietStarts: null) { userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&data["setNotificationSettings"]), vec![("quietStarts".to_owned(), "REQUIRED".to_owned())], "one end alone is refused");
        let data = app.ok(&bo_token, &format!("mutation {{ setNotificationSettings(quietStarts: null, quietEnds: null) {{ settings {SETTINGS} }} }}"), json!({})).await;
        assert_eq!(data["setNotificationSettings"]["settings"], json!({"language": "sv", "quietStarts": null, "quietEnds": null, "phone": null}), "{data}");
        let data = app.ok(&bo_token, &format!("query {{ notificationSettings {SETTINGS} }}"), json!({})).await;
        assert_eq!(data["notificationSettings"]["language"], "sv");

        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        for person in [ana, bo, cy] {
            let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": person.to_global()})).await;
            assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        }
        // Bo's mail is in Swedish; Ana's and Cy's in-app notifications are there.
        let mail = &sink().0.mail_to("bo@prefs.example", 1).await[0];
        assert!(mail.data.contains("Nytt jobb: You are on the job"), "{}", mail.data);
        for token in [&ana_token, &cy_token] {
            assert_eq!(kinds(&app.ok(token, MINE, json!({})).await), ["JOB_ASSIGNED"]);
        }
        // No message for Ana; Cy's waits for the end of his quiet hours.
        let data = app.ok(&t.owner_token, "query { notificationMessages(first: 10) { edges { node { user { id } status nextAttemptAt } } } }", json!({})).await;
        let messages = data["notificationMessages"]["edges"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "{data}");
        assert!(messages.iter().all(|m| m["node"]["user"]["id"] != json!(ana.to_global())));
        let cys = messages.iter().find(|m| m["node"]["user"]["id"] == json!(cy.to_global())).unwrap();
        assert_eq!(cys["node"]["status"], "PENDING", "{data}");
        let next = chrono::DateTime::parse_from_rfc3339(cys["node"]["nextAttemptAt"].as_str().unwrap()).unwrap();
        assert!(next > chrono::Utc::now(), "held until quiet hours end: {data}");
        // Every kind is listed with its channels.
        let data = app.ok(&ana_token, "query { notificationPreferences { kind channels chosen } notificationSettings { language } reminderOffsets }", json!({})).await;
        assert_eq!(data["notificationPreferences"][0], json!({"kind": "JOB_ASSIGNED", "channels": [], "chosen": true}));
        assert_eq!(data["notificationPreferences"][1], json!({"kind": "JOB_UNASSIGNED", "channels": ["EMAIL"], "chosen": false}));
        assert_eq!((data["notificationSettings"]["language"].as_str(), data["reminderOffsets"].clone()), (Some("en"), json!([1440, 120, 30])));
        // Reminder times are the tenant's: checked, then used by reminders planned after.
        let data = app.ok(&t.owner_token, "mutation { setReminderOffsets(minutes: [60, 1]) { minutes userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&data["setReminderOffsets"]), vec![("minutes.1".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let data = app.ok(&t.owner_token, "mutation { setReminderOffsets(minutes: [60]) { minutes userErrors { code } } }", json!({})).await;
        assert_eq!(data["setReminderOffsets"]["minutes"], json!([60]));
        assert_eq!(remind(&app, "2055-01-13 00:00:00").await, 9, "the first job's: three people, three each");
        let (second, _) = job_in(&app, &t, t.location, "2055-01-20").await;
        app.ok(&dispatch_token, ASSIGN, json!({"job": second, "user": ana.to_global()})).await;
        assert_eq!(remind(&app, "2055-01-19 08:00:30").await, 0, "no 24 h reminder any more");
        assert_eq!(remind(&app, "2055-01-20 07:00:30").await, 1);
    }
}

/// Two servers on one PostgreSQL, the production shape, telling each other of events by
/// `LISTEN/NOTIFY` (the default). PostgreSQL only (one process serves SQLite): ignored unless
/// asked for, and then it fails without a server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set SWITCHYARD_TEST_DATABASE_URL and pass --include-ignored"]
async fn two_processes_on_one_postgresql_share_events_and_run_reactions_and_reminders_once() {
    let a = TestApp::spawn(Backend::Postgres, with_smtp)
        .await
        .expect("SWITCHYARD_TEST_DATABASE_URL must name the PostgreSQL server for this test");
    let b = a.twin(with_smtp).await;
    two_processes(&a, &b, "twins").await;
}

/// The same two servers telling each other through NATS JetStream (`nats_url`): LISTEN/NOTIFY
/// is not used then, so what the other process hears came through the stream. Needs a NATS
/// server with JetStream (`.ci/run` starts one): ignored unless asked for, and then it fails
/// without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: set SWITCHYARD_TEST_DATABASE_URL and SWITCHYARD_TEST_NATS_URL and pass --include-ignored"]
async fn two_processes_share_events_through_nats_jetstream() {
    let url = std::env::var("SWITCHYARD_TEST_NATS_URL").expect(
        "SWITCHYARD_TEST_NATS_URL must name the NATS server (with JetStream) for this test",
    );
    // A subject (and so a stream) of this test's own.
    let subject = format!("switchyard.test.{}", uuid::Uuid::now_v7().simple());
    let nats = |config: &mut switchyard_gateway::Config| {
        with_smtp(config);
        config.nats_url = url.clone();
        config.nats_subject = subject.clone();
    };
    let a = TestApp::spawn(Backend::Postgres, nats)
        .await
        .expect("SWITCHYARD_TEST_DATABASE_URL must name the PostgreSQL server for this test");
    let b = a.twin(nats).await;
    two_processes(&a, &b, "natstwins").await;
    // The announcements are in the stream, and the stream goes with the test.
    let jetstream = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    let stream = switchyard_kernel::fanout::stream_name(&subject);
    let info = jetstream
        .get_stream(&stream)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .clone();
    assert!(info.state.messages >= 3, "{:?}", info.state);
    jetstream.delete_stream(&stream).await.unwrap();
}

/// NATS restarted while an event is on its way: the announcement waits for the server and the
/// other process's consumer resumes where it stopped, so the subscriber on the other process
/// still hears it. Starts a NATS server of its own (`nats-server` on PATH or in /usr/sbin, as
/// `.ci/run` installs it) on a free port with a store directory that survives the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and nats-server: set SWITCHYARD_TEST_DATABASE_URL and pass --include-ignored"]
async fn an_event_committed_while_nats_restarts_still_reaches_the_other_process() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = std::env::temp_dir().join(format!("switchyard-nats-{}", uuid::Uuid::now_v7()));
    let nats = NatsServer::start(port, &store);
    let url = format!("nats://127.0.0.1:{port}");
    let configure = |config: &mut switchyard_gateway::Config| {
        config.nats_url = url.clone();
        // Pings every second keep `recv` (10 s at most per message) waiting through the
        // outage.
        config.ws_ping_interval_secs = 1;
    };
    let mut outage = Outage::begin(configure, "natsout").await;

    // NATS goes away; A commits; NATS comes back a second later on the same port and store.
    drop(nats);
    tokio::time::sleep(Duration::from_millis(300)).await;
    outage.assign_on_a().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _nats = NatsServer::start(port, &store);
    // The client reconnects within a few seconds and B replaces at once the consumer NATS lost
    // with its restart (under a second here); keep-alive pings come meanwhile.
    outage
        .heard_on_b(
            Duration::from_secs(15),
            "the assignment reaches the subscriber on the other process after NATS is back",
        )
        .await;
    let _ = std::fs::remove_dir_all(&store);
}

/// The other process's listener loses its PostgreSQL connection (its backend terminated, again
/// and again for a second and a half) while A commits: once it listens again it replays what it
/// missed from the outbox, and the subscriber on B hears the assignment, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set SWITCHYARD_TEST_DATABASE_URL and pass --include-ignored"]
async fn an_event_committed_while_the_listener_is_cut_off_still_reaches_the_other_process() {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    use switchyard_kernel::db_run;
    #[derive(diesel::QueryableByName)]
    struct Cut {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let configure = |config: &mut switchyard_gateway::Config| config.ws_ping_interval_secs = 1;
    let mut outage = Outage::begin(configure, "cutoff").await;

    // Every listener of this database is cut off as soon as it listens, for 1.5 s.
    let db = outage.a.services.db.clone();
    let cutter = tokio::spawn(async move {
        let mut cut = 0;
        let until = std::time::Instant::now() + Duration::from_millis(1500);
        while std::time::Instant::now() < until {
            let mut pooled = db.write().await.unwrap();
            let mut conn = pooled.conn();
            let rows: Vec<Cut> = db_run!(&mut conn, |c| diesel::sql_query(
                "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN %' \
                 AND pid <> pg_backend_pid()"
            )
            .load(c)
            .await)
            .unwrap();
            cut += rows[0].n;
            drop(pooled);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cut
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    outage.assign_on_a().await;
    let cut = cutter.await.unwrap();
    assert!(cut >= 2, "both processes' listeners were cut off ({cut})");
    outage
        .heard_on_b(
            Duration::from_secs(20),
            "the assignment reaches the subscriber on the other process once it listens again",
        )
        .await;
    // Replayed with what B had already heard or delivered itself: told once.
    assert_eq!(
        next(&mut outage.on_b, Duration::from_secs(2)).await,
        None,
        "nothing more"
    );
}

/// The set-up of the outage tests: two servers on one PostgreSQL, Ana (crew) listening on B,
/// and a job of the tenant to assign her to on A.
struct Outage {
    a: TestApp,
    _b: TestApp,
    t: TestTenant,
    ana: switchyard_kernel::UserId,
    job: String,
    on_b: crate::ws::Socket,
}

impl Outage {
    async fn begin(configure: impl Fn(&mut switchyard_gateway::Config), name: &str) -> Outage {
        let a = TestApp::spawn(Backend::Postgres, &configure)
            .await
            .expect("SWITCHYARD_TEST_DATABASE_URL must name the PostgreSQL server for this test");
        let b = a.twin(&configure).await;
        let t = sales_tenant(&a, name).await;
        let (ana, ana_token) = a
            .user(&t, &format!("ana@{name}.example"), &["crew"], &[t.location])
            .await;
        let (job, _) = job_in(&a, &t, t.location, "2055-01-12").await;
        let on_b = listening(&b, &ana_token).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Outage {
            a,
            _b: b,
            t,
            ana,
            job,
            on_b,
        }
    }

    /// The owner assigns Ana to the job on A.
    async fn assign_on_a(&self) {
        let data = self
            .a
            .ok(
                &self.t.owner_token,
                ASSIGN,
                json!({"job": self.job, "user": self.ana.to_global()}),
            )
            .await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
    }

    /// Ana's notification of the assignment, on B, `within`.
    async fn heard_on_b(&mut self, within: Duration, expectation: &str) {
        let event = next(&mut self.on_b, within).await.expect(expectation);
        assert_eq!(
            event["payload"]["data"]["notificationReceived"]["kind"], "JOB_ASSIGNED",
            "{event}"
        );
        assert_eq!(
            event["payload"]["data"]["notificationReceived"]["subjectId"],
            json!(self.job)
        );
    }
}

/// The next message on `socket` other than a keep-alive ping, if one comes `within`.
async fn next(socket: &mut crate::ws::Socket, within: Duration) -> Option<Value> {
    tokio::time::timeout(within, async {
        loop {
            let message = recv(socket).await;
            if message["type"] != "ping" {
                return message;
            }
        }
    })
    .await
    .ok()
}

/// A socket on `app` signed in with `token` and subscribed to `notificationReceived` (id `n`).
async fn listening(app: &TestApp, token: &str) -> crate::ws::Socket {
    let mut socket = connect(app, "graphql-transport-ws").await;
    init(&mut socket, token).await;
    send(
        &mut socket,
        json!({"id": "n", "type": "subscribe", "payload": {"query": RECEIVED}}),
    )
    .await;
    socket
}

/// A `nats-server -js` of a test's own, killed when dropped.
struct NatsServer(std::process::Child);

impl NatsServer {
    fn start(port: u16, store: &std::path::Path) -> NatsServer {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("nats-server");
        let mut child = std::process::Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server must be installed for this test (.ci/run installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return NatsServer(child);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("nats-server did not listen on port {port}");
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An event committed in one process reaches the subscribers of the other both ways, and
/// reactions and reminders run once.
async fn two_processes(a: &TestApp, b: &TestApp, name: &str) {
    let t = sales_tenant(a, name).await;
    let (ana_mail, bo_mail) = (format!("ana@{name}.example"), format!("bo@{name}.example"));
    let (ana, ana_token) = a.user(&t, &ana_mail, &["crew"], &[t.location]).await;
    let (bo, bo_token) = a.user(&t, &bo_mail, &["crew"], &[t.location]).await;
    let (job, _) = job_in(a, &t, t.location, "2055-01-12").await;
    // Ana listens on B, Bo on A.
    let mut on_b = listening(b, &ana_token).await;
    let mut on_a = listening(a, &bo_token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A commits, B's subscriber hears; B commits, A's subscriber hears.
    let started = std::time::Instant::now();
    let data = a
        .ok(
            &t.owner_token,
            ASSIGN,
            json!({"job": job, "user": ana.to_global()}),
        )
        .await;
    assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
    let event = event_where(
        &mut on_b,
        |e| e["payload"]["data"]["notificationReceived"]["kind"] == "JOB_ASSIGNED",
        |_| false,
    )
    .await;
    assert_eq!(
        event["payload"]["data"]["notificationReceived"]["subjectId"],
        json!(job)
    );
    let data = b
        .ok(
            &t.owner_token,
            ASSIGN,
            json!({"job": job, "user": bo.to_global()}),
        )
        .await;
    assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
    event_where(
        &mut on_a,
        |e| e["payload"]["data"]["notificationReceived"]["kind"] == "JOB_ASSIGNED",
        |_| false,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Each assignment email went out once, from whichever process claimed it.
    sink().0.mail_to(&ana_mail, 1).await;
    sink().0.mail_to(&bo_mail, 1).await;

    // Both processes sweep reminders at the same moment: each reminder is raised once.
    let now = at("2055-01-11 08:00:30");
    let (x, y) = tokio::join!(
        switchyard_notifications::reminders::sweep(&a.services, now),
        switchyard_notifications::reminders::sweep(&b.services, now),
    );
    assert_eq!(
        x.unwrap() + y.unwrap(),
        2,
        "one 24 h reminder each for Ana and Bo"
    );
    for token in [&ana_token, &bo_token] {
        assert_eq!(
            kinds(&a.ok(token, MINE, json!({})).await),
            ["REMINDER", "JOB_ASSIGNED"]
        );
    }
    let reminder_mails = |to: &str| {
        sink()
            .0
            .mails
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.contains(to)) && m.data.contains("starts in 1 day"))
            .count()
    };
    sink().0.mail_to(&ana_mail, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reminder_mails(&ana_mail), 1, "sent once");

    // An accepted quote becomes one job, with both dispatchers awake.
    let c = customer(
        a,
        &t.owner_token,
        json!({"firstName": "Kajsa", "lastName": "Ros", "locationId": t.location.to_global()}),
    )
    .await;
    let data = a.ok(&t.owner_token, "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { quote { id } } }", json!({"input": {"customerId": c, "items": [{"description": "Crew", "quantity": 1, "unitPriceMinor": 100000, "category": "MOVING_SERVICES"}]}})).await;
    let quote = data["createQuote"]["quote"]["id"].clone();
    a.ok(
        &t.owner_token,
        "mutation($id: ID!) { sendQuote(input: {id: $id}) { userErrors { code } } }",
        json!({"id": quote}),
    )
    .await;
    b.ok(
        &t.owner_token,
        "mutation($id: ID!) { acceptQuote(input: {id: $id}) { userErrors { code } } }",
        json!({"id": quote}),
    )
    .await;
    let mut made = 0;
    for _ in 0..100 {
        made = crate::operations::jobs::events_of(a, t.id, "sales.quote.converted")
            .await
            .len();
        if made > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        (
            made,
            crate::operations::jobs::events_of(a, t.id, "operations.job.created")
                .await
                .len()
        ),
        (1, 2),
        "one job from the quote, besides the one made by hand"
    );
}

backend_test! {
    async fn attendees_hear_of_appointments_others_plan_for_them_and_are_reminded_of_each_occurrence(app: TestApp) {
        let t = sales_tenant(&app, "visits").await;
        let (rep, rep_token) = app.user(&t, "rep@visits.example", &["sales_rep"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@visits.example", &["dispatcher"], &[t.location]).await;
        const SCHEDULE: &str = "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) { appointment { id } userErrors { code } } }";
        // The dispatcher books the rep a weekly site visit, three times, Wednesdays 09:00 UTC.
        let data = app.ok(&dispatch_token, SCHEDULE, json!({"input": {"kind": "SITE_VISIT", "title": "Survey at Ros", "userId": rep.to_global(), "locationId": t.location.to_global(), "startsAt": "2055-01-13T09:00:00Z", "endsAt": "2055-01-13T10:00:00Z", "recurrence": "RRULE:FREQ=WEEKLY;COUNT=3"}})).await;
        assert_eq!(data["scheduleAppointment"]["userErrors"], json!([]), "{data}");
        let visit = data["scheduleAppointment"]["appointment"]["id"].clone();
        let data = app.ok(&rep_token, MINE, json!({})).await;
        let n = &data["notifications"]["edges"][0]["node"];
        assert_eq!((n["kind"].as_str(), n["title"].as_str(), n["subjectId"].clone()), (Some("APPOINTMENT_CHANGED"), Some("Survey at Ros scheduled"), visit.clone()), "{data}");
        assert_eq!(n["body"], "site visit Wed 13 Jan 10:00–11:00 (Europe/Stockholm), repeating.");
        // What the rep plans for herself tells her nothing, but reminds her.
        let data = app.ok(&rep_token, SCHEDULE, json!({"input": {"kind": "MEETING", "title": "Team call", "userId": rep.to_global(), "startsAt": "2055-02-01T09:00:00Z", "endsAt": "2055-02-01T10:00:00Z"}})).await;
        assert_eq!(data["scheduleAppointment"]["userErrors"], json!([]), "{data}");
        assert_eq!(kinds(&app.ok(&rep_token, MINE, json!({})).await), ["APPOINTMENT_CHANGED"]);
        // Each occurrence has its reminders.
        assert_eq!(remind(&app, "2055-01-12 09:00:30").await, 1, "the first visit's 24 h reminder");
        assert_eq!(remind(&app, "2055-01-19 09:00:30").await, 3, "the first's 2 h and 30 min, the second's 24 h");
        // Cancelled: the rest go, and she hears.
        let data = app.ok(&dispatch_token, "mutation($id: ID!) { cancelAppointment(input: {id: $id}) { userErrors { code } } }", json!({"id": visit})).await;
        assert_eq!(data["cancelAppointment"]["userErrors"], json!([]), "{data}");
        assert_eq!(remind(&app, "2055-01-31 00:00:00").await, 0, "nothing left of the series");
        assert_eq!(remind(&app, "2055-02-01 09:00:00").await, 3, "the team call's");
        let data = app.ok(&rep_token, MINE, json!({})).await;
        assert_eq!(data["notifications"]["edges"][3]["node"]["title"], "Survey at Ros cancelled", "{data}");
    }
}

backend_test! {
    /// Every root field of notifications, for every built-in role and signed out: everyone
    /// reaches their own; the log is the administrators' and managers'; templates and reminder
    /// times are the administrators'.
    async fn role_matrix_for_every_notifications_field(app: TestApp) {
        use crate::access::ROLES;
        let t = sales_tenant(&app, "nmatrix").await;
        let ghost = switchyard_notifications::ids::NotificationId::new().to_global();
        let cases: Vec<(&str, &str, Value)> = vec![
            ("notifications", "{ notifications(first: 1) { totalCount } }", json!({})),
            ("notification", "query($id: ID!) { notification(id: $id) { id } }", json!({"id": ghost})),
            ("unreadNotificationCount", "{ unreadNotificationCount }", json!({})),
            ("markNotificationRead", "mutation($id: ID!) { markNotificationRead(id: $id) { userErrors { code } } }", json!({"id": ghost})),
            ("markAllNotificationsRead", "mutation { markAllNotificationsRead { marked } }", json!({})),
            ("notificationPreferences", "{ notificationPreferences { kind } }", json!({})),
            ("notificationSettings", "{ notificationSettings { language } }", json!({})),
            ("setNotificationPreference", "mutation { setNotificationPreference(kind: REMINDER, channels: [EMAIL]) { userErrors { code } } }", json!({})),
            ("setNotificationSettings", "mutation { setNotificationSettings(language: \"not a language\") { userErrors { code } } }", json!({})),
            ("reminderOffsets", "{ reminderOffsets }", json!({})),
            ("customerReminderOffsets", "{ customerReminderOffsets }", json!({})),
            ("notificationMessages", "{ notificationMessages(first: 1) { totalCount } }", json!({})),
            ("messageTemplates", "{ messageTemplates { kind } }", json!({})),
            ("setMessageTemplate", "mutation { setMessageTemplate(kind: REMINDER, language: \"x\", subject: \"s\", body: \"b\") { userErrors { code } } }", json!({})),
            ("setReminderOffsets", "mutation { setReminderOffsets(minutes: [1], customerMinutes: [1440]) { userErrors { code } } }", json!({})),
        ];
        let allowed = |field: &str| -> &[&str] {
            match field {
                "notificationMessages" => &["owner", "admin", "manager"],
                "messageTemplates" | "setMessageTemplate" | "setReminderOffsets" => &["owner", "admin"],
                _ => &ROLES,
            }
        };
        for role in ROLES {
            let (_, token) = app.user(&t, &format!("{role}-user@nmatrix.example"), &[role], &[t.location]).await;
            for (field, query, variables) in &cases {
                let body = app.gql(Some(&token), query, variables.clone()).await;
                if allowed(field).contains(&role) {
                    assert!(!matches!(error_code(&body), Some("FORBIDDEN" | "INTERNAL")), "{role} may use {field}: {body}");
                } else {
                    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{role} may not use {field}: {body}");
                    assert!(body["data"][field].is_null(), "{role} {field}: {body}");
                }
            }
        }
        for (field, query, variables) in &cases {
            let body = app.gql(None, query, variables.clone()).await;
            assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{field}: {body}");
        }
        // The refused and the invalid wrote nothing the tenant shares.
        let data = app.ok(&t.owner_token, "{ messageTemplates { kind } reminderOffsets customerReminderOffsets }", json!({})).await;
        assert_eq!(data, json!({"messageTemplates": [], "reminderOffsets": [1440, 120, 30], "customerReminderOffsets": []}));
    }
}

backend_test! {
    /// Reminders to customers: chosen by the tenant (none by default), by email to the
    /// customer's address or else by text message, in the tenant's wording and the location's
    /// time zone; moved and dropped with the job; in the log of the staff who reach the
    /// customer, and nobody else's.
    async fn customers_are_reminded_when_the_tenant_chooses_by_email_or_else_by_text(app: TestApp, |c: &mut switchyard_gateway::Config| {
        with_smtp(c);
        c.domains.set(switchyard_notifications::messages::SMS_URL, format!("http://127.0.0.1:{}/sms", sms_provider().1));
        c.domains.set(switchyard_notifications::messages::SMS_TOKEN, "sms-secret");
        c.domains.set(switchyard_notifications::messages::DELIVERY_POLL_SECS, "1");
    }) {
        let t = sales_tenant(&app, "kundvarsel").await;
        let south = switchyard_identity::tenants::provision::create_location(&app.services, t.id, "South", "UTC").await.unwrap();
        let (_, manager_token) = app.user(&t, "manager@kundvarsel.example", &["manager"], &[t.location]).await;
        let (_, south_token) = app.user(&t, "south@kundvarsel.example", &["manager"], &[south]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@kundvarsel.example", &["dispatcher"], &[t.location]).await;
        let here = t.location.to_global();
        // Both backends' runs may share one test process, and so the SMTP server and the SMS
        // provider: each run writes to an address and a number of its own.
        let run = u64::from_str_radix(&t.id.to_string().replace('-', "")[20..], 16).unwrap() % 10_000_000;
        let (karin_email, sven_phone) = (format!("karin.{run}@kundvarsel.example"), format!("+4670{run:07}"));
        let karin = customer(&app, &t.owner_token, json!({"firstName": "Karin", "lastName": "Kund", "email": karin_email, "phone": "+46705550100", "locationId": here})).await;
        let sven = customer(&app, &t.owner_token, json!({"firstName": "Sven", "lastName": "Sms", "phone": sven_phone, "locationId": here})).await;
        let tyst = customer(&app, &t.owner_token, json!({"firstName": "Tyst", "lastName": "Kund", "locationId": here})).await;
        // Planned before the tenant chose: its customer is not reminded.
        job_for(&app, &t, t.location, &karin, "2055-02-09").await;

        // Only administrators choose; a bad offset names its field and nothing is written.
        const OFFSETS: &str = "mutation($m: [Int!]!, $c: [Int!]) { setReminderOffsets(minutes: $m, customerMinutes: $c) { minutes customerMinutes userErrors { field code } } }";
        let body = app.gql(Some(&dispatch_token), OFFSETS, json!({"m": [120], "c": [1440]})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let data = app.ok(&t.owner_token, OFFSETS, json!({"m": [120], "c": [1440, 20000]})).await;
        assert_eq!(user_errors(&data["setReminderOffsets"]), vec![("customerMinutes.0".to_owned(), "OUT_OF_RANGE".to_owned())], "{data}");
        let data = app.ok(&t.owner_token, "{ reminderOffsets customerReminderOffsets }", json!({})).await;
        assert_eq!(data, json!({"reminderOffsets": [1440, 120, 30], "customerReminderOffsets": []}), "customers get none by default");
        let data = app.ok(&t.owner_token, OFFSETS, json!({"m": [1440, 120, 30], "c": [1440]})).await;
        assert_eq!(data["setReminderOffsets"], json!({"minutes": [1440, 120, 30], "customerMinutes": [1440], "userErrors": []}));
        let data = app.ok(&t.owner_token, OFFSETS, json!({"m": [1440, 120, 30]})).await;
        assert_eq!(data["setReminderOffsets"]["customerMinutes"], json!([1440]), "left out: unchanged");

        // The customers' wording is the tenant's own (its only template, in Swedish). Nobody
        // of the tenant chooses channels for it.
        let data = app.ok(&t.owner_token, "mutation { setMessageTemplate(kind: CUSTOMER_REMINDER, language: \"sv\", subject: \"Hej {{name}}: {{title}}\", body: \"Hej {{name}}! {{body}} Ring oss om något ändras.\") { userErrors { code } } }", json!({})).await;
        assert_eq!(data["setMessageTemplate"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&dispatch_token, "mutation { setNotificationPreference(kind: CUSTOMER_REMINDER, channels: [EMAIL]) { userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&data["setNotificationPreference"]), vec![("kind".to_owned(), "NOT_ALLOWED".to_owned())]);
        let data = app.ok(&dispatch_token, "{ notificationPreferences { kind } }", json!({})).await;
        assert!(!data.to_string().contains("CUSTOMER_REMINDER"), "{data}");

        // Jobs planned from now on remind their customers a day ahead: Karin by email, Sven
        // (no address) by text, Tyst (neither) not at all; each once.
        job_for(&app, &t, t.location, &karin, "2055-02-10").await;
        let svens = job_for(&app, &t, t.location, &sven, "2055-02-10").await;
        job_for(&app, &t, t.location, &tyst, "2055-02-10").await;
        assert_eq!(remind(&app, "2055-02-08 08:00:30").await, 0, "the job planned before has none");
        assert_eq!(remind(&app, "2055-02-09 07:59:00").await, 0);
        assert_eq!(remind(&app, "2055-02-09 08:00:30").await, 2);
        assert_eq!(remind(&app, "2055-02-09 08:01:00").await, 0, "once");
        let mail = &sink().0.mail_to(&karin_email, 1).await[0];
        assert!(mail.data.contains("Subject: Hej Karin Kund: Your job at Storgatan 1"), "{}", mail.data);
        // (The body is quoted-printable: its soft line breaks are taken out.)
        let body = mail.data.replace("=\r\n", "").replace("=\n", "");
        assert!(body.contains("Hej Karin Kund! Your job at Storgatan 1"), "{body}");
        assert!(body.contains("starts Wed 10 Feb 09:00 (Europe/Stockholm). Ring oss"), "in the location's zone: {body}");
        let mut texts = Vec::new();
        for _ in 0..200 {
            texts = sms_provider().0.lock().unwrap().iter().filter(|(_, b)| b["to"] == json!(sven_phone)).cloned().collect();
            if !texts.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert_eq!(texts[0].0, "Bearer sms-secret");
        let text = texts[0].1["body"].as_str().unwrap();
        assert!(text.starts_with("Hej Sven Sms: Your job at Storgatan 1, Stockholm → Lillgatan 2, Uppsala starts in 1 day."), "{text}");

        // Sven's job moves two days: his reminder moves with it. A job cancelled takes its
        // customer's reminder with it.
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { rescheduleJob(input: {id: $id, plannedStart: \"2055-02-12T08:00:00Z\", plannedEnd: \"2055-02-12T16:00:00Z\"}) { userErrors { code message } } }", json!({"id": svens})).await;
        assert_eq!(data["rescheduleJob"]["userErrors"], json!([]), "{data}");
        let cancelled = job_for(&app, &t, t.location, &karin, "2055-02-12").await;
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { cancelJob(input: {id: $id, reason: \"Moved abroad\"}) { userErrors { code message } } }", json!({"id": cancelled})).await;
        assert_eq!(data["cancelJob"]["userErrors"], json!([]), "{data}");
        // So does a job whose work began early: "starts in 1 day" would be wrong by then.
        let started = job_for(&app, &t, t.location, &karin, "2055-02-12").await;
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { startJob(input: {id: $id}) { userErrors { code message } } }", json!({"id": started})).await;
        assert_eq!(data["startJob"]["userErrors"], json!([]), "{data}");
        assert_eq!(remind(&app, "2055-02-11 08:00:30").await, 1, "Sven's moved reminder only");

        // Mia is merged into Karin after her job was planned: Karin is reminded of it.
        let mia = customer(&app, &t.owner_token, json!({"firstName": "Mia", "lastName": "Dubblett", "email": "mia@kundvarsel.example", "locationId": here})).await;
        job_for(&app, &t, t.location, &mia, "2055-02-14").await;
        let data = app.ok(&t.owner_token, "mutation($d: ID!, $s: ID!) { mergeCustomers(input: {duplicateId: $d, survivorId: $s}) { userErrors { code } } }", json!({"d": mia, "s": karin})).await;
        assert_eq!(data["mergeCustomers"]["userErrors"], json!([]), "{data}");
        assert_eq!(remind(&app, "2055-02-13 08:00:30").await, 1);
        sink().0.mail_to(&karin_email, 2).await;

        // An appointment at Karin's, with nobody booked yet: she is reminded of it too.
        let data = app.ok(&t.owner_token, "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) { userErrors { code } } }", json!({"input": {"kind": "SITE_VISIT", "title": "Survey at Karin's", "customerId": karin, "locationId": here, "startsAt": "2055-02-15T09:00:00Z", "endsAt": "2055-02-15T10:00:00Z"}})).await;
        assert_eq!(data["scheduleAppointment"]["userErrors"], json!([]), "{data}");
        assert_eq!(remind(&app, "2055-02-14 09:00:30").await, 1);
        let mail = &sink().0.mail_to(&karin_email, 3).await[2];
        assert!(mail.data.contains("Subject: Hej Karin Kund: Your site visit appointment starts in 1 day"), "{}", mail.data);

        // The log: the owner and the location's manager see the customers' messages, with
        // the customer; the other location's manager sees none of them.
        const LOG: &str = "query { notificationMessages(first: 10) { edges { node { channel recipient status user { id } customer { id } } } } }";
        let mut log = Value::Null;
        for _ in 0..200 {
            log = app.ok(&t.owner_token, LOG, json!({})).await;
            let edges = log["notificationMessages"]["edges"].as_array().unwrap();
            if edges.len() == 5 && edges.iter().all(|e| e["node"]["status"] == "SENT") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut seen: Vec<(String, String, String)> = log["notificationMessages"]["edges"].as_array().unwrap().iter().map(|e| {
            let n = &e["node"];
            assert_eq!((&n["user"], &n["status"]), (&Value::Null, &json!("SENT")), "{log}");
            (n["channel"].as_str().unwrap().to_owned(), n["recipient"].as_str().unwrap().to_owned(), n["customer"]["id"].as_str().unwrap().to_owned())
        }).collect();
        seen.sort();
        assert_eq!(seen, vec![
            ("EMAIL".to_owned(), karin_email.clone(), karin.clone()),
            ("EMAIL".to_owned(), karin_email.clone(), karin.clone()),
            ("EMAIL".to_owned(), karin_email.clone(), karin.clone()),
            ("SMS".to_owned(), sven_phone.clone(), sven.clone()),
            ("SMS".to_owned(), sven_phone.clone(), sven.clone()),
        ], "{log}");
        let data = app.ok(&manager_token, LOG, json!({})).await;
        assert_eq!(data["notificationMessages"]["edges"].as_array().unwrap().len(), 5, "{data}");
        let data = app.ok(&south_token, LOG, json!({})).await;
        assert_eq!(data["notificationMessages"]["edges"], json!([]), "{data}");
        // The whole tenant's log, granted to someone who may not see customers' contact
        // details: no customer's message (it holds the address, number and wording).
        let (clerk, clerk_token) = app.user(&t, "clerk@kundvarsel.example", &["crew"], &[t.location]).await;
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { grantPermission(input: {userId: $id, permission: \"notifications.message:read\", scope: TENANT, reason: \"audit\"}) { grant { active } } }", json!({"id": clerk.to_global()})).await;
        assert_eq!(data["grantPermission"]["grant"]["active"], true, "{data}");
        let data = app.ok(&clerk_token, LOG, json!({})).await;
        assert_eq!(data["notificationMessages"]["edges"], json!([]), "{data}");
    }
}

/// A text-message provider on a local HTTP server (its own thread and runtime, one per test
/// process): it keeps each request's bearer token and JSON body, answers `{"id": "sms-N"}`,
/// and refuses (500) any message to +46700000000.
/// The requests the SMS provider received: bearer token and JSON body.
type Texts = Arc<Mutex<Vec<(String, Value)>>>;

fn sms_provider() -> &'static (Texts, u16) {
    static PROVIDER: OnceLock<(Texts, u16)> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Texts = Arc::default();
        let kept = seen.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().route(
                    "/sms",
                    axum::routing::post(
                        move |headers: axum::http::HeaderMap,
                              axum::Json(body): axum::Json<Value>| {
                            let kept = kept.clone();
                            async move {
                                let token = headers
                                    .get("authorization")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_owned();
                                let refused = body["to"] == "+46700000000";
                                let mut kept = kept.lock().unwrap();
                                kept.push((token, body));
                                if refused {
                                    (
                                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                                        axum::Json(json!({"error": "carrier down"})),
                                    )
                                } else {
                                    (
                                        axum::http::StatusCode::OK,
                                        axum::Json(json!({"id": format!("sms-{}", kept.len())})),
                                    )
                                }
                            }
                        },
                    ),
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        (seen, port)
    })
}

backend_test! {
    async fn text_messages_go_to_the_sms_provider_and_a_refused_one_waits_for_its_retry(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.domains.set(switchyard_notifications::messages::SMS_URL, format!("http://127.0.0.1:{}/sms", sms_provider().1));
        c.domains.set(switchyard_notifications::messages::SMS_TOKEN, "sms-secret");
    }) {
        let t = sales_tenant(&app, "texts").await;
        let (ana, ana_token) = app.user(&t, "ana@texts.example", &["crew"], &[t.location]).await;
        let (bo, bo_token) = app.user(&t, "bo@texts.example", &["crew"], &[t.location]).await;
        const SETTINGS: &str = "mutation($phone: String) { setNotificationSettings(phone: $phone) { settings { phone } userErrors { field code } } }";
        let data = app.ok(&ana_token, SETTINGS, json!({"phone": "0701234567"})).await;
        assert_eq!(user_errors(&data["setNotificationSettings"]), vec![("phone".to_owned(), "INVALID_FORMAT".to_owned())]);
        let data = app.ok(&ana_token, SETTINGS, json!({"phone": "+46 70-123 45 67"})).await;
        assert_eq!(data["setNotificationSettings"]["settings"]["phone"], "+46701234567", "{data}");
        app.ok(&bo_token, SETTINGS, json!({"phone": "+46700000000"})).await;
        for token in [&ana_token, &bo_token] {
            let data = app.ok(token, "mutation { setNotificationPreference(kind: JOB_ASSIGNED, channels: [SMS]) { userErrors { code } } }", json!({})).await;
            assert_eq!(data["setNotificationPreference"]["userErrors"], json!([]));
        }
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        for person in [ana, bo] {
            app.ok(&t.owner_token, ASSIGN, json!({"job": job, "user": person.to_global()})).await;
        }
        // The provider got both, with the token; Ana's went out, Bo's was refused and waits.
        const LOG: &str = "query { notificationMessages(first: 10) { edges { node { channel recipient status attempts providerId lastError user { id } } } } }";
        let mut log = Value::Null;
        for _ in 0..100 {
            log = app.ok(&t.owner_token, LOG, json!({})).await;
            if log["notificationMessages"]["edges"].as_array().unwrap().iter().all(|e| e["node"]["attempts"] == 1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let edges = log["notificationMessages"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 2, "SMS only, no email: {log}");
        let of = |user: switchyard_kernel::UserId| edges.iter().find(|e| e["node"]["user"]["id"] == json!(user.to_global())).unwrap()["node"].clone();
        let (sent, waiting) = (of(ana), of(bo));
        assert_eq!((sent["channel"].as_str(), sent["recipient"].as_str(), sent["status"].as_str()), (Some("SMS"), Some("+46701234567"), Some("SENT")), "{log}");
        assert!(sent["providerId"].as_str().unwrap().starts_with("sms-"), "{log}");
        assert_eq!((waiting["status"].as_str(), waiting["attempts"].as_i64()), (Some("PENDING"), Some(1)), "{log}");
        assert!(waiting["lastError"].as_str().unwrap().contains("500"), "{log}");
        let seen = sms_provider().0.lock().unwrap().clone();
        let to_ana = seen.iter().find(|(_, body)| body["to"] == "+46701234567").unwrap();
        assert_eq!(to_ana.0, "Bearer sms-secret");
        assert!(to_ana.1["body"].as_str().unwrap().starts_with("You are on the job at Storgatan 1"), "{seen:?}");
    }
}
