//! Quotes: server-side totals, drafts and revisions, approval, answers, expiry, the
//! customer-portal client.

use serde_json::{Value, json};

use crate::backend_test;
use crate::support::*;

const QUOTE_FIELDS: &str = "id number revision status subtotal { amountMinor currency } tax { amountMinor } total { amountMinor } optionalTotal { amountMinor } taxRateBasisPoints version supersededBy";

fn create_quote() -> String {
    format!(
        "mutation($input: CreateQuoteInput!) {{ createQuote(input: $input) {{ quote {{ {QUOTE_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

fn action(name: &str) -> String {
    format!(
        "mutation($id: ID!) {{ {name}(input: {{id: $id}}) {{ quote {{ {QUOTE_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

async fn setup(app: &TestApp, slug: &str, approval: bool) -> (TestTenant, String) {
    let t = app.tenant(slug).await;
    switchyard_sales::settings::provision(&app.services, t.id, "SEK", 2500, approval, "46")
        .await
        .unwrap();
    let c = customer(
        app,
        &t.owner_token,
        json!({"firstName": "Kajsa", "lastName": "Ros"}),
    )
    .await;
    (t, c)
}

fn items() -> Value {
    json!([
        {"description": "Moving crew, two movers (per hour)", "quantity": 6, "unitPriceMinor": 79500, "unitCostMinor": 52000, "category": "MOVING_SERVICES"},
        {"description": "Packing materials kit", "quantity": 1, "unitPriceMinor": 89000, "unitCostMinor": 41000, "category": "PACKING_SERVICES"},
        {"description": "Transport insurance", "quantity": 1, "unitPriceMinor": 49500, "category": "INSURANCE", "optional": true}
    ])
}

backend_test! {
    async fn totals_are_computed_on_the_server(app: TestApp) {
        let (t, c) = setup(&app, "acme", false).await;
        let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items(), "notes": "Two-room flat"}})).await;
        let q = &data["createQuote"]["quote"];
        assert_eq!(q["status"], "DRAFT");
        assert_eq!(q["number"], "Q-000001");
        assert_eq!(q["revision"], 1);
        // 6 × 795.00 + 890.00 = 5660.00; 25 % tax = 1415.00; the optional line is apart.
        assert_eq!(q["subtotal"], json!({"amountMinor": 566000, "currency": "SEK"}));
        assert_eq!(q["tax"]["amountMinor"], 141500);
        assert_eq!(q["total"]["amountMinor"], 707500);
        assert_eq!(q["optionalTotal"]["amountMinor"], 49500);
        assert_eq!(q["taxRateBasisPoints"], 2500);
        let data = app.ok(&t.owner_token, "query($id: ID!) { quote(id: $id) { items { description quantity unitPrice { amountMinor } lineTotal { amountMinor } optional category } cost { amountMinor } margin { amountMinor } } }", json!({"id": q["id"]})).await;
        assert_eq!(data["quote"]["items"][0]["lineTotal"]["amountMinor"], 477000);
        assert_eq!(data["quote"]["cost"]["amountMinor"], 6 * 52000 + 41000);
        assert_eq!(data["quote"]["margin"]["amountMinor"], 566000 - (6 * 52000 + 41000));
        // Rounding: 1 line of 0.03 at 25 % -> tax 0.0075 rounds to 0.01.
        let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": [{"description": "Tape", "quantity": 1, "unitPriceMinor": 3, "category": "OTHER"}]}})).await;
        assert_eq!(data["createQuote"]["quote"]["tax"]["amountMinor"], 1);
        assert_eq!(data["createQuote"]["quote"]["number"], "Q-000002");
    }
}

