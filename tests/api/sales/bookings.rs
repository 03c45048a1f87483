//! Booking intake: the public booking form becomes a customer, a lead, a drafted quote and a
//! call-back task in one transaction, and the job made from its quote lands on the moving day;
//! the form is bounded and rate-limited and tells nothing but a reference.

use std::time::Duration;

use serde_json::{Value, json};

use crate::backend_test;
use crate::operations::jobs::sales_tenant;
use crate::support::*;

const SUBMIT: &str = "mutation($input: SubmitBookingInput!) { submitBooking(input: $input) { reference userErrors { field code message } } }";
const TEMPLATE: &str = "mutation($input: CreateQuoteTemplateItemInput!) { createQuoteTemplateItem(input: $input) { quoteTemplateItem { id service basis quantity unitPrice { amountMinor currency } } userErrors { field code message } } }";
const BOOKINGS: &str = "{ bookings(first: 10) { totalCount nodes { id reference moveDate origin destination rooms services assignedTo { id } customer { id displayName email } lead { source status } quote { id status total { amountMinor } items { description quantity } } task { kind title assignee { id } } } } }";

fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

fn booking(tenant: &str, email: &str, phone: &str) -> Value {
    json!({
        "tenant": tenant, "firstName": "Kajsa", "lastName": "Ros", "email": email, "phone": phone,
        "moveDate": in_days(10), "origin": "Storgatan 1, Stockholm", "destination": "Lillgatan 2, Uppsala",
        "rooms": 3, "services": ["MOVING_SERVICES", "PACKING_SERVICES", "MOVING_SERVICES"],
        "message": "Piano on the second floor."
    })
}

async fn template(app: &TestApp, token: &str, input: Value) -> Value {
    let data = app.ok(token, TEMPLATE, json!({"input": input})).await;
    assert_eq!(
        data["createQuoteTemplateItem"]["userErrors"],
        json!([]),
        "{data}"
    );
    data["createQuoteTemplateItem"]["quoteTemplateItem"].clone()
}

async fn submit(app: &TestApp, input: Value) -> Value {
    let body = app.gql(None, SUBMIT, json!({"input": input})).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["submitBooking"].clone()
}

