//! The live calendar: `calendarChanged` reaches every subscriber of the tenant and location
//! who may see the change, as they may see it, and nobody else.

use std::time::Duration;

use serde_json::{Value, json};

use crate::backend_test;
use crate::operations::jobs::{ASSIGN, job_in, sales_tenant};
use crate::support::*;
use crate::ws::{Socket, connect, event_where, init, recv, recv_control, send};

const CHANGED: &str = "subscription($l: ID!) { calendarChanged(locationId: $l, from: \"2055-01-11T00:00:00Z\", to: \"2055-01-18T00:00:00Z\") { kind id removed entries { kind startsAt endsAt job { id } appointment { id title } timeOff { id } } } }";

async fn watch(app: &TestApp, token: &str, location: &str) -> Socket {
    let mut s = connect(app, "graphql-transport-ws").await;
    init(&mut s, token).await;
    send(&mut s, json!({"id": "c", "type": "subscribe", "payload": {"query": CHANGED, "variables": {"l": location}}})).await;
    s
}

fn change(event: &Value) -> &Value {
    &event["payload"]["data"]["calendarChanged"]
}

/// Nothing came: the next message answers a ping.
async fn quiet(s: &mut Socket) {
    send(s, json!({"type": "ping", "payload": {"probe": 1}})).await;
    assert_eq!(
        recv(s).await,
        json!({"type": "pong", "payload": {"probe": 1}})
    );
}

