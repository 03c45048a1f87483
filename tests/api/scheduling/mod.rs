//! Scheduling: conflicts when staffing and planning jobs (double bookings, time off, working
//! hours across daylight-saving changes), overrides, and the calendar.

use serde_json::{Value, json};

mod appointments;
mod live;

use crate::backend_test;
use crate::operations::jobs::{ASSIGN, events_of, job_in, sales_tenant};
use crate::support::*;

const STAFF: &str = "mutation($job: ID!, $user: ID!, $reason: String!) { assignCrew(input: {jobId: $job, userId: $user, override: {reason: $reason}}) { job { id } conflicts { kind userId entryId startsAt endsAt message } userErrors { field code message } } }";
const STAFF_PLAIN: &str = "mutation($job: ID!, $user: ID!) { assignCrew(input: {jobId: $job, userId: $user}) { job { id crew { edges { node { id } } } } conflicts { kind userId entryId message } userErrors { field code message } } }";
const RESCHEDULE: &str = "mutation($id: ID!, $start: DateTime!, $end: DateTime!) { rescheduleJob(input: {id: $id, plannedStart: $start, plannedEnd: $end}) { job { plannedStart plannedEnd version } conflicts { kind message } userErrors { field code message } } }";
const TIME_OFF: &str = "mutation($user: ID!, $kind: TimeOffKind!, $start: DateTime!, $end: DateTime!) { recordTimeOff(input: {userId: $user, kind: $kind, startsAt: $start, endsAt: $end}) { timeOff { id kind } userErrors { field code message } } }";
pub(crate) const HOURS: &str = "mutation($location: ID!, $days: [WorkingDayInput!]!) { setWorkingHours(locationId: $location, days: $days) { saved userErrors { field code message } } }";

pub(crate) fn weekdays(starts: &str, ends: &str) -> Value {
    json!(
        (1..=5)
            .map(|d| json!({"weekday": d, "starts": starts, "ends": ends}))
            .collect::<Vec<_>>()
    )
}

