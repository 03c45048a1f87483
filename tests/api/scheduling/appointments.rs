//! Appointments: recurring series expanded on the calendar, conflicts both ways with jobs, a
//! person's own working hours, overrides, the follow-up of a completed appointment; who may
//! schedule and see them; bad input.

use serde_json::{Value, json};

use super::{HOURS, kinds, weekdays};
use crate::backend_test;
use crate::operations::jobs::{events_of, job_in, sales_tenant};
use crate::support::*;

const SCHEDULE: &str = "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) { appointment { id kind title status startsAt endsAt recurrence timeZone seriesEndsAt version user { id } customer { id } } conflicts { kind userId entryId message } userErrors { field code message } } }";
const MOVE: &str = "mutation($input: MoveAppointmentInput!) { moveAppointment(input: $input) { appointment { id startsAt seriesEndsAt version } conflicts { kind entryId } userErrors { field code message } } }";
const COMPLETE: &str = "mutation($id: ID!) { completeAppointment(input: {id: $id, note: \"Three rooms, piano.\"}) { appointment { status notes } userErrors { field code message } } }";
const CALENDAR: &str = "query($u: ID) { calendar(from: \"2055-01-11T00:00:00Z\", to: \"2055-02-08T00:00:00Z\", userId: $u) { kind startsAt endsAt appointment { id title } job { id } } }";

fn appointment(kind: &str, user: &Value, start: &str, end: &str) -> Value {
    json!({"kind": kind, "title": format!("{kind} test"), "userId": user, "startsAt": start, "endsAt": end})
}

async fn schedule(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(token, SCHEDULE, json!({"input": input})).await["scheduleAppointment"].clone()
}

