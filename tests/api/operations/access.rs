//! The role matrix of operations, scheduling and booking intake: every root query and mutation
//! they add, for every built-in role, is FORBIDDEN exactly when the README's table says the
//! role may not use it (the arguments name objects that do not exist, so an allowed call ends
//! in NOT_FOUND or `userErrors` and nothing is written).

use serde_json::{Value, json};

use crate::access::ROLES;
use crate::backend_test;
use crate::operations::jobs::sales_tenant;
use crate::support::*;

/// The roles that may use a field, as the README's Roles table gives them.
fn allowed(field: &str) -> &'static [&'static str] {
    const ALL_STAFF_BUT_CLIENT: &[&str] = &[
        "owner",
        "admin",
        "manager",
        "sales_rep",
        "dispatcher",
        "crew",
        "support_agent",
        "accountant",
        "observer",
    ];
    const PLANNERS: &[&str] = &["owner", "admin", "manager", "dispatcher"];
    const WORKERS: &[&str] = &["owner", "admin", "manager", "dispatcher", "crew"];
    const ADMINS: &[&str] = &["owner", "admin"];
    const MANAGERS: &[&str] = &["owner", "admin", "manager"];
    const TIME_OFF: &[&str] = &[
        "owner",
        "admin",
        "manager",
        "dispatcher",
        "sales_rep",
        "crew",
        "support_agent",
        "accountant",
    ];
    const APPOINTMENTS_READ: &[&str] = &[
        "owner",
        "admin",
        "manager",
        "dispatcher",
        "sales_rep",
        "crew",
        "support_agent",
        "observer",
    ];
    const APPOINTMENTS: &[&str] = &["owner", "admin", "manager", "dispatcher", "sales_rep"];
    const BOOKINGS: &[&str] = &["owner", "admin", "manager", "sales_rep", "observer"];
    const SELLERS: &[&str] = &["owner", "admin", "manager", "sales_rep"];
    const EVERYONE: &[&str] = &ROLES;
    match field {
        "jobs" | "job" | "calendar" | "operationsSettings" => ALL_STAFF_BUT_CLIENT,
        "createJob" | "updateJob" | "dispatchJob" | "cancelJob" | "addJobStep"
        | "rescheduleJob" | "assignCrew" | "unassignCrew" | "suggestCrew" => PLANNERS,
        "startJob" | "completeJob" | "recordFieldUpdate" => WORKERS,
        "updateOperationsSettings" | "setAppointmentFollowUp" => ADMINS,
        "userSkills" | "jobSkills" | "setJobSkills" => PLANNERS,
        "setUserSkills" => MANAGERS,
        "setWorkingHours"
        | "setUserWorkingHours"
        | "createQuoteTemplateItem"
        | "updateQuoteTemplateItem" => MANAGERS,
        "timeOffEntries" | "recordTimeOff" | "withdrawTimeOff" => TIME_OFF,
        "appointments" | "appointment" | "appointmentFollowUps" => APPOINTMENTS_READ,
        "scheduleAppointment" | "moveAppointment" | "completeAppointment" | "cancelAppointment" => {
            APPOINTMENTS
        }
        "bookings" | "booking" => BOOKINGS,
        "quoteTemplate" => SELLERS,
        "workingHours" | "submitBooking" => EVERYONE,
        other => panic!("no expectation for {other}"),
    }
}