backend_test! {
    async fn bad_quote_input_is_refused_and_nothing_is_written(app: TestApp) {
        let (t, c) = setup(&app, "acme", false).await;
        let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "currency": "XYZ", "validUntil": "2020-01-01T00:00:00Z", "items": [
            {"description": "", "quantity": 0, "unitPriceMinor": 100, "category": "OTHER"},
            {"description": "Crew", "quantity": -2, "unitPriceMinor": -1, "category": "MOVING_SERVICES"},
            {"description": "x", "quantity": 1, "unitPriceMinor": 100, "unitCostMinor": 999_999_999_999_999i64, "category": "OTHER"}
        ]}})).await;
        assert_eq!(user_errors(&data["createQuote"]), vec![
            ("input.items.0.description".to_owned(), "REQUIRED".to_owned()),
            ("input.items.0.quantity".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.items.1.quantity".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.items.1.unitPriceMinor".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.items.2.unitCostMinor".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.currency".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.validUntil".to_owned(), "OUT_OF_RANGE".to_owned()),
        ]);
        let (status, _) = app.post(Some(&t.owner_token), "mutation($c: ID!) { createQuote(input: {customerId: $c, items: [{description: \"x\", quantity: 1, unitPriceMinor: 1, category: HOVERCRAFT}]}) { quote { id } } }", json!({"c": c})).await;
        assert_eq!(status, 400);
        let data = app.ok(&t.owner_token, "{ quotes { totalCount } }", json!({})).await;
        assert_eq!(data["quotes"]["totalCount"], 0);
        // The number sequence did not move either: the next quote is Q-000001.
        let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await;
        assert_eq!(data["createQuote"]["quote"]["number"], "Q-000001");
    }
}