backend_test! {
    async fn appointments_recur_on_the_calendar_collide_with_jobs_and_raise_their_follow_up(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (rep, _) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let (_, manager_token) = app.user(&t, "manager@acme.example", &["manager"], &[t.location]).await;
        app.ok(&manager_token, HOURS, json!({"location": t.location.to_global(), "days": weekdays("07:00", "18:00")})).await;
        let c = customer(&app, &t.owner_token, json!({"firstName": "Kajsa", "lastName": "Ros", "locationId": t.location.to_global(), "assignedToId": rep.to_global()})).await;
        let data = app.ok(&t.owner_token, "mutation { setAppointmentFollowUp(kind: SITE_VISIT, title: \"Site-visit report\", days: 2) { followUps { kind title days } userErrors { code } } }", json!({})).await;
        assert_eq!(data["setAppointmentFollowUp"]["followUps"], json!([{"kind": "SITE_VISIT", "title": "Site-visit report", "days": 2}]));

        // A site visit for the rep (09:00–10:00 UTC is 10:00–11:00 in Stockholm).
        let mut visit = appointment("SITE_VISIT", &json!(rep.to_global()), "2055-01-12T09:00:00Z", "2055-01-12T10:00:00Z");
        visit["customerId"] = json!(c);
        visit["locationId"] = json!(t.location.to_global());
        let data = schedule(&app, &dispatch_token, visit).await;
        assert_eq!(data["userErrors"], json!([]), "{data}");
        let visit = data["appointment"].clone();
        assert_eq!(visit["timeZone"], "Europe/Stockholm");
        assert_eq!(visit["customer"]["id"], json!(c));

        // A weekly maintenance block for the crew member, Tuesdays 13:00–14:00 UTC, four times.
        let mut block = appointment("MAINTENANCE", &json!(crew.to_global()), "2055-01-12T13:00:00Z", "2055-01-12T14:00:00Z");
        block["recurrence"] = json!("RRULE:FREQ=WEEKLY;COUNT=4");
        block["locationId"] = json!(t.location.to_global());
        let data = schedule(&app, &dispatch_token, block).await;
        assert_eq!(data["userErrors"], json!([]), "{data}");
        let block = data["appointment"].clone();
        assert_eq!(block["recurrence"], "FREQ=WEEKLY;COUNT=4");
        assert_eq!(block["seriesEndsAt"], "2055-02-02T14:00:00+00:00");
        let data = app.ok(&crew_token, CALENDAR, json!({"u": crew.to_global()})).await;
        let starts: Vec<&str> = data["calendar"].as_array().unwrap().iter().map(|e| e["startsAt"].as_str().unwrap()).collect();
        assert_eq!(starts, ["2055-01-12T13:00:00+00:00", "2055-01-19T13:00:00+00:00", "2055-01-26T13:00:00+00:00", "2055-02-02T13:00:00+00:00"], "{data}");
        assert!(data["calendar"].as_array().unwrap().iter().all(|e| e["kind"] == "APPOINTMENT" && e["appointment"]["id"] == block["id"]));

        // Staffing a job on the 19th (08–16 UTC) meets the block's second occurrence.
        let (job, _) = job_in(&app, &t, t.location, "2055-01-19").await;
        let data = app.ok(&dispatch_token, "mutation($job: ID!, $user: ID!) { assignCrew(input: {jobId: $job, userId: $user}) { job { id } conflicts { kind entryId startsAt } userErrors { code } } }", json!({"job": job, "user": crew.to_global()})).await;
        assert_eq!(data["assignCrew"]["conflicts"], json!([{"kind": "DOUBLE_BOOKED", "entryId": block["id"], "startsAt": "2055-01-19T13:00:00+00:00"}]), "{data}");
        assert_eq!(data["assignCrew"]["userErrors"][0]["code"], "UNAVAILABLE");
        // Moving the series to Wednesdays frees the Tuesday; staffing then succeeds, and the
        // block cannot move back onto the job.
        let data = app.ok(&dispatch_token, MOVE, json!({"input": {"id": block["id"], "expectedVersion": 1, "startsAt": "2055-01-13T13:00:00Z", "endsAt": "2055-01-13T14:00:00Z"}})).await;
        assert_eq!(data["moveAppointment"]["userErrors"], json!([]), "{data}");
        assert_eq!(data["moveAppointment"]["appointment"]["seriesEndsAt"], "2055-02-03T14:00:00+00:00");
        let data = app.ok(&dispatch_token, "mutation($job: ID!, $user: ID!) { assignCrew(input: {jobId: $job, userId: $user}) { userErrors { code } } }", json!({"job": job, "user": crew.to_global()})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]));
        let data = app.ok(&dispatch_token, MOVE, json!({"input": {"id": block["id"], "startsAt": "2055-01-12T13:00:00Z", "endsAt": "2055-01-12T14:00:00Z"}})).await;
        assert_eq!(kinds(&data["moveAppointment"]), vec!["DOUBLE_BOOKED"], "{data}");
        assert_eq!(data["moveAppointment"]["conflicts"][0]["entryId"], json!(job));
        assert_eq!(data["moveAppointment"]["appointment"], Value::Null);

        // The rep's own week: Mondays 10:00–14:00 local. Monday 08:00 UTC (09:00 local) is
        // outside it though inside the location's; an overlap with the visit is a double
        // booking; a Saturday is no working day.
        let data = app.ok(&manager_token, "mutation($u: ID!) { setUserWorkingHours(userId: $u, days: [{weekday: 1, starts: \"10:00\", ends: \"14:00\"}, {weekday: 2, starts: \"07:00\", ends: \"18:00\"}]) { saved userErrors { code } } }", json!({"u": rep.to_global()})).await;
        assert_eq!(data["setUserWorkingHours"]["saved"], true, "{data}");
        let data = app.ok(&dispatch_token, "query($l: ID!, $u: ID!) { workingHours(locationId: $l, userId: $u) { personal days { weekday starts } } }", json!({"l": t.location.to_global(), "u": rep.to_global()})).await;
        assert_eq!(data["workingHours"], json!({"personal": true, "days": [{"weekday": 1, "starts": "10:00"}, {"weekday": 2, "starts": "07:00"}]}));
        let mut early = appointment("MEETING", &json!(rep.to_global()), "2055-01-11T08:00:00Z", "2055-01-11T09:00:00Z");
        early["locationId"] = json!(t.location.to_global());
        let data = schedule(&app, &dispatch_token, early.clone()).await;
        assert_eq!(kinds(&data), vec!["OUTSIDE_WORKING_HOURS"], "{data}");
        assert!(data["conflicts"][0]["message"].as_str().unwrap().contains("their own week"), "{data}");
        let mut clash = appointment("MEETING", &json!(rep.to_global()), "2055-01-12T09:30:00Z", "2055-01-12T10:30:00Z");
        clash["locationId"] = json!(t.location.to_global());
        let data = schedule(&app, &dispatch_token, clash).await;
        assert_eq!(data["conflicts"], json!([{"kind": "DOUBLE_BOOKED", "userId": rep.to_global(), "entryId": visit["id"], "message": data["conflicts"][0]["message"]}]), "{data}");
        assert_eq!(data["appointment"], Value::Null);
        // A dispatcher may not override; a manager may, with a reason, and it is kept.
        early["override"] = json!({"reason": "Customer only free then"});
        let data = schedule(&app, &dispatch_token, early.clone()).await;
        assert_eq!(user_errors(&data), vec![("input.override".to_owned(), "NOT_ALLOWED".to_owned())]);
        let data = schedule(&app, &manager_token, early).await;
        assert_eq!(data["userErrors"], json!([]), "{data}");
        assert_eq!(events_of(&app, t.id, "scheduling.appointment.conflict_overridden").await.len(), 1);

        // Completing the visit raises the site-visit report for the customer's rep, once.
        let data = app.ok(&dispatch_token, COMPLETE, json!({"id": visit["id"]})).await;
        let done = &data["completeAppointment"]["appointment"];
        assert_eq!(done["status"], "COMPLETED", "{data}");
        assert_eq!(done["notes"], "Three rooms, piano.");
        let data = app.ok(&t.owner_token, "query($id: ID!) { appointment(id: $id) { followUpTask { kind title assignee { id } } } }", json!({"id": visit["id"]})).await;
        assert_eq!(data["appointment"]["followUpTask"], json!({"kind": "FOLLOW_UP", "title": "Site-visit report: SITE_VISIT test", "assignee": {"id": rep.to_global()}}));
        let data = app.ok(&dispatch_token, COMPLETE, json!({"id": visit["id"]})).await;
        assert_eq!(user_errors(&data["completeAppointment"]), vec![("input.id".to_owned(), "INVALID_TRANSITION".to_owned())]);
        assert_eq!(events_of(&app, t.id, "sales.task.created").await.len(), 1);
        // Cancelled appointments leave the calendar.
        app.ok(&dispatch_token, "mutation($id: ID!) { cancelAppointment(input: {id: $id}) { userErrors { code } } }", json!({"id": block["id"]})).await;
        let data = app.ok(&crew_token, CALENDAR, json!({"u": crew.to_global()})).await;
        assert!(data["calendar"].as_array().unwrap().iter().all(|e| e["kind"] == "JOB"), "{data}");
    }
}