pub(crate) fn kinds(payload: &Value) -> Vec<String> {
    payload["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_owned())
        .collect()
}

backend_test! {
    async fn staffing_refuses_every_conflict_and_an_override_is_kept(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (other, _) = app.user(&t, "other@acme.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let (_, manager_token) = app.user(&t, "manager@acme.example", &["manager"], &[t.location]).await;
        let data = app.ok(&manager_token, HOURS, json!({"location": t.location.to_global(), "days": weekdays("07:00", "18:00")})).await;
        assert_eq!(data["setWorkingHours"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&crew_token, "query($l: ID!) { workingHours(locationId: $l) { timeZone days { weekday starts ends } } }", json!({"l": t.location.to_global()})).await;
        assert_eq!(data["workingHours"]["timeZone"], "Europe/Stockholm");
        assert_eq!(data["workingHours"]["days"][4], json!({"weekday": 5, "starts": "07:00", "ends": "18:00"}));

        // Tuesday 12 January 2055, 09:00-17:00 in Stockholm.
        let (first, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let data = app.ok(&dispatch_token, STAFF_PLAIN, json!({"job": first, "user": crew.to_global()})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        // The crew member records an evening off himself.
        let data = app.ok(&crew_token, TIME_OFF, json!({"user": crew.to_global(), "kind": "VACATION", "start": "2055-01-12T18:00:00Z", "end": "2055-01-12T23:00:00Z"})).await;
        let away = data["recordTimeOff"]["timeOff"]["id"].clone();
        assert_eq!(data["recordTimeOff"]["userErrors"], json!([]), "{data}");
        // A second job 13:00-21:00 local: on the first job, away, and past closing time.
        let (second, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let data = app.ok(&t.owner_token, RESCHEDULE, json!({"id": second, "start": "2055-01-12T12:00:00Z", "end": "2055-01-12T20:00:00Z"})).await;
        assert_eq!(data["rescheduleJob"]["userErrors"], json!([]), "nobody on it yet, but the hours: {data}");
        let data = app.ok(&dispatch_token, STAFF_PLAIN, json!({"job": second, "user": crew.to_global()})).await;
        let refused = &data["assignCrew"];
        assert_eq!(kinds(refused), vec!["DOUBLE_BOOKED", "TIME_OFF", "OUTSIDE_WORKING_HOURS"], "{refused}");
        assert_eq!(refused["conflicts"][0]["entryId"], json!(first));
        assert_eq!(refused["conflicts"][1]["entryId"], away);
        assert_eq!(refused["conflicts"][0]["userId"], json!(crew.to_global()));
        assert_eq!(user_errors(refused).len(), 3);
        assert!(user_errors(refused).iter().all(|(f, c)| f == "input.userId" && c == "UNAVAILABLE"));
        assert_eq!(refused["job"], Value::Null);
        // A dispatcher may not override; a manager may, with a reason, which is kept.
        let data = app.ok(&dispatch_token, STAFF, json!({"job": second, "user": crew.to_global(), "reason": "customer insists"})).await;
        assert_eq!(user_errors(&data["assignCrew"]), vec![("input.override".to_owned(), "NOT_ALLOWED".to_owned())]);
        let data = app.ok(&manager_token, STAFF, json!({"job": second, "user": crew.to_global(), "reason": "  "})).await;
        assert_eq!(user_errors(&data["assignCrew"]), vec![("input.override.reason".to_owned(), "REQUIRED".to_owned())]);
        let crew_of_second = app.ok(&t.owner_token, "query($id: ID!) { job(id: $id) { crew { edges { node { id } } } } }", json!({"id": second})).await;
        assert_eq!(crew_of_second["job"]["crew"]["edges"], json!([]), "nothing written while refused");
        let data = app.ok(&manager_token, STAFF, json!({"job": second, "user": crew.to_global(), "reason": "customer insists; overtime agreed"})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        assert_eq!(kinds(&data["assignCrew"]).len(), 3);
        let overrides = events_of(&app, t.id, "scheduling.conflict.overridden").await;
        assert_eq!(overrides.len(), 1);
        assert_eq!(overrides[0]["reason"], "customer insists; overtime agreed");
        assert_eq!(overrides[0]["conflicts"].as_array().unwrap().len(), 3);

        // Moving the first job into the evening off: refused, nothing moved.
        let data = app.ok(&dispatch_token, RESCHEDULE, json!({"id": first, "start": "2055-01-12T17:00:00Z", "end": "2055-01-12T18:30:00Z"})).await;
        assert_eq!(kinds(&data["rescheduleJob"]), vec!["DOUBLE_BOOKED", "TIME_OFF", "OUTSIDE_WORKING_HOURS"], "{data}");
        assert_eq!(data["rescheduleJob"]["job"], Value::Null);
        let data = app.ok(&dispatch_token, RESCHEDULE, json!({"id": first, "start": "2055-01-13T07:00:00Z", "end": "2055-01-13T15:00:00Z"})).await;
        assert_eq!(data["rescheduleJob"]["userErrors"], json!([]), "{data}");
        assert_eq!(data["rescheduleJob"]["job"]["plannedStart"], "2055-01-13T07:00:00+00:00");

        // Working hours are local: the same UTC window is out of hours before the change to
        // summer time (Friday 26 March 2055, 06:30 local) and within them after (Monday 29).
        let (winter, _) = job_in(&app, &t, t.location, "2055-03-26").await;
        app.ok(&t.owner_token, RESCHEDULE, json!({"id": winter, "start": "2055-03-26T05:30:00Z", "end": "2055-03-26T15:00:00Z"})).await;
        let data = app.ok(&dispatch_token, STAFF_PLAIN, json!({"job": winter, "user": other.to_global()})).await;
        assert_eq!(kinds(&data["assignCrew"]), vec!["OUTSIDE_WORKING_HOURS"], "{data}");
        assert!(data["assignCrew"]["conflicts"][0]["message"].as_str().unwrap().contains("06:30"), "{data}");
        let (summer, _) = job_in(&app, &t, t.location, "2055-03-29").await;
        app.ok(&t.owner_token, RESCHEDULE, json!({"id": summer, "start": "2055-03-29T05:30:00Z", "end": "2055-03-29T15:00:00Z"})).await;
        let data = app.ok(&dispatch_token, STAFF_PLAIN, json!({"job": summer, "user": other.to_global()})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        // A Saturday is no working day.
        let (saturday, _) = job_in(&app, &t, t.location, "2055-01-16").await;
        let data = app.ok(&dispatch_token, STAFF_PLAIN, json!({"job": saturday, "user": other.to_global()})).await;
        assert_eq!(kinds(&data["assignCrew"]), vec!["OUTSIDE_WORKING_HOURS"]);
    }
}

backend_test! {
    async fn bad_schedule_input_is_refused(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (mate, _) = app.user(&t, "mate@acme.example", &["crew"], &[t.location]).await;
        let data = app.ok(&t.owner_token, HOURS, json!({"location": t.location.to_global(), "days": [
            {"weekday": 8, "starts": "08:00", "ends": "17:00"},
            {"weekday": 1, "starts": "25:00", "ends": "17:00"},
            {"weekday": 2, "starts": "17:00", "ends": "08:00"},
            {"weekday": 2, "starts": "08:00", "ends": "17:00"}
        ]})).await;
        assert_eq!(user_errors(&data["setWorkingHours"]), vec![
            ("days.0.weekday".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("days.1.starts".to_owned(), "INVALID_FORMAT".to_owned()),
            ("days.2.ends".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("days.3.weekday".to_owned(), "DUPLICATE".to_owned()),
        ]);
        let body = app.gql(Some(&crew_token), HOURS, json!({"location": t.location.to_global(), "days": []})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        let data = app.ok(&crew_token, TIME_OFF, json!({"user": crew.to_global(), "kind": "SICK", "start": "2055-01-12T18:00:00Z", "end": "2055-01-12T08:00:00Z"})).await;
        assert_eq!(user_errors(&data["recordTimeOff"]), vec![("input.endsAt".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let data = app.ok(&crew_token, TIME_OFF, json!({"user": mate.to_global(), "kind": "SICK", "start": "2055-01-12T08:00:00Z", "end": "2055-01-12T18:00:00Z"})).await;
        assert_eq!(user_errors(&data["recordTimeOff"]), vec![("input.userId".to_owned(), "NOT_ALLOWED".to_owned())]);
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let data = app.ok(&t.owner_token, RESCHEDULE, json!({"id": job, "start": "2055-01-12T18:00:00Z", "end": "2055-01-12T08:00:00Z"})).await;
        assert_eq!(user_errors(&data["rescheduleJob"]), vec![("input.plannedEnd".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let body = app.gql(Some(&t.owner_token), "{ calendar(from: \"2055-01-12T00:00:00Z\", to: \"2055-01-11T00:00:00Z\") { kind } }", json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        let body = app.gql(Some(&t.owner_token), "{ calendar(from: \"2055-01-01T00:00:00Z\", to: \"2055-06-01T00:00:00Z\") { kind } }", json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        let _ = ASSIGN;
    }
}

const WEEK: &str = "query($l: ID, $u: ID) { calendar(from: \"2055-01-11T00:00:00Z\", to: \"2055-01-18T00:00:00Z\", locationId: $l, userId: $u) { kind startsAt endsAt job { id status contactName origin customer { displayName } crew { edges { node { lead user { name } } } } steps { kind status } } timeOff { kind user { name } } } }";

backend_test! {
    async fn the_week_view_costs_the_same_statements_for_any_number_of_entries(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let mut crew = Vec::new();
        for i in 0..3 {
            crew.push(app.user(&t, &format!("crew{i}@acme.example"), &["crew"], &[t.location]).await);
        }
        let add_jobs = async |days: std::ops::Range<u32>| {
            for day in days {
                let (job, _) = job_in(&app, &t, t.location, &format!("2055-01-{:02}", 11 + day % 5)).await;
                let who = &crew[(day % 3) as usize].0;
                app.ok(&t.owner_token, "mutation($job: ID!) { addJobStep(input: {jobId: $job, kind: LOAD}) { userErrors { code } } }", json!({"job": job})).await;
                // The same person on two jobs a day is a conflict: the owner overrides.
                app.ok(&t.owner_token, STAFF, json!({"job": job, "user": who.to_global(), "reason": "test week"})).await;
            }
        };
        add_jobs(0..4).await;
        app.ok(&crew[0].1, TIME_OFF, json!({"user": crew[0].0.to_global(), "kind": "TRAINING", "start": "2055-01-15T12:00:00Z", "end": "2055-01-15T16:00:00Z"})).await;
        let vars = json!({"l": t.location.to_global()});
        app.ok(&t.owner_token, WEEK, vars.clone()).await;
        settle_events(&app).await;
        let before = statements(&app);
        let small = app.ok(&t.owner_token, WEEK, vars.clone()).await;
        let small_cost = statements(&app) - before;
        add_jobs(4..20).await;
        settle_events(&app).await;
        let before = statements(&app);
        let large = app.ok(&t.owner_token, WEEK, vars.clone()).await;
        let large_cost = statements(&app) - before;
        assert_eq!(small["calendar"].as_array().unwrap().len(), 5);
        assert_eq!(large["calendar"].as_array().unwrap().len(), 21);
        assert_eq!(small_cost, large_cost, "statements for 5 entries: {small_cost}, for 21: {large_cost}");
        // The caller's rights, jobs, appointments, time off, customers, crews, steps, the
        // crews' users, the time off's users.
        assert_eq!(large_cost, 9, "{large_cost} statements");
        let entries = large["calendar"].as_array().unwrap();
        assert!(entries.windows(2).all(|w| w[0]["startsAt"].as_str() <= w[1]["startsAt"].as_str()), "in time order");
        let away = entries.iter().find(|e| e["kind"] == "TIME_OFF").unwrap();
        assert_eq!(away["timeOff"]["kind"], "TRAINING");
        assert_eq!(entries[0]["job"]["steps"], json!([{"kind": "LOAD", "status": "PENDING"}]));

        // A crew member's calendar: their jobs and their own time off; the customer record is
        // not theirs to read, the job's on-site contact is.
        let mine = app.gql(Some(&crew[1].1), &WEEK.replace("customer { displayName } ", ""), json!({"l": t.location.to_global()})).await;
        let mine = mine["data"]["calendar"].as_array().unwrap().clone();
        assert_eq!(mine.len(), 7, "days 1, 4, 7, ... of 20 fall to crew 1");
        assert!(mine.iter().all(|e| e["kind"] == "JOB" && e["job"]["crew"]["edges"][0]["node"]["user"]["name"] == "User crew1@acme.example"));
        let body = app.gql(Some(&crew[1].1), WEEK, json!({"l": t.location.to_global()})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "Job.customer needs sales.customer:read");
        let theirs = app.ok(&t.owner_token, WEEK, json!({"u": crew[0].0.to_global()})).await;
        assert_eq!(theirs["calendar"].as_array().unwrap().len(), 7 + 1);
        // A crew's calendar: the entries of any of its people.
        let crew_week = WEEK.replace("$u: ID)", "$u: ID, $us: [ID!])").replace("userId: $u)", "userId: $u, userIds: $us)");
        let two = app.ok(&t.owner_token, &crew_week, json!({"us": [crew[0].0.to_global(), crew[1].0.to_global()]})).await;
        assert_eq!(two["calendar"].as_array().unwrap().len(), 7 + 7 + 1, "{two}");

        // Another tenant sees an empty week, even naming our location.
        let b = sales_tenant(&app, "other").await;
        let data = app.ok(&b.owner_token, WEEK, vars).await;
        assert_eq!(data["calendar"], json!([]));
    }
}

backend_test! {
    async fn crew_are_suggested_free_first_then_least_busy(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let north = switchyard_identity::tenants::provision::create_location(&app.services, t.id, "North", "Europe/Stockholm").await.unwrap();
        let (busy, busy_token) = app.user(&t, "busy@acme.example", &["crew"], &[t.location]).await;
        let (loaded, _) = app.user(&t, "loaded@acme.example", &["crew"], &[t.location]).await;
        let (free, _) = app.user(&t, "free@acme.example", &["crew"], &[t.location]).await;
        app.user(&t, "far@acme.example", &["crew"], &[north]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let (same_day, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let (two_days_on, _) = job_in(&app, &t, t.location, "2055-01-14").await;
        app.ok(&t.owner_token, STAFF_PLAIN, json!({"job": same_day, "user": busy.to_global()})).await;
        app.ok(&t.owner_token, STAFF_PLAIN, json!({"job": two_days_on, "user": loaded.to_global()})).await;
        let query = "query($job: ID!) { suggestCrew(jobId: $job) { userId name score available reasons conflicts { kind entryId } } }";
        let data = app.ok(&t.owner_token, query, json!({"job": job})).await;
        let ranked = data["suggestCrew"].as_array().unwrap();
        let order: Vec<&Value> = ranked.iter().map(|s| &s["userId"]).collect();
        assert_eq!(order, vec![&json!(free.to_global()), &json!(loaded.to_global()), &json!(busy.to_global())], "{data}");
        assert_eq!((ranked[0]["score"].as_i64(), ranked[0]["available"].as_bool()), (Some(100), Some(true)));
        assert_eq!(ranked[1]["score"], 90);
        assert_eq!(ranked[2]["available"], false);
        assert_eq!(ranked[2]["conflicts"], json!([{"kind": "DOUBLE_BOOKED", "entryId": same_day}]));
        // Once on the crew, not suggested again.
        app.ok(&t.owner_token, STAFF_PLAIN, json!({"job": job, "user": free.to_global()})).await;
        let data = app.ok(&t.owner_token, query, json!({"job": job})).await;
        assert_eq!(data["suggestCrew"].as_array().unwrap().len(), 2);
        let body = app.gql(Some(&busy_token), query, json!({"job": job})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
    }
}

backend_test! {
    async fn crew_with_the_skills_a_job_needs_rank_first(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (_, manager_token) = app.user(&t, "manager@acme.example", &["manager"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let (plain, _) = app.user(&t, "plain@acme.example", &["crew"], &[t.location]).await;
        let (mover, _) = app.user(&t, "mover@acme.example", &["crew"], &[t.location]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let data = app.ok(&manager_token, "mutation($u: ID!) { setUserSkills(userId: $u, skills: [\"piano\", \"PACKING\", \"piano\"]) { skills userErrors { field code } } }", json!({"u": mover.to_global()})).await;
        assert_eq!(data["setUserSkills"]["skills"], json!(["PACKING", "PIANO"]), "{data}");
        let data = app.ok(&dispatch_token, "mutation($j: ID!) { setJobSkills(jobId: $j, skills: [\"PIANO\", \"bad skill!\"]) { skills userErrors { field code } } }", json!({"j": job})).await;
        assert_eq!(user_errors(&data["setJobSkills"]), vec![("skills.1".to_owned(), "INVALID_FORMAT".to_owned())]);
        let data = app.ok(&dispatch_token, "mutation($j: ID!) { setJobSkills(jobId: $j, skills: [\"PIANO\"]) { skills userErrors { field code } } }", json!({"j": job})).await;
        assert_eq!(data["setJobSkills"]["skills"], json!(["PIANO"]));
        // A dispatcher does not set people's skills.
        let body = app.gql(Some(&dispatch_token), "mutation($u: ID!) { setUserSkills(userId: $u, skills: []) { skills } }", json!({"u": plain.to_global()})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        let data = app.ok(&dispatch_token, "query($job: ID!) { suggestCrew(jobId: $job) { userId score reasons } }", json!({"job": job})).await;
        let ranked = data["suggestCrew"].as_array().unwrap();
        assert_eq!(ranked[0]["userId"], json!(mover.to_global()), "{data}");
        assert_eq!((ranked[0]["score"].as_i64(), ranked[1]["score"].as_i64()), (Some(115), Some(60)));
        assert!(ranked[0]["reasons"].as_array().unwrap().contains(&json!("has PIANO")));
        assert!(ranked[1]["reasons"].as_array().unwrap().contains(&json!("lacks PIANO, which the job needs")));
    }
}

backend_test! {
    async fn crew_of_nearby_locations_are_suggested_by_distance(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let place = async |location: switchyard_kernel::LocationId, city: &str, lat: f64, lon: f64| {
            let data = app.ok(&t.owner_token, "mutation($id: ID!, $a: AddressInput!) { updateLocation(input: {id: $id, address: $a}) { userErrors { field code } } }",
                json!({"id": location.to_global(), "a": {"line1": "Depot 1", "city": city, "postalCode": "111 11", "country": "SE", "latitude": lat, "longitude": lon}})).await;
            assert_eq!(data["updateLocation"]["userErrors"], json!([]), "{data}");
        };
        let provision = |name: &'static str| switchyard_identity::tenants::provision::create_location(&app.services, t.id, name, "Europe/Stockholm");
        let uppsala = provision("Uppsala").await.unwrap();
        let gothenburg = provision("Gothenburg").await.unwrap();
        place(t.location, "Stockholm", 59.3293, 18.0686).await;
        place(uppsala, "Uppsala", 59.8586, 17.6389).await;
        place(gothenburg, "Gothenburg", 57.7089, 11.9746).await;
        let (here, _) = app.user(&t, "here@acme.example", &["crew"], &[t.location]).await;
        let (near, _) = app.user(&t, "near@acme.example", &["crew"], &[uppsala]).await;
        app.user(&t, "far@acme.example", &["crew"], &[gothenburg]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let data = app.ok(&t.owner_token, "query($job: ID!) { suggestCrew(jobId: $job) { userId score reasons } }", json!({"job": job})).await;
        let ranked = data["suggestCrew"].as_array().unwrap();
        assert_eq!(ranked.len(), 2, "Gothenburg is over 100 km away: {data}");
        assert_eq!((ranked[0]["userId"].clone(), ranked[0]["score"].as_i64()), (json!(here.to_global()), Some(100)));
        assert_eq!((ranked[1]["userId"].clone(), ranked[1]["score"].as_i64()), (json!(near.to_global()), Some(87)), "{data}");
        assert!(ranked[1]["reasons"].as_array().unwrap().contains(&json!("based at Uppsala, 64 km from the job's location")), "{data}");
        // A position needs both coordinates, in range.
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { updateLocation(input: {id: $id, address: {line1: \"x\", city: \"y\", postalCode: \"1\", country: \"SE\", latitude: 91}}) { userErrors { field code } } }", json!({"id": uppsala.to_global()})).await;
        assert_eq!(user_errors(&data["updateLocation"]), vec![("input.address.latitude".to_owned(), "REQUIRED".to_owned())]);
    }
}

backend_test! {
    async fn a_rescheduled_job_keeps_its_crew_busy_at_its_new_time_only(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (crew, _) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (moved, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let (same_day, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let (next_week, _) = job_in(&app, &t, t.location, "2055-01-19").await;
        app.ok(&t.owner_token, STAFF_PLAIN, json!({"job": moved, "user": crew.to_global()})).await;
        let data = app.ok(&t.owner_token, RESCHEDULE, json!({"id": moved, "start": "2055-01-19T08:00:00Z", "end": "2055-01-19T12:00:00Z"})).await;
        assert_eq!(data["rescheduleJob"]["userErrors"], json!([]), "{data}");
        // Free on the 12th now, busy on the 19th.
        let data = app.ok(&t.owner_token, STAFF_PLAIN, json!({"job": next_week, "user": crew.to_global()})).await;
        assert_eq!(kinds(&data["assignCrew"]), vec!["DOUBLE_BOOKED"], "{data}");
        assert_eq!(data["assignCrew"]["conflicts"][0]["entryId"], json!(moved));
        let data = app.ok(&t.owner_token, STAFF_PLAIN, json!({"job": same_day, "user": crew.to_global()})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        // A window longer than two weeks is refused.
        let data = app.ok(&t.owner_token, RESCHEDULE, json!({"id": moved, "start": "2055-01-19T08:00:00Z", "end": "2055-02-03T08:00:00Z"})).await;
        assert_eq!(user_errors(&data["rescheduleJob"]), vec![("input.plannedEnd".to_owned(), "OUT_OF_RANGE".to_owned())]);
    }
}