backend_test! {
    async fn calendar_changes_reach_who_may_see_them_in_that_location_and_range_only(app: TestApp) {
        let t = sales_tenant(&app, "live").await;
        let other = sales_tenant(&app, "elsewhere").await;
        let here = t.location.to_global().to_string();
        let data = app.ok(&t.owner_token, "mutation { createLocation(input: {name: \"Depot\", timeZone: \"Europe/Stockholm\"}) { location { id } } }", json!({})).await;
        let depot = data["createLocation"]["location"]["id"].as_str().unwrap().to_owned();
        let (ana, ana_token) = app.user(&t, "ana@live.example", &["crew"], &[t.location]).await;
        let (_, bo_token) = app.user(&t, "bo@live.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@live.example", &["dispatcher"], &[t.location]).await;
        let (_, client_token) = app.user(&t, "client@live.example", &["client"], &[t.location]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;

        let mut dispatcher = watch(&app, &dispatch_token, &here).await;
        let mut ana_s = watch(&app, &ana_token, &here).await;
        let mut bo_s = watch(&app, &bo_token, &here).await;
        let mut depot_s = watch(&app, &t.owner_token, &depot).await;
        let mut other_s = watch(&app, &other.owner_token, &other.location.to_global()).await;
        // A client may not watch a calendar; another tenant's location is not found.
        let mut refused = connect(&app, "graphql-transport-ws").await;
        init(&mut refused, &client_token).await;
        send(&mut refused, json!({"id": "c", "type": "subscribe", "payload": {"query": CHANGED, "variables": {"l": here}}})).await;
        assert_eq!(recv_control(&mut refused).await["payload"][0]["extensions"]["code"], "FORBIDDEN");
        let mut foreign = connect(&app, "graphql-transport-ws").await;
        init(&mut foreign, &other.owner_token).await;
        send(&mut foreign, json!({"id": "c", "type": "subscribe", "payload": {"query": CHANGED, "variables": {"l": here}}})).await;
        assert_eq!(recv_control(&mut foreign).await["payload"][0]["extensions"]["code"], "NOT_FOUND");
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Ana is put on the job: the dispatcher and Ana see it (Ana could not before); Bo, the
        // depot's calendar and the other tenant hear nothing.
        app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": ana.to_global()})).await;
        for s in [&mut dispatcher, &mut ana_s] {
            let event = event_where(s, |e| change(e)["kind"] == "JOB", |_| false).await;
            assert_eq!(change(&event)["entries"], json!([{"kind": "JOB", "startsAt": "2055-01-12T08:00:00+00:00", "endsAt": "2055-01-12T16:00:00+00:00", "job": {"id": job}, "appointment": null, "timeOff": null}]), "{event}");
        }
        for s in [&mut bo_s, &mut depot_s, &mut other_s] {
            quiet(s).await;
        }
        // Moved out of the range: removed.
        app.ok(&t.owner_token, "mutation($id: ID!) { rescheduleJob(input: {id: $id, plannedStart: \"2055-01-21T08:00:00Z\", plannedEnd: \"2055-01-21T16:00:00Z\"}) { userErrors { code } } }", json!({"id": job})).await;
        let event = event_where(&mut dispatcher, |e| change(e)["removed"] == true, |_| false).await;
        assert_eq!((change(&event)["id"].as_str(), change(&event)["entries"].clone()), (Some(job.as_str()), json!([])));

        // A weekly appointment at this location: each occurrence in the range (one here).
        let data = app.ok(&dispatch_token, "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) { appointment { id } userErrors { code } } }", json!({"input": {"kind": "MAINTENANCE", "title": "Truck service", "userId": ana.to_global(), "locationId": here, "startsAt": "2055-01-13T09:00:00Z", "endsAt": "2055-01-13T10:00:00Z", "recurrence": "RRULE:FREQ=WEEKLY;COUNT=3"}})).await;
        assert_eq!(data["scheduleAppointment"]["userErrors"], json!([]), "{data}");
        let appointment = data["scheduleAppointment"]["appointment"]["id"].clone();
        let event = event_where(&mut dispatcher, |e| change(e)["kind"] == "APPOINTMENT", |_| false).await;
        assert_eq!(change(&event)["entries"], json!([{"kind": "APPOINTMENT", "startsAt": "2055-01-13T09:00:00+00:00", "endsAt": "2055-01-13T10:00:00+00:00", "job": null, "appointment": {"id": appointment, "title": "Truck service"}, "timeOff": null}]));
        event_where(&mut ana_s, |e| change(e)["kind"] == "APPOINTMENT", |e| change(e)["kind"] == "JOB").await;
        // Time off of one of the location's people: recorded, then withdrawn.
        let data = app.ok(&ana_token, "mutation($u: ID!) { recordTimeOff(input: {userId: $u, kind: VACATION, startsAt: \"2055-01-15T00:00:00Z\", endsAt: \"2055-01-16T00:00:00Z\"}) { timeOff { id } } }", json!({"u": ana.to_global()})).await;
        let away = data["recordTimeOff"]["timeOff"]["id"].clone();
        let event = event_where(&mut dispatcher, |e| change(e)["kind"] == "TIME_OFF", |_| false).await;
        assert_eq!((change(&event)["removed"].clone(), change(&event)["entries"][0]["timeOff"]["id"].clone()), (json!(false), away.clone()));
        app.ok(&ana_token, "mutation($id: ID!) { withdrawTimeOff(id: $id) { userErrors { code } } }", json!({"id": away})).await;
        let event = event_where(&mut dispatcher, |e| change(e)["kind"] == "TIME_OFF", |_| false).await;
        assert_eq!((change(&event)["removed"].clone(), change(&event)["id"].clone()), (json!(true), away));
        // Bo (crew, own scope) saw none of it; nor did the depot or the other tenant.
        for s in [&mut bo_s, &mut depot_s, &mut other_s] {
            quiet(s).await;
        }

        // The job, back in the range, moves to the depot: it leaves this calendar (for the
        // dispatcher and for Ana, on its crew) and joins the depot's.
        app.ok(&t.owner_token, "mutation($id: ID!) { rescheduleJob(input: {id: $id, plannedStart: \"2055-01-12T08:00:00Z\", plannedEnd: \"2055-01-12T16:00:00Z\"}) { userErrors { code } } }", json!({"id": job})).await;
        event_where(&mut dispatcher, |e| change(e)["kind"] == "JOB" && change(e)["removed"] == false, |_| false).await;
        let data = app.ok(&t.owner_token, "mutation($id: ID!, $l: ID!) { updateJob(input: {id: $id, locationId: $l}) { userErrors { field code } } }", json!({"id": job, "l": depot})).await;
        assert_eq!(data["updateJob"]["userErrors"], json!([]), "{data}");
        for s in [&mut dispatcher, &mut ana_s] {
            let event = event_where(s, |e| change(e)["kind"] == "JOB" && change(e)["removed"] == true, |_| true).await;
            assert_eq!(change(&event)["id"].as_str(), Some(job.as_str()), "{event}");
        }
        let event = event_where(&mut depot_s, |e| change(e)["kind"] == "JOB", |_| false).await;
        assert_eq!((change(&event)["removed"].clone(), change(&event)["entries"][0]["job"]["id"].clone()), (json!(false), json!(job)), "{event}");
        for s in [&mut bo_s, &mut other_s] {
            quiet(s).await;
        }
    }
}

/// Shared subscription executions running in the server.
async fn executions(app: &TestApp) -> u64 {
    metric(app, "switchyard_ws_subscription_executions").await
}

/// Waits until the server runs `n` shared executions.
async fn executions_become(app: &TestApp, n: u64) {
    for _ in 0..100 {
        if executions(app).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(executions(app).await, n, "shared executions");
}

/// Watches the calendar with `query` (variables `l`).
async fn watch_with(app: &TestApp, token: &str, location: &str, query: &str) -> Socket {
    let mut s = connect(app, "graphql-transport-ws").await;
    init(&mut s, token).await;
    send(&mut s, json!({"id": "c", "type": "subscribe", "payload": {"query": query, "variables": {"l": location}}})).await;
    s
}

backend_test! {
    async fn screens_of_people_with_the_same_rights_share_one_execution_and_each_hears_every_change(app: TestApp) {
        let t = sales_tenant(&app, "screens").await;
        let here = t.location.to_global().to_string();
        let (ana, ana_token) = app.user(&t, "ana@screens.example", &["crew"], &[t.location]).await;
        let (desk_id, desk) = app.user(&t, "desk@screens.example", &["dispatcher"], &[t.location]).await;
        let (_, other_desk) = app.user(&t, "other@screens.example", &["dispatcher"], &[t.location]).await;
        let (_, third_desk) = app.user(&t, "third@screens.example", &["dispatcher"], &[t.location]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;

        // The dispatcher's wall screen, laptop and phone watch the same week, and so does a
        // colleague with the same rights and location: one execution for the four.
        let mut wall = watch(&app, &desk, &here).await;
        let mut laptop = watch(&app, &desk, &here).await;
        let mut phone = watch(&app, &desk, &here).await;
        let mut colleague = watch(&app, &other_desk, &here).await;
        executions_become(&app, 1).await;
        // Crew see the jobs they work (their scope is their own): an execution of their own.
        let mut crew = watch(&app, &ana_token, &here).await;
        executions_become(&app, 2).await;
        // A selection that leads to the customer, whose answer may depend on the person, is
        // not shared between people either (one execution each).
        let with_customer = CHANGED.replace("job { id }", "job { id customer { id } }");
        let mut third = watch_with(&app, &third_desk, &here, &with_customer).await;
        let mut colleague_customer = watch_with(&app, &other_desk, &here, &with_customer).await;
        executions_become(&app, 4).await;
        // The crew's names are the same for both dispatchers: one more execution, shared.
        let with_crew = CHANGED.replace("job { id }", "job { id crew { totalCount nodes { lead user { name } } } }");
        let mut crew_views = [watch_with(&app, &third_desk, &here, &with_crew).await, watch_with(&app, &other_desk, &here, &with_crew).await];
        executions_become(&app, 5).await;
        // Dispatchers of another location reach this calendar's jobs only where they are
        // theirs (created, crewed): one execution each.
        let data = app.ok(&t.owner_token, "mutation { createLocation(input: {name: \"Depot\", timeZone: \"Europe/Stockholm\"}) { location { id } } }", json!({})).await;
        let depot = switchyard_kernel::LocationId::from_global(data["createLocation"]["location"]["id"].as_str().unwrap()).unwrap();
        let (_, depot_desk) = app.user(&t, "depot@screens.example", &["dispatcher"], &[depot]).await;
        let (_, depot_other) = app.user(&t, "depot2@screens.example", &["dispatcher"], &[depot]).await;
        let mut depot_sockets = [watch(&app, &depot_desk, &here).await, watch(&app, &depot_other, &here).await];
        executions_become(&app, 7).await;

        app.ok(&desk, ASSIGN, json!({"job": job, "user": ana.to_global()})).await;
        for s in [&mut wall, &mut laptop, &mut phone, &mut colleague, &mut crew, &mut third, &mut colleague_customer] {
            let event = event_where(s, |e| change(e)["kind"] == "JOB", |_| false).await;
            assert_eq!((event["id"].clone(), change(&event)["entries"][0]["job"]["id"].clone()), (json!("c"), json!(job)), "{event}");
        }
        for s in crew_views.iter_mut() {
            let event = event_where(s, |e| change(e)["kind"] == "JOB", |_| false).await;
            assert_eq!(change(&event)["entries"][0]["job"]["crew"], json!({"totalCount": 1, "nodes": [{"lead": false, "user": {"name": "User ana@screens.example"}}]}), "{event}");
        }

        // The laptop stops watching (complete), the phone goes away: the wall screen still
        // hears the next change, under its own operation id.
        send(&mut laptop, json!({"id": "c", "type": "complete"})).await;
        drop(phone);
        // What the assignment still had on its way to the laptop arrives before the pong.
        send(&mut laptop, json!({"type": "ping"})).await;
        event_where(&mut laptop, |e| e["type"] == "pong", |e| change(e)["kind"] == "JOB").await;
        app.ok(&t.owner_token, "mutation($id: ID!) { rescheduleJob(input: {id: $id, plannedStart: \"2055-01-21T08:00:00Z\", plannedEnd: \"2055-01-21T16:00:00Z\"}) { userErrors { code } } }", json!({"id": job})).await;
        for s in [&mut wall, &mut colleague] {
            let event = event_where(s, |e| change(e)["removed"] == true, |e| change(e)["kind"] == "JOB").await;
            assert_eq!(event["id"], "c", "{event}");
        }
        quiet(&mut laptop).await;
        for s in depot_sockets.iter_mut() {
            quiet(s).await;
        }
        drop(depot_sockets);
        drop(crew_views);
        executions_become(&app, 4).await;

        // The dispatcher whose socket started the shared execution loses the right to the
        // calendar: their socket is closed, and the colleague goes on hearing every change.
        app.ok(&t.owner_token, "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"sales_rep\"]}) { userErrors { code } } }", json!({"id": desk_id.to_global()})).await;
        assert_eq!(crate::ws::closed_without_data(&mut wall).await.0, 4403);
        app.ok(&t.owner_token, "mutation($id: ID!) { rescheduleJob(input: {id: $id, plannedStart: \"2055-01-12T08:00:00Z\", plannedEnd: \"2055-01-12T16:00:00Z\"}) { userErrors { code } } }", json!({"id": job})).await;
        let event = event_where(&mut colleague, |e| change(e)["kind"] == "JOB" && change(e)["removed"] == false, |e| change(e)["kind"] == "JOB").await;
        assert_eq!(change(&event)["entries"][0]["job"]["id"], json!(job), "{event}");

        // When the last screen of the shared execution leaves, it stops; the others go on.
        drop(laptop);
        drop(colleague);
        executions_become(&app, 3).await;
        drop(crew);
        drop(third);
        drop(colleague_customer);
        executions_become(&app, 0).await;
    }
}
