//! Jobs: made from an accepted quote by itself and exactly once, by hand, through their day,
//! staffed; who sees which job; bad input.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use switchyard_identity::tenants::provision;
use switchyard_kernel::schema::outbox;
use switchyard_kernel::{TenantId, db_run};
use switchyard_sales::quotes::events::QuoteAccepted;

use crate::backend_test;
use crate::support::*;

pub(crate) const JOB: &str = "id status steps { id kind status } contactName onSitePhone origin destination plannedStart plannedEnd estimatedMinutes crewSize notes actualMinutes version items { description quantity lineTotal { amountMinor } } quotedTotal { amountMinor currency } crew { edges { node { lead user { id } } } }";

fn create_job() -> String {
    format!(
        "mutation($input: CreateJobInput!) {{ createJob(input: $input) {{ job {{ {JOB} }} userErrors {{ field code message }} }} }}"
    )
}

pub(crate) fn step(name: &str, extra: &str) -> String {
    format!(
        "mutation($id: ID!, $v: Int) {{ {name}(input: {{id: $id, expectedVersion: $v{extra}}}) {{ job {{ {JOB} }} userErrors {{ field code message }} }} }}"
    )
}

pub(crate) const ASSIGN: &str = "mutation($job: ID!, $user: ID!, $lead: Boolean! = false) { assignCrew(input: {jobId: $job, userId: $user, lead: $lead}) { job { id crew { edges { node { id lead user { id } } } } } userErrors { field code message } } }";

pub(crate) async fn sales_tenant(app: &TestApp, slug: &str) -> TestTenant {
    let t = app.tenant(slug).await;
    switchyard_sales::settings::provision(&app.services, t.id, "SEK", 2500, false, "46")
        .await
        .unwrap();
    t
}

/// A job made by hand in `location` for a new customer; returns (job, customer) IDs.
/// `day` as `2055-01-12`: planned 08:00 to 16:00 UTC.
pub(crate) async fn job_in(
    app: &TestApp,
    t: &TestTenant,
    location: switchyard_kernel::LocationId,
    day: &str,
) -> (String, String) {
    let c = customer(
        app,
        &t.owner_token,
        json!({"firstName": "Per", "lastName": "Flytt", "locationId": location.to_global()}),
    )
    .await;
    (job_for(app, t, location, &c, day).await, c)
}

/// A job made by hand in `location` for `customer`, on `day` from 08:00 to 16:00 UTC, from
/// Storgatan 1, Stockholm to Lillgatan 2, Uppsala; its ID.
pub(crate) async fn job_for(
    app: &TestApp,
    t: &TestTenant,
    location: switchyard_kernel::LocationId,
    customer: &str,
    day: &str,
) -> String {
    let data = app.ok(&t.owner_token, &create_job(), json!({"input": {
        "customerId": customer, "locationId": location.to_global(), "origin": "Storgatan 1, Stockholm",
        "destination": "Lillgatan 2, Uppsala", "plannedStart": format!("{day}T08:00:00Z"), "plannedEnd": format!("{day}T16:00:00Z"),
        "estimatedMinutes": 420, "crewSize": 2, "contactName": "Per", "onSitePhone": "+46 70 123 45 67"
    }})).await;
    assert_eq!(data["createJob"]["userErrors"], json!([]), "{data}");
    data["createJob"]["job"]["id"].as_str().unwrap().to_owned()
}

/// Jobs created in a tenant, by their events.
async fn jobs_made(app: &TestApp, tenant: TenantId) -> i64 {
    events_of(app, tenant, "operations.job.created").await.len() as i64
}

/// The payloads of a tenant's events of one type, oldest first.
pub(crate) async fn events_of(app: &TestApp, tenant: TenantId, event: &str) -> Vec<Value> {
    let mut pooled = app.services.db.read().await.unwrap();
    let mut conn = pooled.conn();
    let rows: Vec<String> = db_run!(&mut conn, |c| outbox::table
        .filter(outbox::tenant_id.eq(tenant.to_string()))
        .filter(outbox::event_type.eq(event))
        .order(outbox::id.asc())
        .select(outbox::payload)
        .load(c)
        .await)
    .unwrap();
    rows.iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect()
}