backend_test! {
    async fn role_matrix_for_every_operations_scheduling_and_booking_field(app: TestApp, |c: &mut switchyard_gateway::Config| {
        // Every role tries the booking form once, from one address.
        c.domains.set(switchyard_sales::bookings::intake::LIMIT_PER_ADDRESS, "100");
    }) {
        let t = sales_tenant(&app, "matrix").await;
        let loc = t.location.to_global();
        let ghost_job = switchyard_operations::jobs::JobId::new().to_global();
        let ghost_user = switchyard_kernel::UserId::new().to_global();
        let ghost_customer = switchyard_sales::customers::CustomerId::new().to_global();
        let ghost_appointment = switchyard_scheduling::appointments::AppointmentId::new().to_global();
        let ghost_time_off = switchyard_scheduling::time_off::TimeOffId::new().to_global();
        let ghost_booking = switchyard_sales::bookings::BookingId::new().to_global();
        let ghost_template = switchyard_sales::bookings::templates::TemplateItemId::new().to_global();
        let window = json!({"s": "2055-01-12T08:00:00Z", "e": "2055-01-12T09:00:00Z"});
        let cases: Vec<(&str, &str, Value)> = vec![
            ("jobs", "{ jobs(first: 1) { totalCount } }", json!({})),
            ("job", "query($id: ID!) { job(id: $id) { id } }", json!({"id": ghost_job})),
            ("calendar", "{ calendar(from: \"2055-01-11T00:00:00Z\", to: \"2055-01-18T00:00:00Z\") { kind } }", json!({})),
            ("operationsSettings", "{ operationsSettings { version } }", json!({})),
            ("suggestCrew", "query($id: ID!) { suggestCrew(jobId: $id) { userId } }", json!({"id": ghost_job})),
            ("createJob", "mutation($c: ID!) { createJob(input: {customerId: $c}) { job { id } userErrors { code } } }", json!({"c": ghost_customer})),
            ("updateJob", "mutation($id: ID!) { updateJob(input: {id: $id, notes: \"x\"}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("dispatchJob", "mutation($id: ID!) { dispatchJob(input: {id: $id}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("startJob", "mutation($id: ID!) { startJob(input: {id: $id}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("completeJob", "mutation($id: ID!) { completeJob(input: {id: $id, actualMinutes: 60}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("cancelJob", "mutation($id: ID!) { cancelJob(input: {id: $id, reason: \"x\"}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("addJobStep", "mutation($id: ID!) { addJobStep(input: {jobId: $id, kind: LOAD}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("recordFieldUpdate", "mutation($id: ID!) { recordFieldUpdate(input: {jobId: $id, idempotencyKey: \"k\", expectedVersion: 1, note: \"x\"}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("assignCrew", "mutation($id: ID!, $u: ID!) { assignCrew(input: {jobId: $id, userId: $u}) { job { id } userErrors { code } } }", json!({"id": ghost_job, "u": ghost_user})),
            ("unassignCrew", "mutation($id: ID!) { unassignCrew(input: {id: $id}) { job { id } userErrors { code } } }", json!({"id": ghost_job})),
            ("rescheduleJob", "mutation($id: ID!, $s: DateTime!, $e: DateTime!) { rescheduleJob(input: {id: $id, plannedStart: $s, plannedEnd: $e}) { job { id } userErrors { code } } }", json!({"id": ghost_job, "s": window["s"], "e": window["e"]})),
            ("updateOperationsSettings", "mutation { updateOperationsSettings(input: {jobFollowUpDays: 70}) { userErrors { code } } }", json!({})),
            ("setAppointmentFollowUp", "mutation { setAppointmentFollowUp(kind: MEETING, days: 70) { userErrors { code } } }", json!({})),
            ("workingHours", "query($l: ID!) { workingHours(locationId: $l) { timeZone } }", json!({"l": loc})),
            ("setWorkingHours", "mutation($l: ID!) { setWorkingHours(locationId: $l, days: [{weekday: 9, starts: \"08:00\", ends: \"17:00\"}]) { userErrors { code } } }", json!({"l": loc})),
            ("setUserWorkingHours", "mutation($u: ID!) { setUserWorkingHours(userId: $u, days: []) { userErrors { code } } }", json!({"u": ghost_user})),
            ("userSkills", "query($u: ID!) { userSkills(userId: $u) }", json!({"u": ghost_user})),
            ("jobSkills", "query($j: ID!) { jobSkills(jobId: $j) }", json!({"j": ghost_job})),
            ("setUserSkills", "mutation($u: ID!) { setUserSkills(userId: $u, skills: []) { userErrors { code } } }", json!({"u": ghost_user})),
            ("setJobSkills", "mutation($j: ID!) { setJobSkills(jobId: $j, skills: []) { userErrors { code } } }", json!({"j": ghost_job})),
            ("timeOffEntries", "{ timeOffEntries(first: 1) { totalCount } }", json!({})),
            ("recordTimeOff", "mutation($u: ID!, $s: DateTime!, $e: DateTime!) { recordTimeOff(input: {userId: $u, kind: SICK, startsAt: $s, endsAt: $e}) { userErrors { code } } }", json!({"u": ghost_user, "s": window["s"], "e": window["e"]})),
            ("withdrawTimeOff", "mutation($id: ID!) { withdrawTimeOff(id: $id) { userErrors { code } } }", json!({"id": ghost_time_off})),
            ("appointments", "{ appointments(first: 1) { totalCount } }", json!({})),
            ("appointment", "query($id: ID!) { appointment(id: $id) { id } }", json!({"id": ghost_appointment})),
            ("appointmentFollowUps", "{ appointmentFollowUps { kind } }", json!({})),
            ("scheduleAppointment", "mutation($s: DateTime!, $e: DateTime!) { scheduleAppointment(input: {kind: MEETING, title: \" \", startsAt: $s, endsAt: $e}) { userErrors { code } } }", window.clone()),
            ("moveAppointment", "mutation($id: ID!, $s: DateTime!, $e: DateTime!) { moveAppointment(input: {id: $id, startsAt: $s, endsAt: $e}) { userErrors { code } } }", json!({"id": ghost_appointment, "s": window["s"], "e": window["e"]})),
            ("completeAppointment", "mutation($id: ID!) { completeAppointment(input: {id: $id}) { userErrors { code } } }", json!({"id": ghost_appointment})),
            ("cancelAppointment", "mutation($id: ID!) { cancelAppointment(input: {id: $id}) { userErrors { code } } }", json!({"id": ghost_appointment})),
            ("bookings", "{ bookings(first: 1) { totalCount } }", json!({})),
            ("booking", "query($id: ID!) { booking(id: $id) { id } }", json!({"id": ghost_booking})),
            ("quoteTemplate", "{ quoteTemplate(first: 1) { totalCount } }", json!({})),
            ("createQuoteTemplateItem", "mutation { createQuoteTemplateItem(input: {service: OTHER, description: \" \"}) { userErrors { code } } }", json!({})),
            ("updateQuoteTemplateItem", "mutation($id: ID!) { updateQuoteTemplateItem(input: {id: $id, description: \"x\"}) { userErrors { code } } }", json!({"id": ghost_template})),
            ("submitBooking", "mutation { submitBooking(input: {tenant: \"no-such-company\", lastName: \"X\", email: \"x@example.com\", moveDate: \"2055-06-01\", origin: \"a\", destination: \"b\", rooms: 2, services: [MOVING_SERVICES]}) { reference userErrors { code } } }", json!({})),
        ];
        for role in ROLES {
            let (_, token) = app.user(&t, &format!("{role}-user@matrix.example"), &[role], &[t.location]).await;
            for (field, query, variables) in &cases {
                let body = app.gql(Some(&token), query, variables.clone()).await;
                if allowed(field).contains(&role) {
                    assert_ne!(error_code(&body), Some("FORBIDDEN"), "{role} may use {field}: {body}");
                    assert_ne!(error_code(&body), Some("INTERNAL"), "{role} {field}: {body}");
                } else {
                    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{role} may not use {field}: {body}");
                    assert!(body["data"][field].is_null(), "{role} {field}: {body}");
                }
            }
        }
        // Signed out: only the booking form and nothing else.
        for (field, query, variables) in &cases {
            let body = app.gql(None, query, variables.clone()).await;
            if *field == "submitBooking" {
                assert!(body.get("errors").is_none(), "{body}");
            } else {
                assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{field}: {body}");
            }
        }
        // Nothing was written by any of it.
        let data = app.ok(&t.owner_token, "{ jobs(first: 1) { totalCount } appointments(first: 1) { totalCount } timeOffEntries(first: 1) { totalCount } quoteTemplate(first: 1) { totalCount } bookings(first: 1) { totalCount } appointmentFollowUps { kind } operationsSettings { version } }", json!({})).await;
        assert_eq!(data, json!({"jobs": {"totalCount": 0}, "appointments": {"totalCount": 0}, "timeOffEntries": {"totalCount": 0}, "quoteTemplate": {"totalCount": 0}, "bookings": {"totalCount": 0}, "appointmentFollowUps": [], "operationsSettings": {"version": 0}}));
    }
}