backend_test! {
    async fn appointments_are_scheduled_and_seen_by_whom_the_rules_say_and_never_across_tenants(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let other = sales_tenant(&app, "other").await;
        let (rep, rep_token) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (rep2, rep2_token) = app.user(&t, "rep2@acme.example", &["sales_rep"], &[t.location]).await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let (_, accountant_token) = app.user(&t, "acc@acme.example", &["accountant"], &[t.location]).await;
        // A rep schedules their own; not someone else's.
        let data = schedule(&app, &rep_token, appointment("MEETING", &json!(rep.to_global()), "2055-01-12T09:00:00Z", "2055-01-12T10:00:00Z")).await;
        assert_eq!(data["userErrors"], json!([]), "{data}");
        let mine = data["appointment"]["id"].clone();
        let data = schedule(&app, &rep_token, appointment("MEETING", &json!(rep2.to_global()), "2055-01-13T09:00:00Z", "2055-01-13T10:00:00Z")).await;
        assert_eq!(user_errors(&data), vec![("input.userId".to_owned(), "NOT_ALLOWED".to_owned())]);
        // Crew and accountants schedule nothing.
        for token in [&crew_token, &accountant_token] {
            let body = app.gql(Some(token), SCHEDULE, json!({"input": appointment("MEETING", &json!(crew.to_global()), "2055-01-13T09:00:00Z", "2055-01-13T10:00:00Z")})).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        }
        let data = schedule(&app, &dispatch_token, appointment("MAINTENANCE", &json!(crew.to_global()), "2055-01-14T09:00:00Z", "2055-01-14T10:00:00Z")).await;
        assert_eq!(data["userErrors"], json!([]), "{data}");
        let theirs = data["appointment"]["id"].clone();
        // Who sees what.
        let count = "{ appointments(first: 10) { totalCount } }";
        let seen = async |token: &str| app.ok(token, count, json!({})).await["appointments"]["totalCount"].clone();
        assert_eq!(seen(&rep_token).await, 1);
        assert_eq!(seen(&rep2_token).await, 0);
        assert_eq!(seen(&crew_token).await, 1);
        assert_eq!(seen(&t.owner_token).await, 2);
        assert_eq!(seen(&other.owner_token).await, 0);
        let body = app.gql(Some(&accountant_token), count, json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        // The crew member cannot move their block; another tenant cannot reach it at all.
        let body = app.gql(Some(&crew_token), MOVE, json!({"input": {"id": theirs, "startsAt": "2055-01-14T10:00:00Z", "endsAt": "2055-01-14T11:00:00Z"}})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        let body = app.gql(Some(&other.owner_token), MOVE, json!({"input": {"id": mine, "startsAt": "2055-01-14T10:00:00Z", "endsAt": "2055-01-14T11:00:00Z"}})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        let body = app.gql(Some(&other.owner_token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": mine})).await;
        assert_eq!(body["data"]["node"], Value::Null, "{body}");
    }
}

backend_test! {
    async fn bad_appointment_input_is_refused_and_nothing_is_written(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let other = sales_tenant(&app, "other").await;
        let (rep, _) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let foreign = customer(&app, &other.owner_token, json!({"lastName": "Elsewhere"})).await;
        let who = json!(rep.to_global());
        let cases = [
            (json!({"title": " "}), "input.title", "REQUIRED"),
            (json!({"endsAt": "2055-01-12T08:00:00Z"}), "input.endsAt", "OUT_OF_RANGE"),
            (json!({"endsAt": "2055-01-13T10:00:00Z"}), "input.endsAt", "OUT_OF_RANGE"),
            (json!({"recurrence": "FREQ=SOMETIMES"}), "input.recurrence", "INVALID_FORMAT"),
            (json!({"recurrence": "FREQ=DAILY"}), "input.recurrence", "INVALID_FORMAT"),
            // 12 January 2055 is a Tuesday.
            (json!({"recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=3"}), "input.recurrence", "INVALID_FORMAT"),
            (json!({"recurrence": "FREQ=MINUTELY;COUNT=100000"}), "input.recurrence", "INVALID_FORMAT"),
            (json!({"customerId": foreign}), "input.customerId", "UNKNOWN_REFERENCE"),
            (json!({"locationId": other.location.to_global()}), "input.locationId", "UNKNOWN_REFERENCE"),
            (json!({"userId": other.owner.to_global()}), "input.userId", "UNKNOWN_REFERENCE"),
        ];
        for (change, field, code) in cases {
            let mut input = appointment("SITE_VISIT", &who, "2055-01-12T09:00:00Z", "2055-01-12T10:00:00Z");
            for (k, v) in change.as_object().unwrap() {
                input[k] = v.clone();
            }
            let data = schedule(&app, &t.owner_token, input).await;
            assert_eq!(user_errors(&data), vec![(field.to_owned(), code.to_owned())], "{change}: {data}");
        }
        let (status, body) = app.post(Some(&t.owner_token), SCHEDULE, json!({"input": appointment("NAP", &who, "2055-01-12T09:00:00Z", "2055-01-12T10:00:00Z")})).await;
        assert_eq!((status, error_code(&body)), (400, Some("BAD_USER_INPUT")), "{body}");
        let data = app.ok(&t.owner_token, "{ appointments(first: 1) { totalCount } }", json!({})).await;
        assert_eq!(data["appointments"]["totalCount"], 0);
        assert_eq!(events_of(&app, t.id, "scheduling.appointment.scheduled").await.len(), 0);
    }
}