backend_test! {
    async fn an_accepted_quote_becomes_one_job_by_itself(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let c = customer(&app, &t.owner_token, json!({
            "firstName": "Kajsa", "lastName": "Ros", "phone": "070-123 45 67", "locationId": t.location.to_global(),
            "address": {"line1": "Storgatan 1", "city": "Stockholm", "postalCode": "111 22", "country": "se"}
        })).await;
        let data = app.ok(&t.owner_token, "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { quote { id } userErrors { field code } } }", json!({"input": {"customerId": c, "items": [
            {"description": "Moving crew (per hour)", "quantity": 6, "unitPriceMinor": 79500, "category": "MOVING_SERVICES"},
            {"description": "Insurance", "quantity": 1, "unitPriceMinor": 49500, "category": "INSURANCE", "optional": true}
        ]}})).await;
        let quote = data["createQuote"]["quote"]["id"].clone();
        for action in ["sendQuote", "acceptQuote"] {
            let data = app.ok(&t.owner_token, &format!("mutation($id: ID!) {{ {action}(input: {{id: $id}}) {{ userErrors {{ code message }} }} }}"), json!({"id": quote})).await;
            assert_eq!(data[action]["userErrors"], json!([]), "{data}");
        }
        // Nobody asks: the job appears.
        let mut job = Value::Null;
        for _ in 0..100 {
            let data = app.ok(&t.owner_token, &format!("{{ jobs(first: 5) {{ edges {{ node {{ {JOB} quote {{ id status }} customer {{ id }} location {{ id }} }} }} }} }}"), json!({})).await;
            if let Some(found) = data["jobs"]["edges"].as_array().and_then(|e| <[Value]>::first(e)) {
                job = found["node"].clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(job["status"], "SCHEDULED", "no job was made: {job}");
        assert_eq!(job["quote"], json!({"id": quote, "status": "CONVERTED"}));
        assert_eq!(job["customer"]["id"], json!(c));
        assert_eq!(job["location"]["id"], json!(t.location.to_global()));
        assert_eq!(job["contactName"], "Kajsa Ros");
        assert_eq!(job["onSitePhone"], "+46701234567");
        assert_eq!(job["origin"], "Storgatan 1, 111 22 Stockholm, SE");
        assert_eq!(job["plannedStart"], Value::Null, "a quote without a date leaves the job to plan");
        assert_eq!(job["items"].as_array().unwrap().len(), 2);
        assert_eq!(job["items"][0]["lineTotal"]["amountMinor"], 477000);
        // 6 × 795.00 = 4770.00 plus 25 % tax; the optional line is not in the total.
        assert_eq!(job["quotedTotal"], json!({"amountMinor": 596250, "currency": "SEK"}));
        assert_eq!(events_of(&app, t.id, "sales.quote.converted").await.len(), 1);
        assert_eq!(jobs_made(&app, t.id).await, 1);

        // The same event delivered again, twice at once (two processes): still one job.
        let accepted: QuoteAccepted = serde_json::from_value(events_of(&app, t.id, "sales.quote.accepted").await.remove(0)).unwrap();
        let (a, b) = tokio::join!(
            switchyard_operations::jobs::from_quote::make(&app.services, t.id, &accepted),
            switchyard_operations::jobs::from_quote::make(&app.services, t.id, &accepted),
        );
        assert_eq!((a.unwrap(), b.unwrap()), (None, None));
        let again = switchyard_operations::jobs::from_quote::make(&app.services, t.id, &accepted).await.unwrap();
        assert_eq!(again, None);
        let data = app.ok(&t.owner_token, "{ jobs(first: 5) { edges { node { id } } } }", json!({})).await;
        assert_eq!(data["jobs"]["edges"].as_array().unwrap().len(), 1);
        assert_eq!(jobs_made(&app, t.id).await, 1);
        assert_eq!(events_of(&app, t.id, "sales.quote.converted").await.len(), 1);
    }
}

backend_test! {
    async fn a_job_goes_through_its_day_and_completing_it_emits_job_completed(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (mate, _) = app.user(&t, "mate@acme.example", &["crew"], &[t.location]).await;
        let (rep, _) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (dispatcher, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let _ = dispatcher;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;

        // Not without a crew.
        let data = app.ok(&dispatch_token, &step("dispatchJob", ""), json!({"id": job})).await;
        assert_eq!(user_errors(&data["dispatchJob"]), vec![("input.id".to_owned(), "PRECONDITION_FAILED".to_owned())]);

        // Staffing: crew only, once each, one lead.
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": rep.to_global()})).await;
        assert_eq!(user_errors(&data["assignCrew"]), vec![("input.userId".to_owned(), "UNKNOWN_REFERENCE".to_owned())]);
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": mate.to_global(), "lead": true})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": crew.to_global(), "lead": true})).await;
        let members = data["assignCrew"]["job"]["crew"]["edges"].as_array().unwrap().clone();
        let leads: Vec<&Value> = members.iter().filter(|m| m["node"]["lead"] == true).collect();
        assert_eq!((members.len(), leads.len()), (2, 1), "{members:?}");
        assert_eq!(leads[0]["node"]["user"]["id"], json!(crew.to_global()));
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": crew.to_global()})).await;
        assert_eq!(user_errors(&data["assignCrew"]), vec![("input.userId".to_owned(), "DUPLICATE".to_owned())]);

        let data = app.ok(&dispatch_token, &step("dispatchJob", ""), json!({"id": job, "v": 1})).await;
        assert_eq!(data["dispatchJob"]["job"]["status"], "DISPATCHED", "{data}");
        let data = app.ok(&crew_token, &step("completeJob", ", actualMinutes: 300"), json!({"id": job})).await;
        assert_eq!(user_errors(&data["completeJob"]), vec![("input.id".to_owned(), "INVALID_TRANSITION".to_owned())]);
        // A stale version is a conflict; the crew member starts the job they work.
        let body = app.gql(Some(&crew_token), &step("startJob", ""), json!({"id": job, "v": 1})).await;
        assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
        let data = app.ok(&crew_token, &step("startJob", ""), json!({"id": job, "v": 2})).await;
        assert_eq!(data["startJob"]["job"]["status"], "IN_PROGRESS");
        let data = app.ok(&crew_token, &step("completeJob", ", actualMinutes: 0"), json!({"id": job})).await;
        assert_eq!(user_errors(&data["completeJob"]), vec![("input.actualMinutes".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let data = app.ok(&crew_token, &step("completeJob", ", actualMinutes: 390"), json!({"id": job})).await;
        assert_eq!(data["completeJob"]["job"]["status"], "COMPLETED");
        assert_eq!(data["completeJob"]["job"]["actualMinutes"], 390);
        let completed = events_of(&app, t.id, "operations.job.completed").await;
        assert_eq!(completed.len(), 1);
        assert_eq!(completed[0]["job"]["id"], json!(job_uuid(&job)));
        assert_eq!(completed[0]["job"]["actualMinutes"], 390);

        // Finished is finished.
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { updateJob(input: {id: $id, notes: \"late\"}) { userErrors { field code } } }", json!({"id": job})).await;
        assert_eq!(user_errors(&data["updateJob"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        let data = app.ok(&t.owner_token, &step("cancelJob", ""), json!({"id": job})).await;
        assert_eq!(user_errors(&data["cancelJob"]), vec![("input.id".to_owned(), "INVALID_TRANSITION".to_owned())]);
        let data = app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": mate.to_global()})).await;
        assert_eq!(user_errors(&data["assignCrew"]), vec![("input.jobId".to_owned(), "INVALID_STATE".to_owned())]);

        // A second job is cancelled with its reason.
        let (other, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let data = app.ok(&dispatch_token, &step("cancelJob", ", reason: \"customer moved the date\""), json!({"id": other})).await;
        assert_eq!(data["cancelJob"]["job"]["status"], "CANCELLED");
        let data = app.ok(&dispatch_token, "query($id: ID!) { job(id: $id) { cancelReason cancelledAt } }", json!({"id": other})).await;
        assert_eq!(data["job"]["cancelReason"], "customer moved the date");
    }
}

/// The UUID of a global ID (as events carry IDs).
fn job_uuid(global: &str) -> String {
    let (_, id) = switchyard_kernel::ids::decode_global(global).unwrap();
    id.to_string()
}

backend_test! {
    async fn who_sees_which_job(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let north = provision::create_location(&app.services, t.id, "North", "Europe/Stockholm").await.unwrap();
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let (rep, rep_token) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (_, client_token) = app.user(&t, "client@acme.example", &["client"], &[]).await;
        let (mine, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let (theirs, _) = job_in(&app, &t, t.location, "2055-01-13").await;
        let (up_north, _) = job_in(&app, &t, north, "2055-01-14").await;
        let rep_customer = customer(&app, &t.owner_token, json!({"firstName": "Rut", "assignedToId": rep.to_global(), "locationId": north.to_global()})).await;
        let data = app.ok(&t.owner_token, &create_job(), json!({"input": {"customerId": rep_customer, "locationId": north.to_global(), "origin": "Norra vägen 3"}})).await;
        let reps = data["createJob"]["job"]["id"].clone();
        app.ok(&t.owner_token, ASSIGN, json!({"job": mine, "user": crew.to_global()})).await;

        let ids = |data: &Value| -> Vec<Value> {
            let mut ids: Vec<Value> = data["jobs"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()).collect();
            ids.sort_by_key(|v| v.to_string());
            ids
        };
        let sorted = |mut v: Vec<Value>| { v.sort_by_key(|v| v.to_string()); v };
        let list = "{ jobs(first: 50) { edges { node { id } } } }";
        // Owner: all; dispatcher: their location; crew: the job they work; rep: their customer's.
        assert_eq!(ids(&app.ok(&t.owner_token, list, json!({})).await).len(), 4);
        assert_eq!(ids(&app.ok(&dispatch_token, list, json!({})).await), sorted(vec![json!(mine), json!(theirs)]));
        assert_eq!(ids(&app.ok(&crew_token, list, json!({})).await), vec![json!(mine)]);
        assert_eq!(ids(&app.ok(&rep_token, list, json!({})).await), vec![reps.clone()]);
        assert_eq!(error_code(&app.gql(Some(&client_token), list, json!({})).await), Some("FORBIDDEN"));

        // The crew member reads what the job needs, never the customer record.
        let data = app.ok(&crew_token, "query($id: ID!) { job(id: $id) { contactName onSitePhone origin destination } }", json!({"id": mine})).await;
        assert_eq!(data["job"]["onSitePhone"], "+46 70 123 45 67");
        let body = app.gql(Some(&crew_token), "query($id: ID!) { job(id: $id) { customer { displayName phone } } }", json!({"id": mine})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        // Another crew's job: not there, not startable.
        let body = app.gql(Some(&crew_token), "query($id: ID!) { job(id: $id) { id } }", json!({"id": theirs})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        let body = app.gql(Some(&crew_token), &step("startJob", ""), json!({"id": theirs})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        // Crew and reps neither plan nor staff.
        for token in [&crew_token, &rep_token] {
            let body = app.gql(Some(token), ASSIGN, json!({"job": mine, "user": crew.to_global()})).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
            let body = app.gql(Some(token), &step("dispatchJob", ""), json!({"id": mine})).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        }
        // A dispatcher plans only in their locations.
        let body = app.gql(Some(&dispatch_token), &step("cancelJob", ""), json!({"id": up_north})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        let c = customer(&app, &t.owner_token, json!({"firstName": "Nils", "locationId": t.location.to_global()})).await;
        let data = app.ok(&dispatch_token, &create_job(), json!({"input": {"customerId": c, "locationId": north.to_global(), "origin": "x"}})).await;
        assert_eq!(user_errors(&data["createJob"]), vec![("input.locationId".to_owned(), "NOT_ALLOWED".to_owned())]);

        // Another tenant reaches nothing.
        let b = sales_tenant(&app, "other").await;
        assert_eq!(ids(&app.ok(&b.owner_token, list, json!({})).await), Vec::<Value>::new());
        for (query, vars) in [
            ("query($id: ID!) { job(id: $id) { id } }", json!({"id": mine})),
            ("query($id: ID!) { node(id: $id) { id } }", json!({"id": mine})),
            (ASSIGN, json!({"job": mine, "user": crew.to_global()})),
            ("mutation($id: ID!, $v: Int) { startJob(input: {id: $id, expectedVersion: $v}) { job { id } } }", json!({"id": mine})),
            ("mutation($id: ID!) { updateJob(input: {id: $id, notes: \"x\"}) { job { id } } }", json!({"id": mine})),
        ] {
            let body = app.gql(Some(&b.owner_token), query, vars).await;
            let code = error_code(&body);
            assert!(code == Some("NOT_FOUND") || (body["data"]["node"].is_null() && code.is_none()), "{query}: {body}");
        }
        let body = app.gql(Some(&b.owner_token), &create_job(), json!({"input": {"customerId": rep_customer, "origin": "x"}})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "another tenant's customer: {body}");
        assert_eq!(jobs_made(&app, b.id).await, 0);
    }
}

backend_test! {
    async fn bad_job_input_is_refused_and_nothing_is_written(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let c = customer(&app, &t.owner_token, json!({"firstName": "Per"})).await;
        let data = app.ok(&t.owner_token, &create_job(), json!({"input": {
            "customerId": c, "plannedStart": "2055-01-12T16:00:00Z", "plannedEnd": "2055-01-12T08:00:00Z",
            "onSitePhone": "call me", "crewSize": 0, "estimatedMinutes": -5, "contactName": "x".repeat(201)
        }})).await;
        assert_eq!(user_errors(&data["createJob"]), vec![
            ("input.origin".to_owned(), "REQUIRED".to_owned()),
            ("input.contactName".to_owned(), "TOO_LONG".to_owned()),
            ("input.onSitePhone".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.plannedEnd".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.estimatedMinutes".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.crewSize".to_owned(), "OUT_OF_RANGE".to_owned()),
        ]);
        let data = app.ok(&t.owner_token, &create_job(), json!({"input": {"customerId": c, "origin": "x", "plannedStart": "2055-01-12T16:00:00Z"}})).await;
        assert_eq!(user_errors(&data["createJob"]), vec![("input.plannedEnd".to_owned(), "REQUIRED".to_owned())]);
        for bad in [json!("not-an-id"), json!(t.location.to_global())] {
            let body = app.gql(Some(&t.owner_token), &create_job(), json!({"input": {"customerId": bad, "origin": "x"}})).await;
            assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        }
        let (status, body) = app.post(Some(&t.owner_token), &create_job(), json!({"input": {"customerId": c, "origin": "x", "plannedStart": "yesterday", "plannedEnd": "2055-01-12T16:00:00Z"}})).await;
        assert_eq!((status, error_code(&body)), (400, Some("BAD_USER_INPUT")), "{body}");
        assert_eq!(jobs_made(&app, t.id).await, 0);
        let data = app.ok(&t.owner_token, "{ jobs(first: 5) { edges { node { id } } } }", json!({})).await;
        assert_eq!(data["jobs"]["edges"], json!([]));
    }
}

const RECORD: &str = "mutation($input: RecordFieldUpdateInput!) { recordFieldUpdate(input: $input) { fieldUpdate { id status stepStatus note position { latitude longitude accuracyMeters } attachments { kind reference } author { id } } job { id status version steps { id kind status startedAt } } userErrors { field code message } } }";

backend_test! {
    async fn a_phone_replaying_its_queue_changes_the_job_once(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (_, other_token) = app.user(&t, "other@acme.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": crew.to_global(), "lead": true})).await;
        for kind in ["LOAD", "DRIVE"] {
            let data = app.ok(&dispatch_token, "mutation($job: ID!, $kind: StepKind!) { addJobStep(input: {jobId: $job, kind: $kind}) { job { steps { position } } userErrors { code } } }", json!({"job": job, "kind": kind})).await;
            assert_eq!(data["addJobStep"]["userErrors"], json!([]), "{data}");
        }
        let body = app.gql(Some(&crew_token), "mutation($job: ID!) { addJobStep(input: {jobId: $job, kind: OTHER}) { job { id } } }", json!({"job": job})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "the crew works the plan, it does not make it");
        let data = app.ok(&dispatch_token, &step("dispatchJob", ""), json!({"id": job})).await;
        let version = data["dispatchJob"]["job"]["version"].as_i64().unwrap();
        let steps = data["dispatchJob"]["job"]["steps"].as_array().unwrap().clone();
        assert_eq!(steps.len(), 2);
        let load = steps[0]["id"].clone();
        assert_eq!(steps[0]["kind"], "LOAD");

        // Started on site, with a photo and a position: once, however often the phone sends it.
        let start = json!({"input": {"jobId": job, "idempotencyKey": "phone-1", "expectedVersion": version, "status": "IN_PROGRESS",
            "note": " Arrived, stairs are narrow ", "position": {"latitude": 59.33, "longitude": 18.06, "accuracyMeters": 12.5},
            "attachments": [{"kind": "PHOTO", "reference": "uploads/abc.jpg"}]}});
        let first = app.ok(&crew_token, RECORD, start.clone()).await["recordFieldUpdate"].clone();
        assert_eq!(first["userErrors"], json!([]), "{first}");
        assert_eq!(first["job"]["status"], "IN_PROGRESS");
        assert_eq!(first["fieldUpdate"]["note"], "Arrived, stairs are narrow");
        assert_eq!(first["fieldUpdate"]["position"], json!({"latitude": 59.33, "longitude": 18.06, "accuracyMeters": 12.5}));
        assert_eq!(first["fieldUpdate"]["attachments"], json!([{"kind": "PHOTO", "reference": "uploads/abc.jpg"}]));
        assert_eq!(first["fieldUpdate"]["author"]["id"], json!(crew.to_global()));
        let started = first["job"]["version"].as_i64().unwrap();
        assert_eq!(started, version + 1);
        let again = app.ok(&crew_token, RECORD, start.clone()).await["recordFieldUpdate"].clone();
        assert_eq!(again["userErrors"], json!([]));
        assert_eq!(again["fieldUpdate"]["id"], first["fieldUpdate"]["id"]);
        assert_eq!(again["job"]["version"], started, "a replay changes nothing");

        // A change made on a stale view: CONFLICT with the job as it is now, nothing written.
        let stale = app.ok(&crew_token, RECORD, json!({"input": {"jobId": job, "idempotencyKey": "phone-2", "expectedVersion": version, "stepId": load, "stepStatus": "DONE"}})).await["recordFieldUpdate"].clone();
        assert_eq!(user_errors(&stale), vec![("input.expectedVersion".to_owned(), "CONFLICT".to_owned())]);
        assert_eq!(stale["job"]["version"], started);
        assert_eq!(stale["job"]["steps"][0]["status"], "PENDING");
        assert_eq!(stale["fieldUpdate"], Value::Null);
        // A note needs no fresh view.
        let note = app.ok(&crew_token, RECORD, json!({"input": {"jobId": job, "idempotencyKey": "phone-3", "expectedVersion": version, "note": "Customer asks for a call"}})).await["recordFieldUpdate"].clone();
        assert_eq!(note["userErrors"], json!([]));
        assert_eq!(note["job"]["version"], started);
        // The step, on the current version, moves and counts the job's version up.
        let moved = app.ok(&crew_token, RECORD, json!({"input": {"jobId": job, "idempotencyKey": "phone-4", "expectedVersion": started, "stepId": load, "stepStatus": "IN_PROGRESS"}})).await["recordFieldUpdate"].clone();
        assert_eq!(moved["userErrors"], json!([]), "{moved}");
        assert_eq!(moved["job"]["steps"][0]["status"], "IN_PROGRESS");
        assert_eq!(moved["job"]["version"], started + 1);
        // The first report, replayed late, still answers as it did.
        let late = app.ok(&crew_token, RECORD, start).await["recordFieldUpdate"].clone();
        assert_eq!(late["fieldUpdate"]["id"], first["fieldUpdate"]["id"]);
        assert_eq!(late["userErrors"], json!([]));

        // Bad reports: named, refused, nothing written.
        let bad = app.ok(&crew_token, RECORD, json!({"input": {"jobId": job, "idempotencyKey": "phone-5", "expectedVersion": started + 1, "status": "CANCELLED",
            "position": {"latitude": 100.0, "longitude": 0.0}, "attachments": [{"kind": "SIGNATURE", "reference": "a\nb"}], "recordedAt": "2099-01-01T00:00:00Z"}})).await["recordFieldUpdate"].clone();
        assert_eq!(user_errors(&bad), vec![
            ("input.recordedAt".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.status".to_owned(), "NOT_ALLOWED".to_owned()),
            ("input.position.latitude".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.attachments.0.reference".to_owned(), "INVALID_FORMAT".to_owned()),
        ]);
        let empty = app.ok(&crew_token, RECORD, json!({"input": {"jobId": job, "idempotencyKey": "phone-6", "expectedVersion": 1}})).await["recordFieldUpdate"].clone();
        assert_eq!(user_errors(&empty), vec![("input".to_owned(), "REQUIRED".to_owned())]);
        let unfinished = app.ok(&crew_token, RECORD, json!({"input": {"jobId": job, "idempotencyKey": "phone-7", "expectedVersion": started + 1, "status": "COMPLETED"}})).await["recordFieldUpdate"].clone();
        assert_eq!(user_errors(&unfinished), vec![("input.actualMinutes".to_owned(), "REQUIRED".to_owned())]);
        // Not their job: not found.
        let body = app.gql(Some(&other_token), RECORD, json!({"input": {"jobId": job, "idempotencyKey": "x", "expectedVersion": 1, "note": "hi"}})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");

        let data = app.ok(&dispatch_token, "query($id: ID!) { job(id: $id) { version fieldUpdates(first: 10) { edges { node { note status stepStatus } } } } }", json!({"id": job})).await;
        let updates: Vec<Value> = data["job"]["fieldUpdates"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
        assert_eq!(updates, vec![
            json!({"note": null, "status": null, "stepStatus": "IN_PROGRESS"}),
            json!({"note": "Customer asks for a call", "status": null, "stepStatus": null}),
            json!({"note": "Arrived, stairs are narrow", "status": "IN_PROGRESS", "stepStatus": null}),
        ]);
        assert_eq!(data["job"]["version"], started + 1);
        assert_eq!(events_of(&app, t.id, "operations.field_update.recorded").await.len(), 3);
    }
}

backend_test! {
    async fn a_completed_job_raises_the_configured_follow_up_once(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let settings = "mutation($title: String, $days: Int) { updateOperationsSettings(input: {jobFollowUp: $title, jobFollowUpDays: $days}) { settings { jobFollowUp jobFollowUpDays version } userErrors { field code } } }";
        let body = app.gql(Some(&dispatch_token), settings, json!({"title": "Satisfaction call"})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        let data = app.ok(&t.owner_token, settings, json!({"title": "Satisfaction call", "days": 99})).await;
        assert_eq!(user_errors(&data["updateOperationsSettings"]), vec![("input.jobFollowUpDays".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let data = app.ok(&t.owner_token, settings, json!({"title": " Satisfaction call ", "days": 2})).await;
        assert_eq!(data["updateOperationsSettings"]["settings"], json!({"jobFollowUp": "Satisfaction call", "jobFollowUpDays": 2, "version": 1}));

        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        app.ok(&dispatch_token, ASSIGN, json!({"job": job, "user": crew.to_global()})).await;
        app.ok(&crew_token, &step("startJob", ""), json!({"id": job})).await;
        let data = app.ok(&crew_token, &step("completeJob", ", actualMinutes: 400"), json!({"id": job})).await;
        assert_eq!(data["completeJob"]["job"]["status"], "COMPLETED");
        let query = "query($id: ID!) { job(id: $id) { followUpTask { title kind status queue dueAt customer { id } } } }";
        let mut task = Value::Null;
        for _ in 0..100 {
            task = app.ok(&t.owner_token, query, json!({"id": job})).await["job"]["followUpTask"].clone();
            if !task.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(task["title"], "Satisfaction call", "no follow-up: {task}");
        assert_eq!((task["kind"].as_str(), task["status"].as_str(), task["queue"].as_str()), (Some("FOLLOW_UP"), Some("OPEN"), Some("ACCOUNT_MANAGEMENT")));
        // Delivered again: still one task.
        let completed: switchyard_operations::jobs::events::JobCompleted = serde_json::from_value(events_of(&app, t.id, "operations.job.completed").await.remove(0)).unwrap();
        let again = switchyard_operations::jobs::follow_up::raise(&app.services, t.id, &completed).await.unwrap();
        assert_eq!(again, None);
        assert_eq!(events_of(&app, t.id, "sales.task.created").await.len(), 1);
        // The crew member sees the job, not the sales task.
        let body = app.gql(Some(&crew_token), query, json!({"id": job})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
}