backend_test! {
    async fn sent_quotes_are_revised_not_edited(app: TestApp) {
        let (t, c) = setup(&app, "acme", false).await;
        let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await;
        let id = data["createQuote"]["quote"]["id"].clone();
        let edit = "mutation($id: ID!, $v: Int) { updateQuote(input: {id: $id, expectedVersion: $v, items: [{description: \"Crew\", quantity: 2, unitPriceMinor: 100000, category: MOVING_SERVICES}]}) { quote { total { amountMinor } version } userErrors { field code message } } }";
        let data = app.ok(&t.owner_token, edit, json!({"id": id, "v": 1})).await;
        assert_eq!(data["updateQuote"]["quote"], json!({"total": {"amountMinor": 250000}, "version": 2}));
        assert_eq!(error_code(&app.gql(Some(&t.owner_token), edit, json!({"id": id, "v": 1})).await), Some("CONFLICT"));
        let sent = app.ok(&t.owner_token, &action("sendQuote"), json!({"id": id})).await;
        assert_eq!(sent["sendQuote"]["quote"]["status"], "SENT");
        let data = app.ok(&t.owner_token, edit, json!({"id": id, "v": null})).await;
        assert_eq!(user_errors(&data["updateQuote"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        assert!(data["updateQuote"]["userErrors"][0]["message"].as_str().unwrap().contains("revise"));
        let data = app.ok(&t.owner_token, &action("reviseQuote"), json!({"id": id})).await;
        let revised = &data["reviseQuote"]["quote"];
        assert_eq!((revised["status"].clone(), revised["revision"].clone(), revised["number"].clone()), (json!("DRAFT"), json!(2), json!("Q-000001")));
        assert_eq!(revised["total"]["amountMinor"], 250000, "the revision starts from the old lines");
        // The old revision stays readable, points at the new one, and can no longer be accepted.
        let data = app.ok(&t.owner_token, "query($id: ID!) { quote(id: $id) { status supersededBy revisions { revision status } } }", json!({"id": id})).await;
        assert_eq!(data["quote"]["status"], "SENT");
        assert_eq!(data["quote"]["supersededBy"], revised["id"]);
        assert_eq!(data["quote"]["revisions"], json!([{"revision": 1, "status": "SENT"}, {"revision": 2, "status": "DRAFT"}]));
        let data = app.ok(&t.owner_token, &action("acceptQuote"), json!({"id": id})).await;
        assert_eq!(user_errors(&data["acceptQuote"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        // Lists show the latest revisions by default.
        let data = app.ok(&t.owner_token, "{ latest: quotes { totalCount } all: quotes(filter: {latestOnly: false}) { totalCount } }", json!({})).await;
        assert_eq!((data["latest"]["totalCount"].clone(), data["all"]["totalCount"].clone()), (json!(1), json!(2)));
        // A draft cannot be revised, and an empty one cannot be sent.
        let data = app.ok(&t.owner_token, &action("reviseQuote"), json!({"id": revised["id"]})).await;
        assert_eq!(user_errors(&data["reviseQuote"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        let empty = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c}})).await;
        let data = app.ok(&t.owner_token, &action("sendQuote"), json!({"id": empty["createQuote"]["quote"]["id"]})).await;
        assert!(data["sendQuote"]["userErrors"][0]["message"].as_str().unwrap().contains("quote_needs_lines"));
    }
}

backend_test! {
    async fn approval_is_required_before_sending_when_the_tenant_says_so(app: TestApp) {
        let (t, _) = setup(&app, "acme", true).await;
        let (_, rep) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (_, manager) = app.user(&t, "boss@acme.example", &["manager"], &[t.location]).await;
        let c = customer(&app, &rep, json!({"firstName": "Ida", "lastName": "Falk"})).await;
        let data = app.ok(&rep, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await;
        let id = data["createQuote"]["quote"]["id"].clone();
        let data = app.ok(&rep, &action("sendQuote"), json!({"id": id})).await;
        assert_eq!(user_errors(&data["sendQuote"]), vec![("input.id".to_owned(), "PRECONDITION_FAILED".to_owned())]);
        assert!(data["sendQuote"]["userErrors"][0]["message"].as_str().unwrap().contains("quote_needs_approval"));
        assert_eq!(error_code(&app.gql(Some(&rep), &action("approveQuote"), json!({"id": id})).await), Some("FORBIDDEN"));
        let data = app.ok(&manager, "mutation($id: ID!) { approveQuote(input: {id: $id}) { quote { approved approvedBy { email } } } }", json!({"id": id})).await;
        assert_eq!(data["approveQuote"]["quote"], json!({"approved": true, "approvedBy": {"email": "boss@acme.example"}}));
        let data = app.ok(&rep, &action("sendQuote"), json!({"id": id})).await;
        assert_eq!(data["sendQuote"]["quote"]["status"], "SENT");
        // Editing a draft withdraws its approval.
        let draft = app.ok(&rep, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await;
        let draft_id = draft["createQuote"]["quote"]["id"].clone();
        app.ok(&manager, &action("approveQuote"), json!({"id": draft_id})).await;
        let data = app.ok(&rep, "mutation($id: ID!) { updateQuote(input: {id: $id, notes: \"cheaper\"}) { quote { approved } } }", json!({"id": draft_id})).await;
        assert_eq!(data["updateQuote"]["quote"]["approved"], false);
    }
}

backend_test! {
    async fn accepting_and_rejecting_follow_the_rules_and_announce_acceptance(app: TestApp) {
        let (t, c) = setup(&app, "acme", false).await;
        let make = async |app: &TestApp| {
            let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await;
            let id = data["createQuote"]["quote"]["id"].clone();
            app.ok(&t.owner_token, &action("sendQuote"), json!({"id": id})).await;
            id
        };
        let a = make(&app).await;
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { acceptQuote(input: {id: $id}) { quote { status acceptedBy { email } acceptedAt } } }", json!({"id": a})).await;
        assert_eq!(data["acceptQuote"]["quote"]["status"], "ACCEPTED");
        assert_eq!(data["acceptQuote"]["quote"]["acceptedBy"]["email"], "owner@acme.example");
        let again = app.ok(&t.owner_token, &action("rejectQuote"), json!({"id": a})).await;
        assert_eq!(user_errors(&again["rejectQuote"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        // The acceptance is announced to other domains as an event.
        let caller = switchyard_kernel::Caller::system(t.id, &app.services.catalog);
        let quote_id = switchyard_sales::quotes::QuoteId::from_global(a.as_str().unwrap()).unwrap();
        let mut pooled = app.services.db.read().await.unwrap();
        let history = switchyard_kernel::audit::history(&mut pooled.conn(), &caller, "Quote", &quote_id.to_string()).await.unwrap();
        assert!(history.iter().any(|h| h.action == "sales.quote.accepted"), "{history:?}");

        let r = make(&app).await;
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { rejectQuote(input: {id: $id, reason: \"Too expensive\"}) { quote { status rejectionReason } } }", json!({"id": r})).await;
        assert_eq!(data["rejectQuote"]["quote"], json!({"status": "REJECTED", "rejectionReason": "Too expensive"}));
        let data = app.ok(&t.owner_token, &action("acceptQuote"), json!({"id": r})).await;
        assert_eq!(user_errors(&data["acceptQuote"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        // WON now passes its guard: the customer has an accepted quote.
        for stage in ["QUALIFIED", "PROPOSAL", "WON"] {
            if stage == "QUALIFIED" {
                app.ok(&t.owner_token, "mutation($c: ID!) { logActivity(input: {customerId: $c, kind: CALL, subject: \"Call\"}) { activity { id } } }", json!({"c": c})).await;
            }
            let data = app.ok(&t.owner_token, "mutation($id: ID!, $s: CustomerStage!) { changeCustomerStage(input: {id: $id, stage: $s}) { customer { stage } userErrors { message } } }", json!({"id": c, "s": stage})).await;
            assert_eq!(data["changeCustomerStage"]["customer"]["stage"], stage, "{data}");
        }
    }
}

backend_test! {
    async fn quotes_past_valid_until_expire_on_their_own(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.domains.set(switchyard_sales::QUOTE_EXPIRY_SWEEP_SECS, "1");
    }) {
        let (t, c) = setup(&app, "acme", false).await;
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items(), "validUntil": soon}})).await;
        let id = data["createQuote"]["quote"]["id"].clone();
        app.ok(&t.owner_token, &action("sendQuote"), json!({"id": id})).await;
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let data = app.ok(&t.owner_token, "query($id: ID!) { quote(id: $id) { status } quotes(filter: {status: {eq: EXPIRED}}) { totalCount } }", json!({"id": id})).await;
        assert_eq!(data["quote"]["status"], "EXPIRED");
        assert_eq!(data["quotes"]["totalCount"], 1);
        let data = app.ok(&t.owner_token, &action("acceptQuote"), json!({"id": id})).await;
        assert_eq!(user_errors(&data["acceptQuote"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        assert!(data["acceptQuote"]["userErrors"][0]["message"].as_str().unwrap().contains("expired"));
        // The sweep wrote it down, with an audit entry by the system.
        let caller = switchyard_kernel::Caller::system(t.id, &app.services.catalog);
        let quote_id = switchyard_sales::quotes::QuoteId::from_global(id.as_str().unwrap()).unwrap();
        let mut pooled = app.services.db.read().await.unwrap();
        let history = switchyard_kernel::audit::history(&mut pooled.conn(), &caller, "Quote", &quote_id.to_string()).await.unwrap();
        let expired = history.iter().find(|h| h.action == "sales.quote.expired").expect("an expiry entry");
        assert_eq!(expired.actor_kind, "system");
        // An expired quote can be revised into a fresh offer.
        let data = app.ok(&t.owner_token, &action("reviseQuote"), json!({"id": id})).await;
        assert_eq!(data["reviseQuote"]["quote"]["status"], "DRAFT");
    }
}

backend_test! {
    async fn a_portal_client_sees_and_answers_only_the_quotes_addressed_to_them(app: TestApp) {
        let (t, c) = setup(&app, "acme", false).await;
        let (client, client_token) = app.user(&t, "kajsa@customer.example", &["client"], &[]).await;
        let (other, other_token) = app.user(&t, "someone@customer.example", &["client"], &[]).await;
        // Kajsa is the customer's portal user; the other client belongs to another customer.
        let data = app.ok(&t.owner_token, "mutation($c: ID!, $u: ID) { updateCustomer(input: {id: $c, portalUserId: $u}) { customer { portalUser { email } } } }", json!({"c": c, "u": client.to_global()})).await;
        assert_eq!(data["updateCustomer"]["customer"]["portalUser"]["email"], "kajsa@customer.example");
        let elsewhere = customer(&app, &t.owner_token, json!({"companyName": "Elsewhere AB", "portalUserId": other.to_global()})).await;
        // A quote goes to the customer's own portal user: by default, and never to another's.
        let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items(), "recipientId": other.to_global()}})).await;
        assert_eq!(user_errors(&data["createQuote"]), vec![("input.recipientId".to_owned(), "NOT_ALLOWED".to_owned())], "{data}");
        let data = app.ok(&t.owner_token, "mutation($u: ID) { createCustomer(input: {companyName: \"Twice AB\", portalUserId: $u}) { userErrors { field code } } }", json!({"u": other.to_global()})).await;
        assert_eq!(user_errors(&data["createCustomer"]), vec![("input.portalUserId".to_owned(), "DUPLICATE".to_owned())], "{data}");
        let mine = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await["createQuote"]["quote"]["id"].clone();
        let theirs = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": elsewhere, "items": items()}})).await["createQuote"]["quote"]["id"].clone();
        // A draft is not shown to its recipient until it is sent.
        let data = app.ok(&client_token, "{ quotes { totalCount } }", json!({})).await;
        assert_eq!(data["quotes"]["totalCount"], 0, "{data}");
        assert_eq!(error_code(&app.gql(Some(&client_token), "query($id: ID!) { quote(id: $id) { id } }", json!({"id": mine})).await), Some("NOT_FOUND"));
        for id in [&mine, &theirs] {
            app.ok(&t.owner_token, &action("sendQuote"), json!({"id": id})).await;
        }
        let data = app.ok(&client_token, "{ quotes { edges { node { id total { amountMinor } cost { amountMinor } margin { amountMinor } items { unitCost { amountMinor } } } } } }", json!({})).await;
        let edges = data["quotes"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 1);
        let node = &edges[0]["node"];
        assert_eq!(node["id"], mine);
        assert!(node["cost"].is_null() && node["margin"].is_null() && node["items"][0]["unitCost"].is_null(), "{node}");
        assert_eq!(error_code(&app.gql(Some(&client_token), "query($id: ID!) { quote(id: $id) { id } }", json!({"id": theirs})).await), Some("NOT_FOUND"));
        assert_eq!(error_code(&app.gql(Some(&client_token), &action("acceptQuote"), json!({"id": theirs})).await), Some("NOT_FOUND"));
        assert_eq!(error_code(&app.gql(Some(&other_token), &action("acceptQuote"), json!({"id": mine})).await), Some("NOT_FOUND"));
        // The customer record itself is not theirs to read.
        let body = app.gql(Some(&client_token), "query($id: ID!) { quote(id: $id) { customer { displayName } } }", json!({"id": mine})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        app.ok(&client_token, "mutation($id: ID!) { markQuoteViewed(input: {id: $id}) { quote { status } } }", json!({"id": mine})).await;
        let data = app.ok(&client_token, "mutation($id: ID!) { acceptQuote(input: {id: $id}) { quote { status acceptedBy { email } } } }", json!({"id": mine})).await;
        assert_eq!(data["acceptQuote"]["quote"], json!({"status": "ACCEPTED", "acceptedBy": {"email": "kajsa@customer.example"}}));
        // The staff behind the quote stay out of the client's sight, as in the user directory.
        let data = app.ok(&client_token, "query($id: ID!) { quote(id: $id) { createdBy { email roles { key } } recipient { email } } }", json!({"id": mine})).await;
        assert_eq!(data["quote"], json!({"createdBy": null, "recipient": {"email": "kajsa@customer.example"}}));
        let data = app.ok(&t.owner_token, "query($id: ID!) { quote(id: $id) { createdBy { email } } }", json!({"id": mine})).await;
        assert!(data["quote"]["createdBy"]["email"].is_string(), "{data}");
        assert_eq!(error_code(&app.gql(Some(&client_token), &create_quote(), json!({"input": {"customerId": c}})).await), Some("FORBIDDEN"));
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

backend_test! {
    async fn random_quotes_total_exactly_through_the_api(app: TestApp) {
        let t = app.tenant("acme").await;
        let c = customer(&app, &t.owner_token, json!({"companyName": "Prop Test AB"})).await;
        let mut rng = Lcg(20261121);
        for round in 0..12 {
            let rate = rng.next(10_001) as i64;
            switchyard_sales::settings::provision(&app.services, t.id, "EUR", rate as i32, false, "46").await.unwrap();
            let lines: Vec<(i64, i64, bool)> = (0..1 + rng.next(8)).map(|_| (1 + rng.next(500) as i64, rng.next(2_000_000) as i64, rng.next(4) == 0)).collect();
            let items: Vec<Value> = lines.iter().map(|(q, p, o)| json!({"description": "line", "quantity": q, "unitPriceMinor": p, "category": "OTHER", "optional": o})).collect();
            let data = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items}})).await;
            let q = &data["createQuote"]["quote"];
            let subtotal: i128 = lines.iter().filter(|l| !l.2).map(|(q, p, _)| i128::from(*q) * i128::from(*p)).sum();
            let tax = (2 * subtotal * i128::from(rate) + 10_000).div_euclid(20_000);
            assert_eq!(q["subtotal"]["amountMinor"].as_i64().map(i128::from), Some(subtotal), "round {round}");
            assert_eq!(q["tax"]["amountMinor"].as_i64().map(i128::from), Some(tax), "round {round}: rate {rate}");
            assert_eq!(q["total"]["amountMinor"].as_i64().map(i128::from), Some(subtotal + tax), "round {round}");
        }
    }
}

backend_test! {
    async fn a_portal_user_reaches_the_quotes_of_the_customer_it_represents_now(app: TestApp) {
        let (t, c) = setup(&app, "portal", false).await;
        let (first, first_token) = app.user(&t, "first@customer.example", &["client"], &[]).await;
        let (second, second_token) = app.user(&t, "second@customer.example", &["client"], &[]).await;
        let set_portal = "mutation($c: ID!, $u: ID) { updateCustomer(input: {id: $c, portalUserId: $u}) { customer { id } userErrors { field code } } }";
        app.ok(&t.owner_token, set_portal, json!({"c": c, "u": first.to_global()})).await;
        let quote = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await["createQuote"]["quote"]["id"].clone();
        app.ok(&t.owner_token, &action("sendQuote"), json!({"id": quote})).await;
        let read = "query($id: ID!) { quote(id: $id) { id recipient { email } } }";
        let data = app.ok(&first_token, read, json!({"id": quote})).await;
        assert_eq!(data["quote"]["recipient"]["email"], "first@customer.example");
        // The customer's portal user changes: the quote follows the customer, at once.
        app.ok(&t.owner_token, set_portal, json!({"c": c, "u": second.to_global()})).await;
        assert_eq!(error_code(&app.gql(Some(&first_token), read, json!({"id": quote})).await), Some("NOT_FOUND"));
        assert_eq!(error_code(&app.gql(Some(&first_token), &action("acceptQuote"), json!({"id": quote})).await), Some("NOT_FOUND"));
        assert_eq!(app.ok(&first_token, "{ quotes { totalCount } }", json!({})).await["quotes"]["totalCount"], 0);
        let data = app.ok(&second_token, read, json!({"id": quote})).await;
        assert_eq!(data["quote"]["recipient"]["email"], "second@customer.example", "{data}");
        // Two customers merge: the duplicate's quotes move to the survivor and reach the
        // survivor's portal user; the duplicate's former portal user reaches nothing.
        let (third, third_token) = app.user(&t, "third@customer.example", &["client"], &[]).await;
        let duplicate = customer(&app, &t.owner_token, json!({"firstName": "Kajsa", "lastName": "Ros", "portalUserId": third.to_global()})).await;
        let theirs = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": duplicate, "items": items()}})).await["createQuote"]["quote"]["id"].clone();
        app.ok(&t.owner_token, &action("sendQuote"), json!({"id": theirs})).await;
        assert_eq!(app.ok(&third_token, read, json!({"id": theirs})).await["quote"]["id"], theirs);
        let merged = app.ok(&t.owner_token, "mutation($s: ID!, $d: ID!) { mergeCustomers(input: {survivorId: $s, duplicateId: $d}) { survivor { id } userErrors { field code } } }",
            json!({"s": c, "d": duplicate})).await;
        assert_eq!(merged["mergeCustomers"]["userErrors"], json!([]), "{merged}");
        assert_eq!(error_code(&app.gql(Some(&third_token), read, json!({"id": theirs})).await), Some("NOT_FOUND"));
        assert_eq!(error_code(&app.gql(Some(&third_token), &action("acceptQuote"), json!({"id": theirs})).await), Some("NOT_FOUND"));
        let data = app.ok(&second_token, "{ quotes { totalCount } }", json!({})).await;
        assert_eq!(data["quotes"]["totalCount"], 2, "{data}");
        let data = app.ok(&second_token, "mutation($id: ID!) { acceptQuote(input: {id: $id}) { quote { status } userErrors { code } } }", json!({"id": theirs})).await;
        assert_eq!(data["acceptQuote"]["quote"]["status"], "ACCEPTED", "{data}");
        // The customer's quotes page, as the staff see it, names the recipient of today.
        let data = app.ok(&t.owner_token, "query($c: ID!) { customer(id: $c) { quotes { edges { node { recipient { email } } } } } }", json!({"c": c})).await;
        for edge in data["customer"]["quotes"]["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["recipient"]["email"], "second@customer.example");
        }
    }
}

backend_test! {
    async fn a_quote_is_approved_by_someone_other_than_its_author(app: TestApp) {
        let (t, c) = setup(&app, "duties", true).await;
        let (_, manager) = app.user(&t, "manager@duties.example", &["manager"], &[t.location]).await;
        let (_, other_manager) = app.user(&t, "second@duties.example", &["manager"], &[t.location]).await;
        app.ok(&t.owner_token, "mutation($c: ID!, $l: ID) { updateCustomer(input: {id: $c, locationId: $l}) { customer { id } } }",
            json!({"c": c, "l": t.location.to_global()})).await;
        let quote = app.ok(&manager, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await["createQuote"]["quote"]["id"].clone();
        // The author may not approve their own quote.
        let data = app.ok(&manager, &action("approveQuote"), json!({"id": quote})).await;
        assert_eq!(user_errors(&data["approveQuote"]), vec![("input.id".to_owned(), "PRECONDITION_FAILED".to_owned())], "{data}");
        assert!(data["approveQuote"]["userErrors"][0]["message"].as_str().unwrap().contains("approver_not_author"));
        let data = app.ok(&manager, &action("sendQuote"), json!({"id": quote})).await;
        assert_eq!(data["sendQuote"]["quote"], Value::Null, "not sent without an approval: {data}");
        // Another manager may.
        let data = app.ok(&other_manager, &action("approveQuote"), json!({"id": quote})).await;
        assert_eq!(data["approveQuote"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&manager, &action("sendQuote"), json!({"id": quote})).await;
        assert_eq!(data["sendQuote"]["quote"]["status"], "SENT", "{data}");
        // A tenant may turn the rule off; it is on by default.
        let data = app.ok(&t.owner_token, "{ salesSettings { quoteApproverMustDiffer } }", json!({})).await;
        assert_eq!(data["salesSettings"]["quoteApproverMustDiffer"], true);
        app.ok(&t.owner_token, "mutation { updateSalesSettings(input: {quoteApproverMustDiffer: false}) { settings { quoteApproverMustDiffer } } }", json!({})).await;
        let own = app.ok(&manager, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await["createQuote"]["quote"]["id"].clone();
        let data = app.ok(&manager, &action("approveQuote"), json!({"id": own})).await;
        assert_eq!(data["approveQuote"]["userErrors"], json!([]), "{data}");
    }
}

backend_test! {
    async fn a_stored_value_that_names_no_status_is_an_error_not_a_draft(app: TestApp) {
        use diesel_async::RunQueryDsl;
        let (t, c) = setup(&app, "bad-data", false).await;
        let quote = app.ok(&t.owner_token, &create_quote(), json!({"input": {"customerId": c, "items": items()}})).await["createQuote"]["quote"]["id"].clone();
        {
            let mut pooled = app.services.db.write().await.unwrap();
            let mut conn = pooled.conn();
            switchyard_kernel::db_run!(&mut conn, |c| diesel::sql_query("UPDATE quotes SET status = 'SHREDDED'").execute(c).await).unwrap();
        }
        let body = app.gql(Some(&t.owner_token), "query($id: ID!) { quote(id: $id) { status } }", json!({"id": quote})).await;
        assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
        assert!(!body.to_string().contains("DRAFT") && !body.to_string().contains("SHREDDED"), "{body}");
    }
}
