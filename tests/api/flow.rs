//! The whole flow, black-box, on both databases: a booking arrives; its quote is priced, sent
//! and accepted; the job exists once, on the calendar and in an open `calendarChanged`; a
//! dispatcher staffs it (a conflict refused first); each crew member hears over WebSocket and
//! by email at a real SMTP server; the 24 h reminder fires once when the clock reaches it; a
//! phone replays its field update and one update results; the job completes and
//! `operations.job.completed` is in the outbox.

use std::time::Duration;

use serde_json::{Value, json};

use crate::backend_test;
use crate::notifications::{sink, with_smtp};
use crate::operations::jobs::{ASSIGN, events_of, sales_tenant, step};
use crate::support::*;
use crate::ws::{Socket, connect, event_where, init, recv, send};

const RECEIVED: &str = "subscription { notificationReceived { kind subjectId } }";

async fn watch(app: &TestApp, token: &str, query: &str, variables: Value) -> Socket {
    let mut s = connect(app, "graphql-transport-ws").await;
    init(&mut s, token).await;
    send(&mut s, json!({"id": "w", "type": "subscribe", "payload": {"query": query, "variables": variables}})).await;
    s
}

backend_test! {
    async fn a_booking_becomes_a_staffed_reminded_worked_and_completed_job(app: TestApp, with_smtp) {
        let t = sales_tenant(&app, "flow").await;
        let (_, manager_token) = app.user(&t, "manager@flow.example", &["manager"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@flow.example", &["dispatcher"], &[t.location]).await;
        let (ana, ana_token) = app.user(&t, "ana@flow.example", &["crew"], &[t.location]).await;
        let (bo, bo_token) = app.user(&t, "bo@flow.example", &["crew"], &[t.location]).await;
        let data = app.ok(&manager_token, "mutation($input: CreateQuoteTemplateItemInput!) { createQuoteTemplateItem(input: $input) { userErrors { code } } }", json!({"input": {"service": "MOVING_SERVICES", "description": "Moving crew, hours per room", "basis": "PER_ROOM", "quantity": 2, "unitPrice": {"amountMinor": 79500, "currency": "SEK"}}})).await;
        assert_eq!(data["createQuoteTemplateItem"]["userErrors"], json!([]));
        let day = chrono::Utc::now().date_naive() + chrono::Duration::days(10);
        let (from, to) = (format!("{}T00:00:00Z", day - chrono::Duration::days(1)), format!("{}T00:00:00Z", day + chrono::Duration::days(2)));
        // The dispatcher's calendar is open on the week of the move.
        let mut calendar = watch(&app, &dispatch_token, "subscription($l: ID!, $from: DateTime!, $to: DateTime!) { calendarChanged(locationId: $l, from: $from, to: $to) { kind id removed entries { kind startsAt job { id status crew { edges { node { user { id } } } } } } } }", json!({"l": t.location.to_global(), "from": from, "to": to})).await;
        let mut phones = [watch(&app, &ana_token, RECEIVED, json!({})).await, watch(&app, &bo_token, RECEIVED, json!({})).await];
        tokio::time::sleep(Duration::from_millis(300)).await;

        // A booking arrives from the web form; its quote is priced from the template.
        let body = app.gql(None, "mutation($input: SubmitBookingInput!) { submitBooking(input: $input) { reference userErrors { code } } }", json!({"input": {
            "tenant": "flow", "firstName": "Kajsa", "lastName": "Ros", "email": "kajsa@example.com", "phone": "070-123 45 67",
            "moveDate": day.to_string(), "origin": "Storgatan 1, Stockholm", "destination": "Lillgatan 2, Uppsala", "rooms": 3, "services": ["MOVING_SERVICES"]
        }})).await;
        assert_eq!(body["data"]["submitBooking"]["userErrors"], json!([]), "{body}");
        let data = app.ok(&t.owner_token, "{ bookings(first: 1) { nodes { quote { id total { amountMinor } } } } }", json!({})).await;
        let quote = data["bookings"]["nodes"][0]["quote"].clone();
        assert_eq!(quote["total"]["amountMinor"], 596250, "6 hours at 795.00 plus 25 % tax: {data}");
        for action in ["sendQuote", "acceptQuote"] {
            let data = app.ok(&t.owner_token, &format!("mutation($id: ID!) {{ {action}(input: {{id: $id}}) {{ userErrors {{ code message }} }} }}"), json!({"id": quote["id"]})).await;
            assert_eq!(data[action]["userErrors"], json!([]), "{data}");
        }
        // The job appears by itself, once, on the open calendar and on the calendar query.
        let event = event_where(&mut calendar, |e| e["payload"]["data"]["calendarChanged"]["kind"] == "JOB", |_| false).await;
        let change = &event["payload"]["data"]["calendarChanged"];
        assert_eq!(change["removed"], false, "{change}");
        let job = change["id"].clone();
        assert_eq!(change["entries"][0]["job"]["status"], "SCHEDULED");
        let starts = change["entries"][0]["startsAt"].as_str().unwrap().to_owned();
        let data = app.ok(&dispatch_token, "query($l: ID!, $from: DateTime!, $to: DateTime!) { calendar(locationId: $l, from: $from, to: $to) { kind job { id } } }", json!({"l": t.location.to_global(), "from": from, "to": to})).await;
        assert_eq!(data["calendar"], json!([{"kind": "JOB", "job": {"id": job}}]));
        assert_eq!(events_of(&app, t.id, "operations.job.created").await.len(), 1);

        // Bo is away that day: the dispatcher is refused, withdraws the time off he recorded
        // by mistake, and staffs Ana and Bo.
        let data = app.ok(&bo_token, "mutation($u: ID!, $from: DateTime!, $to: DateTime!) { recordTimeOff(input: {userId: $u, kind: PERSONAL, startsAt: $from, endsAt: $to}) { timeOff { id } userErrors { code } } }", json!({"u": bo.to_global(), "from": from, "to": to})).await;
        let away = data["recordTimeOff"]["timeOff"]["id"].clone();
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": ana.to_global(), "lead": true})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&dispatch_token, "mutation($job: ID!, $user: ID!) { assignCrew(input: {jobId: $job, userId: $user}) { conflicts { kind } userErrors { code } } }", json!({"job": job, "user": bo.to_global()})).await;
        assert_eq!((data["assignCrew"]["conflicts"][0]["kind"].as_str(), data["assignCrew"]["userErrors"][0]["code"].as_str()), (Some("TIME_OFF"), Some("UNAVAILABLE")), "{data}");
        let data = app.ok(&dispatch_token, "mutation($id: ID!) { withdrawTimeOff(id: $id) { userErrors { code } } }", json!({"id": away})).await;
        assert_eq!(data["withdrawTimeOff"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": bo.to_global()})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        // The calendar shows the staffed job; each crew member hears, in the app and by email.
        event_where(&mut calendar, |e| e["payload"]["data"]["calendarChanged"]["entries"][0]["job"]["crew"]["edges"].as_array().is_some_and(|c| c.len() == 2), |e| e["payload"]["data"]["calendarChanged"]["kind"] != Value::Null).await;
        for phone in phones.iter_mut() {
            let event = event_where(phone, |e| e["payload"]["data"]["notificationReceived"]["kind"] == "JOB_ASSIGNED", |_| false).await;
            assert_eq!(event["payload"]["data"]["notificationReceived"]["subjectId"], job);
        }
        for address in ["ana@flow.example", "bo@flow.example"] {
            assert!(sink().0.mail_to(address, 1).await[0].data.contains("Subject: You are on the job at Storgatan 1, Stockholm"));
        }

        // The 24 h reminder fires when the clock reaches it, once.
        let start = chrono::DateTime::parse_from_rfc3339(&starts).unwrap().naive_utc();
        let remind = |at: chrono::NaiveDateTime| {
            let services = app.services.clone();
            async move { switchyard_notifications::reminders::sweep(&services, at).await.unwrap() }
        };
        assert_eq!(remind(start - chrono::Duration::hours(25)).await, 0);
        assert_eq!(remind(start - chrono::Duration::hours(24) + chrono::Duration::seconds(30)).await, 2);
        assert_eq!(remind(start - chrono::Duration::hours(24) + chrono::Duration::seconds(60)).await, 0);
        for phone in phones.iter_mut() {
            event_where(phone, |e| e["payload"]["data"]["notificationReceived"]["kind"] == "REMINDER", |_| false).await;
        }

        // On the day: dispatched; Ana's phone sends "started" twice; one update results.
        let data = app.ok(&dispatch_token, &step("dispatchJob", ""), json!({"id": job})).await;
        let version = data["dispatchJob"]["job"]["version"].as_i64().unwrap();
        let started = json!({"input": {"jobId": job, "idempotencyKey": "ana-phone-1", "expectedVersion": version, "status": "IN_PROGRESS", "note": "On site"}});
        const RECORD: &str = "mutation($input: RecordFieldUpdateInput!) { recordFieldUpdate(input: $input) { fieldUpdate { id } job { status version } userErrors { code } } }";
        let first = app.ok(&ana_token, RECORD, started.clone()).await["recordFieldUpdate"].clone();
        let again = app.ok(&ana_token, RECORD, started).await["recordFieldUpdate"].clone();
        assert_eq!((first["job"]["status"].as_str(), &again["fieldUpdate"]["id"], &again["job"]["version"]), (Some("IN_PROGRESS"), &first["fieldUpdate"]["id"], &first["job"]["version"]), "{first} {again}");
        let data = app.ok(&t.owner_token, "query($id: ID!) { job(id: $id) { fieldUpdates(first: 10) { totalCount } } }", json!({"id": job})).await;
        assert_eq!(data["job"]["fieldUpdates"]["totalCount"], 1, "{data}");
        // Completed: JobCompleted is in the outbox, and the calendar hears of it.
        let data = app.ok(&ana_token, &step("completeJob", ", actualMinutes: 420"), json!({"id": job})).await;
        assert_eq!(data["completeJob"]["userErrors"], json!([]), "{data}");
        let completed = events_of(&app, t.id, "operations.job.completed").await;
        assert_eq!(completed.len(), 1);
        assert_eq!(completed[0]["job"]["actualMinutes"], 420);
        event_where(&mut calendar, |e| e["payload"]["data"]["calendarChanged"]["entries"][0]["job"]["status"] == "COMPLETED", |e| e["payload"]["data"]["calendarChanged"]["kind"] != Value::Null).await;
        // Nothing else reached the crew's phones.
        for phone in phones.iter_mut() {
            send(phone, json!({"type": "ping", "payload": {"probe": 1}})).await;
            assert_eq!(recv(phone).await, json!({"type": "pong", "payload": {"probe": 1}}));
        }
    }
}