backend_test! {
    async fn a_booking_becomes_customer_lead_quote_and_call_back_and_its_job_lands_on_the_day(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let (rep, rep_token) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (_, manager_token) = app.user(&t, "manager@acme.example", &["manager"], &[t.location]).await;

        // Managers keep the template; a sales rep may read it but not change it.
        template(&app, &manager_token, json!({"service": "MOVING_SERVICES", "description": "Moving crew, hours per room", "basis": "PER_ROOM", "quantity": 2, "unitPrice": {"amountMinor": 79500, "currency": "SEK"}})).await;
        template(&app, &manager_token, json!({"service": "PACKING_SERVICES", "description": "Packing materials", "unitPrice": {"amountMinor": 150000, "currency": "SEK"}})).await;
        template(&app, &manager_token, json!({"service": "STORAGE_SERVICES", "description": "Storage, month", "unitPrice": {"amountMinor": 90000, "currency": "SEK"}})).await;
        template(&app, &manager_token, json!({"service": "PACKING_SERVICES", "description": "Retired line", "active": false, "unitPrice": {"amountMinor": 1, "currency": "SEK"}})).await;
        let body = app.gql(Some(&rep_token), TEMPLATE, json!({"input": {"service": "OTHER", "description": "x", "unitPrice": {"amountMinor": 1, "currency": "SEK"}}})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let data = app.ok(&rep_token, "{ quoteTemplate(first: 10) { totalCount } }", json!({})).await;
        assert_eq!(data["quoteTemplate"]["totalCount"], 4);
        let data = app.ok(&manager_token, TEMPLATE, json!({"input": {"service": "OTHER", "description": "Euro line", "unitPrice": {"amountMinor": 100, "currency": "EUR"}}})).await;
        assert_eq!(user_errors(&data["createQuoteTemplateItem"]), vec![("input.unitPrice.currency".to_owned(), "INVALID_FORMAT".to_owned())]);

        // The form: no sign-in, a reference back.
        let first = submit(&app, booking("acme", "Kajsa@Example.com", "070-123 45 67")).await;
        assert_eq!(first["userErrors"], json!([]), "{first}");
        let reference = first["reference"].as_str().unwrap().to_owned();
        assert!(reference.len() == 11 && reference.starts_with("BK-"), "{reference}");

        let data = app.ok(&rep_token, BOOKINGS, json!({})).await;
        let b = &data["bookings"]["nodes"][0];
        assert_eq!(data["bookings"]["totalCount"], 1, "{data}");
        assert_eq!(b["reference"], json!(reference));
        assert_eq!(b["moveDate"], json!(in_days(10)));
        assert_eq!(b["services"], json!(["MOVING_SERVICES", "PACKING_SERVICES"]));
        assert_eq!(b["assignedTo"]["id"], json!(rep.to_global()));
        assert_eq!(b["customer"]["displayName"], "Kajsa Ros");
        assert_eq!(b["customer"]["email"], "kajsa@example.com");
        assert_eq!(b["lead"], json!({"source": "booking form", "status": "NEW"}));
        assert_eq!(b["quote"]["status"], "DRAFT");
        // 2 hours × 3 rooms at 795.00, packing 1 500.00; storage was not asked for and the
        // retired line prices nothing; plus 25 % tax.
        assert_eq!(b["quote"]["items"], json!([
            {"description": "Moving crew, hours per room", "quantity": 6},
            {"description": "Packing materials", "quantity": 1}
        ]));
        assert_eq!(b["quote"]["total"]["amountMinor"], 783750);
        assert_eq!(b["task"]["kind"], "CALL_BACK");
        assert_eq!(b["task"]["assignee"]["id"], json!(rep.to_global()));
        assert!(b["task"]["title"].as_str().unwrap().contains(&reference));

        // The same person again, by phone only in another form: the same customer, and an
        // answer of the same shape.
        let mut again = booking("acme", "", "+46 70 123 45 67");
        again["email"] = Value::Null;
        let second = submit(&app, again).await;
        assert_eq!(second["userErrors"], json!([]), "{second}");
        assert_ne!(second["reference"], first["reference"]);
        assert_eq!(second.as_object().unwrap().keys().collect::<Vec<_>>(), first.as_object().unwrap().keys().collect::<Vec<_>>());
        let data = app.ok(&t.owner_token, "{ customers(first: 5) { totalCount } bookings(first: 5) { totalCount nodes { customer { id } } } }", json!({})).await;
        assert_eq!(data["customers"]["totalCount"], 1, "{data}");
        assert_eq!(data["bookings"]["totalCount"], 2);
        assert_eq!(data["bookings"]["nodes"][0]["customer"], data["bookings"]["nodes"][1]["customer"]);

        // The quote is sent and accepted: the job takes the booking's addresses and day.
        let quote = b["quote"]["id"].clone();
        for action in ["sendQuote", "acceptQuote"] {
            let data = app.ok(&t.owner_token, &format!("mutation($id: ID!) {{ {action}(input: {{id: $id}}) {{ userErrors {{ code message }} }} }}"), json!({"id": quote})).await;
            assert_eq!(data[action]["userErrors"], json!([]), "{data}");
        }
        let mut job = Value::Null;
        for _ in 0..100 {
            let data = app.ok(&t.owner_token, "{ jobs(first: 5) { nodes { origin destination plannedStart plannedEnd location { id } quote { id } } } }", json!({})).await;
            if let Some(found) = data["jobs"]["nodes"].as_array().and_then(|n| <[Value]>::first(n)) {
                job = found.clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(job["quote"]["id"], quote, "no job was made: {job}");
        assert_eq!(job["origin"], "Storgatan 1, Stockholm");
        assert_eq!(job["destination"], "Lillgatan 2, Uppsala");
        assert_eq!(job["location"]["id"], json!(t.location.to_global()));
        let start = chrono::DateTime::parse_from_rfc3339(job["plannedStart"].as_str().unwrap()).unwrap();
        let end = chrono::DateTime::parse_from_rfc3339(job["plannedEnd"].as_str().unwrap()).unwrap();
        let stockholm = chrono::FixedOffset::east_opt(3600).unwrap();
        // 08:00 to 16:00 in Stockholm on the moving day (Stockholm is UTC+1 or +2).
        assert_eq!(start.with_timezone(&stockholm).date_naive().to_string(), in_days(10));
        assert!(matches!(start.with_timezone(&stockholm).format("%H:%M").to_string().as_str(), "08:00" | "07:00"), "{start}");
        assert_eq!(end - start, chrono::Duration::hours(8));
    }
}

backend_test! {
    async fn the_booking_form_refuses_bad_input_writes_nothing_and_is_rate_limited(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.domains.set(switchyard_sales::bookings::intake::LIMIT_PER_ADDRESS, "5");
        c.domains.set(switchyard_sales::bookings::intake::LIMIT_PER_TENANT, "1");
    }) {
        let t = sales_tenant(&app, "acme").await;
        sales_tenant(&app, "other").await;
        // 1: every rule at once, each naming its field.
        let data = submit(&app, json!({
            "tenant": "acme", "lastName": " ", "email": "not-an-email", "phone": "call me",
            "moveDate": in_days(-1), "origin": "x".repeat(301), "destination": "",
            "rooms": 0, "services": [], "locationId": "TG9jYXRpb246bm9wZQ=="
        })).await;
        assert_eq!(user_errors(&data), vec![
            ("input.lastName".to_owned(), "REQUIRED".to_owned()),
            ("input.origin".to_owned(), "TOO_LONG".to_owned()),
            ("input.destination".to_owned(), "REQUIRED".to_owned()),
            ("input.email".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.phone".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.moveDate".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.rooms".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.services".to_owned(), "REQUIRED".to_owned()),
            ("input.locationId".to_owned(), "UNKNOWN_REFERENCE".to_owned()),
        ], "{data}");
        assert_eq!(data["reference"], Value::Null);
        // 2: a company that does not exist.
        let data = submit(&app, booking("nobody", "a@example.com", "070 111 11 11")).await;
        assert_eq!(user_errors(&data), vec![("input.tenant".to_owned(), "UNKNOWN_REFERENCE".to_owned())]);
        let mut far = booking("acme", "a@example.com", "070 111 11 11");
        far["moveDate"] = json!(in_days(800));
        far["rooms"] = Value::Null;
        // 3: too far ahead, no size.
        let data = submit(&app, far).await;
        assert_eq!(user_errors(&data), vec![
            ("input.moveDate".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.rooms".to_owned(), "REQUIRED".to_owned()),
        ]);
        // Nothing was written.
        let data = app.ok(&t.owner_token, "{ customers(first: 1) { totalCount } leads(first: 1) { totalCount } quotes(first: 1) { totalCount } bookings(first: 1) { totalCount } tasks(first: 1) { totalCount } }", json!({})).await;
        assert_eq!(data, json!({"customers": {"totalCount": 0}, "leads": {"totalCount": 0}, "quotes": {"totalCount": 0}, "bookings": {"totalCount": 0}, "tasks": {"totalCount": 0}}));

        // 4: taken; 5: the company's limit (one) is used up; the address's (five) then is.
        assert_eq!(submit(&app, booking("acme", "a@example.com", "070 111 11 11")).await["userErrors"], json!([]));
        let body = app.gql(None, SUBMIT, json!({"input": booking("acme", "b@example.com", "070 222 22 22")})).await;
        assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
        let body = app.gql(None, SUBMIT, json!({"input": booking("other", "b@example.com", "070 222 22 22")})).await;
        assert_eq!(error_code(&body), Some("RATE_LIMITED"), "the address used its five attempts: {body}");

        // Nobody reads anything without signing in.
        let body = app.gql(None, "{ bookings(first: 1) { totalCount } }", json!({})).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
}

backend_test! {
    async fn bookings_are_seen_by_their_rep_and_managers_only_and_never_across_tenants(app: TestApp) {
        let t = sales_tenant(&app, "acme").await;
        let other = sales_tenant(&app, "other").await;
        let (_, rep_token) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (_, rep2_token) = app.user(&t, "rep2@acme.example", &["sales_rep"], &[t.location]).await;
        let (_, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let (_, dispatch_token) = app.user(&t, "dispatch@acme.example", &["dispatcher"], &[t.location]).await;
        let (_, manager_token) = app.user(&t, "manager@acme.example", &["manager"], &[t.location]).await;
        assert_eq!(submit(&app, booking("acme", "a@example.com", "070 111 11 11")).await["userErrors"], json!([]));
        let count = "{ bookings(first: 5) { totalCount nodes { id } } }";
        // Two reps: the one with fewer open tasks got it (the first, alphabetically, on a tie).
        let mine = app.ok(&rep_token, count, json!({})).await["bookings"]["totalCount"].as_i64().unwrap();
        let theirs = app.ok(&rep2_token, count, json!({})).await["bookings"]["totalCount"].as_i64().unwrap();
        assert_eq!(mine + theirs, 1);
        let data = app.ok(&manager_token, count, json!({})).await;
        assert_eq!(data["bookings"]["totalCount"], 1);
        let id = data["bookings"]["nodes"][0]["id"].clone();
        for token in [&crew_token, &dispatch_token] {
            let body = app.gql(Some(token), count, json!({})).await;
            assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        }
        let data = app.ok(&other.owner_token, count, json!({})).await;
        assert_eq!(data["bookings"]["totalCount"], 0);
        let body = app.gql(Some(&other.owner_token), "query($id: ID!) { node(id: $id) { id } booking(id: $id) { id } }", json!({"id": id})).await;
        assert_eq!(body["data"]["node"], Value::Null, "{body}");
        assert_eq!(body["data"]["booking"], Value::Null, "{body}");
    }
}
