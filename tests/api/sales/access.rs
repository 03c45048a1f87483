//! Sales access control: field rules, row scopes, tenants, and every role against every sales
//! query and mutation.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::backend_test;
use crate::support::*;

async fn provision(app: &TestApp, t: &TestTenant) {
    switchyard_sales::settings::provision(&app.services, t.id, "SEK", 2500, false, "46")
        .await
        .unwrap();
}

backend_test! {
    async fn observers_read_customers_without_contact_details(app: TestApp) {
        let t = app.tenant("acme").await;
        provision(&app, &t).await;
        let (_, observer) = app.user(&t, "watch@acme.example", &["observer"], &[t.location]).await;
        customer(&app, &t.owner_token, json!({"firstName": "Ulla", "lastName": "Vik", "email": "ulla@example.se", "phone": "0701231231"})).await;
        let query = "{ customers { edges { node { displayName email phone } } } }";
        let body = app.gql(Some(&observer), query, json!({})).await;
        assert!(body.get("errors").is_none(), "hidden fields are null without errors: {body}");
        assert_eq!(body["data"]["customers"]["edges"][0]["node"], json!({"displayName": "Ulla Vik", "email": null, "phone": null}));
        let owner = app.ok(&t.owner_token, query, json!({})).await;
        assert_eq!(owner["customers"]["edges"][0]["node"]["email"], "ulla@example.se");
        // Search does not give away what the fields hide: an observer finds by name only.
        let search = "query($s: String!) { customers(search: $s) { totalCount } }";
        for (term, owner_finds, observer_finds) in [("Ulla", 1, 1), ("ulla vik", 1, 1), ("ulla@example.se", 1, 0), ("example", 1, 0), ("0701231231", 1, 0), ("070123", 1, 0), ("Ulla 4670", 1, 0)] {
            assert_eq!(app.ok(&t.owner_token, search, json!({"s": term})).await["customers"]["totalCount"], owner_finds, "owner: {term}");
            assert_eq!(app.ok(&observer, search, json!({"s": term})).await["customers"]["totalCount"], observer_finds, "observer: {term}");
        }
        // Nor can they change anything.
        assert_eq!(error_code(&app.gql(Some(&observer), "mutation { createCustomer(input: {lastName: \"X\"}) { customer { id } } }", json!({})).await), Some("FORBIDDEN"));
    }
}

backend_test! {
    async fn a_sales_rep_works_only_their_own_customers(app: TestApp) {
        let t = app.tenant("acme").await;
        let (ann, ann_token) = app.user(&t, "ann@acme.example", &["sales_rep"], &[t.location]).await;
        let (_, bob_token) = app.user(&t, "bob@acme.example", &["sales_rep"], &[t.location]).await;
        let ann_customer = customer(&app, &ann_token, json!({"firstName": "Ann's", "lastName": "Client"})).await;
        let bob_customer = customer(&app, &bob_token, json!({"firstName": "Bob's", "lastName": "Client"})).await;
        let data = app.ok(&ann_token, "{ customers { edges { node { id displayName assignedTo { email } } } } }", json!({})).await;
        assert_eq!(data["customers"]["edges"], json!([{"node": {"id": ann_customer, "displayName": "Ann's Client", "assignedTo": {"email": "ann@acme.example"}}}]));
        for (query, vars) in [
            ("query($id: ID!) { customer(id: $id) { id } }", json!({"id": bob_customer})),
            ("mutation($id: ID!) { updateCustomer(input: {id: $id, notes: \"mine now\"}) { customer { id } } }", json!({"id": bob_customer})),
            ("mutation($id: ID!) { createQuote(input: {customerId: $id}) { quote { id } } }", json!({"id": bob_customer})),
            ("mutation($id: ID!) { logActivity(input: {customerId: $id, kind: CALL, subject: \"x\"}) { activity { id } } }", json!({"id": bob_customer})),
        ] {
            assert_eq!(error_code(&app.gql(Some(&ann_token), query, vars).await), Some("NOT_FOUND"), "{query}");
        }
        // Ann may not give her customer to Bob, nor create one for him.
        let body = app.ok(&ann_token, "mutation($id: ID!, $to: ID!) { updateCustomer(input: {id: $id, assignedToId: $to}) { userErrors { field code } } }",
            json!({"id": ann_customer, "to": "not-an-id"})).await;
        assert_eq!(user_errors(&body["updateCustomer"]), vec![("input.assignedToId".to_owned(), "UNKNOWN_REFERENCE".to_owned())]);
        let bob = switchyard_identity::tenants::provision::user_by_email(&app.services, t.id, "bob@acme.example").await.unwrap().unwrap();
        let body = app.ok(&ann_token, "mutation($to: ID!) { createCustomer(input: {lastName: \"X\", assignedToId: $to}) { userErrors { field code } } }", json!({"to": bob.to_global()})).await;
        assert_eq!(user_errors(&body["createCustomer"]), vec![("input.assignedToId".to_owned(), "NOT_ALLOWED".to_owned())]);
        let _ = ann;
        // The owner sees both.
        assert_eq!(app.ok(&t.owner_token, "{ customers { totalCount } }", json!({})).await["customers"]["totalCount"], 2);
    }
}

backend_test! {
    async fn only_managers_and_above_see_costs_and_margins(app: TestApp) {
        let t = app.tenant("acme").await;
        provision(&app, &t).await;
        let (_, rep) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let (_, manager) = app.user(&t, "boss@acme.example", &["manager"], &[t.location]).await;
        let (_, accountant) = app.user(&t, "books@acme.example", &["accountant"], &[t.location]).await;
        let c = customer(&app, &rep, json!({"firstName": "Mia", "lastName": "Gran"})).await;
        let q = app.ok(&rep, "mutation($c: ID!) { createQuote(input: {customerId: $c, items: [{description: \"Crew\", quantity: 2, unitPriceMinor: 1000, unitCostMinor: 600, category: MOVING_SERVICES}]}) { quote { id } } }", json!({"c": c})).await["createQuote"]["quote"]["id"].clone();
        let query = "query($id: ID!) { quote(id: $id) { total { amountMinor } cost { amountMinor } margin { amountMinor } items { unitCost { amountMinor } } } }";
        for (token, sees) in [(&rep, false), (&accountant, false), (&manager, true), (&t.owner_token, true)] {
            let body = app.gql(Some(token), query, json!({"id": q})).await;
            assert!(body.get("errors").is_none(), "{body}");
            let quote = &body["data"]["quote"];
            assert_eq!(quote["total"]["amountMinor"], 2500);
            if sees {
                assert_eq!((quote["cost"]["amountMinor"].clone(), quote["margin"]["amountMinor"].clone()), (json!(1200), json!(800)));
                assert_eq!(quote["items"][0]["unitCost"]["amountMinor"], 600);
            } else {
                assert!(quote["cost"].is_null() && quote["margin"].is_null() && quote["items"][0]["unitCost"].is_null(), "{quote}");
            }
        }
    }
}

async fn next_message(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_millis(1500), socket.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(text)))) => {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "ping" {
                    continue;
                }
                return Some(v);
            }
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("socket ended: {other:?}"),
        }
    }
}

backend_test! {
    async fn another_tenants_sales_objects_are_not_found_anywhere(app: TestApp) {
        let a = app.tenant("alpha").await;
        let b = app.tenant("beta").await;
        provision(&app, &a).await;
        let (a_rep, _) = app.user(&a, "rep@alpha.example", &["sales_rep"], &[a.location]).await;
        let c = customer(&app, &a.owner_token, json!({"firstName": "Alpha", "lastName": "Kund", "email": "kund@alpha.example", "assignedToId": a_rep.to_global()})).await;
        let lead = app.ok(&a.owner_token, "mutation($c: ID!) { createLead(input: {customerId: $c}) { lead { id } } }", json!({"c": c})).await["createLead"]["lead"]["id"].clone();
        let activity = app.ok(&a.owner_token, "mutation($c: ID!) { logActivity(input: {customerId: $c, kind: CALL, subject: \"Hello\", followUpAt: \"2031-01-01T00:00:00Z\"}) { activity { id followUpTask { id } } } }", json!({"c": c})).await;
        let task = activity["logActivity"]["activity"]["followUpTask"]["id"].clone();
        let activity = activity["logActivity"]["activity"]["id"].clone();
        let quote = app.ok(&a.owner_token, "mutation($c: ID!) { createQuote(input: {customerId: $c, items: [{description: \"Crew\", quantity: 1, unitPriceMinor: 100, category: OTHER}]}) { quote { id } } }", json!({"c": c})).await["createQuote"]["quote"]["id"].clone();
        app.ok(&a.owner_token, "mutation($id: ID!) { sendQuote(input: {id: $id}) { quote { id } } }", json!({"id": quote})).await;

        // By ID and through node(id:): NOT_FOUND, as for IDs that never existed.
        for (field, id) in [("customer", &c.clone().into()), ("lead", &lead), ("activity", &activity), ("task", &task), ("quote", &quote)] {
            let body = app.gql(Some(&b.owner_token), &format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}"), json!({"id": id})).await;
            assert_eq!(error_code(&body), Some("NOT_FOUND"), "{field}: {body}");
            assert!(body["data"][field].is_null());
            let body = app.gql(Some(&b.owner_token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
            assert_eq!(error_code(&body), Some("NOT_FOUND"), "node {field}");
        }
        // Through filters and search: nothing of A.
        let data = app.ok(&b.owner_token, "query($c: ID!, $u: ID!) {
            customers(search: \"Alpha\") { totalCount } byRep: customers(filter: {assignedToId: {eq: $u}}) { totalCount }
            leads(filter: {customerId: {eq: $c}}) { totalCount } activities(filter: {customerId: {eq: $c}}) { totalCount }
            tasks(filter: {customerId: {eq: $c}}) { totalCount } quotes(filter: {customerId: {eq: $c}}) { totalCount }
            expired: quotes(filter: {status: {eq: SENT}}) { totalCount } }", json!({"c": c, "u": a_rep.to_global()})).await;
        for (key, value) in data.as_object().unwrap() {
            assert_eq!(value["totalCount"], 0, "{key}: {data}");
        }
        // Mutations on A's objects: NOT_FOUND, nothing changes.
        for (query, id) in [
            ("mutation($id: ID!) { updateCustomer(input: {id: $id, notes: \"x\"}) { customer { id } } }", json!(c)),
            ("mutation($id: ID!) { acceptQuote(input: {id: $id}) { quote { id } } }", quote.clone()),
            ("mutation($id: ID!) { claimTask(input: {id: $id}) { task { id } } }", task.clone()),
            ("mutation($id: ID!) { updateLead(input: {id: $id, score: 1}) { lead { id } } }", lead.clone()),
            ("mutation($id: ID!) { updateActivity(input: {id: $id, subject: \"x\"}) { activity { id } } }", activity.clone()),
        ] {
            assert_eq!(error_code(&app.gql(Some(&b.owner_token), query, json!({"id": id})).await), Some("NOT_FOUND"), "{query}");
        }
        let data = app.ok(&a.owner_token, "query($id: ID!) { quote(id: $id) { status } }", json!({"id": quote})).await;
        assert_eq!(data["quote"]["status"], "SENT");

        // Subscriptions: B hears nothing of A's changes, A does.
        let connect = |token: String| {
            let url = app.ws_url();
            async move {
                let mut request = url.into_client_request().unwrap();
                request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
                let (mut s, _) = tokio_tungstenite::connect_async(request).await.unwrap();
                s.send(Message::Text(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}).to_string().into())).await.unwrap();
                assert_eq!(next_message(&mut s).await.unwrap()["type"], "connection_ack");
                for (id, q) in [("c", "subscription { customerChanged { displayName } }"), ("q", "subscription { quoteChanged { status } }"), ("l", "subscription { leadChanged { score } }")] {
                    s.send(Message::Text(json!({"id": id, "type": "subscribe", "payload": {"query": q}}).to_string().into())).await.unwrap();
                }
                s
            }
        };
        let mut watcher_a = connect(a.owner_token.clone()).await;
        let mut watcher_b = connect(b.owner_token.clone()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.ok(&a.owner_token, "mutation($id: ID!) { updateCustomer(input: {id: $id, firstName: \"Alfa\"}) { customer { id } } }", json!({"id": c})).await;
        app.ok(&a.owner_token, "mutation($id: ID!) { acceptQuote(input: {id: $id}) { quote { id } } }", json!({"id": quote})).await;
        app.ok(&a.owner_token, "mutation($id: ID!) { updateLead(input: {id: $id, score: 42}) { lead { id } } }", json!({"id": lead})).await;
        // Acceptance and the conversion into a job (operations' reaction) are two changes;
        // each is re-read as it is when delivered, so the first may already show CONVERTED.
        let mut seen = Vec::new();
        while let Some(m) = next_message(&mut watcher_a).await {
            seen.push(m["payload"]["data"].clone());
            if seen.len() == 4 {
                break;
            }
        }
        assert!(seen.contains(&json!({"customerChanged": {"displayName": "Alfa Kund"}})), "{seen:?}");
        assert!(seen.contains(&json!({"quoteChanged": {"status": "CONVERTED"}})), "{seen:?}");
        assert!(seen.contains(&json!({"leadChanged": {"score": 42}})), "{seen:?}");
        assert_eq!(next_message(&mut watcher_b).await, None, "tenant B must hear nothing");
    }
}

/// Who holds which sales permission (as the README's permission table states).
fn holders(permission: &str) -> &'static [&'static str] {
    const SELLERS: &[&str] = &["owner", "admin", "manager", "sales_rep"];
    const MANAGERS: &[&str] = &["owner", "admin", "manager"];
    match permission {
        "customer:read" => &[
            "owner",
            "admin",
            "manager",
            "sales_rep",
            "dispatcher",
            "support_agent",
            "accountant",
            "observer",
        ],
        "lead:read" | "task:read" => &["owner", "admin", "manager", "sales_rep", "observer"],
        "activity:read" => &[
            "owner",
            "admin",
            "manager",
            "sales_rep",
            "support_agent",
            "observer",
        ],
        "quote:read" => &[
            "owner",
            "admin",
            "manager",
            "sales_rep",
            "accountant",
            "observer",
            "client",
        ],
        "settings:read" => &[
            "owner",
            "admin",
            "manager",
            "sales_rep",
            "accountant",
            "observer",
        ],
        "customer:create" | "customer:update" | "lead:manage" | "task:manage" | "quote:manage" => {
            SELLERS
        }
        "activity:log" => &["owner", "admin", "manager", "sales_rep", "support_agent"],
        "quote:respond" => &["owner", "admin", "manager", "sales_rep", "client"],
        "customer:merge" | "quote:approve" => MANAGERS,
        "settings:manage" => &["owner", "admin"],
        other => panic!("no expectation for {other}"),
    }
}

/// IDs a role works on, all inside its own scope.
struct Fixture {
    customer: Value,
    duplicate: Value,
    lead: Value,
    activity: Value,
    tasks: [Value; 3],
    queued: Value,
    quotes: [Value; 7],
}

async fn fixture(
    app: &TestApp,
    t: &TestTenant,
    role: &str,
    user: switchyard_kernel::UserId,
    client: Option<switchyard_kernel::UserId>,
) -> Fixture {
    let owner = &t.owner_token;
    let assignee = if role == "client" { t.owner } else { user };
    let make_customer = |name: String, portal: Option<switchyard_kernel::UserId>| {
        customer(
            app,
            owner,
            json!({"lastName": name, "assignedToId": assignee.to_global(), "locationId": t.location.to_global(),
                "portalUserId": portal.map(|u| u.to_global())}),
        )
    };
    // A client is the customer's portal user: quotes are addressed to it.
    let c = make_customer(format!("{role} customer"), client).await;
    let d = make_customer(format!("{role} duplicate"), None).await;
    let lead = app
        .ok(
            owner,
            "mutation($c: ID!) { createLead(input: {customerId: $c}) { lead { id } } }",
            json!({"c": c}),
        )
        .await["createLead"]["lead"]["id"]
        .clone();
    let activity = app.ok(owner, "mutation($c: ID!) { logActivity(input: {customerId: $c, kind: NOTE, subject: \"Note\"}) { activity { id } } }", json!({"c": c})).await["logActivity"]["activity"]["id"].clone();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        tasks.push(app.ok(owner, "mutation($c: ID!, $u: ID!) { createTask(input: {kind: OTHER, title: \"Do it\", customerId: $c, assigneeId: $u}) { task { id } } }", json!({"c": c, "u": assignee.to_global()})).await["createTask"]["task"]["id"].clone());
    }
    let queued = app.ok(owner, "mutation { createTask(input: {kind: OTHER, title: \"Anyone\", queue: SALES_OPS}) { task { id } } }", json!({})).await["createTask"]["task"]["id"].clone();
    let mut quotes = Vec::new();
    for i in 0..7 {
        let id = app.ok(owner, "mutation($c: ID!, $r: ID) { createQuote(input: {customerId: $c, recipientId: $r, items: [{description: \"Crew\", quantity: 1, unitPriceMinor: 1000, category: OTHER}]}) { quote { id } } }",
            json!({"c": c, "r": client.map(|u| u.to_global())})).await["createQuote"]["quote"]["id"].clone();
        if i >= 3 {
            app.ok(
                owner,
                "mutation($id: ID!) { sendQuote(input: {id: $id}) { quote { id } } }",
                json!({"id": id}),
            )
            .await;
        }
        quotes.push(id);
    }
    Fixture {
        customer: json!(c),
        duplicate: json!(d),
        lead,
        activity,
        tasks: [tasks[0].clone(), tasks[1].clone(), tasks[2].clone()],
        queued,
        quotes: quotes.try_into().unwrap(),
    }
}

const ROLES: [&str; 10] = [
    "owner",
    "admin",
    "manager",
    "sales_rep",
    "dispatcher",
    "crew",
    "support_agent",
    "accountant",
    "observer",
    "client",
];

backend_test! {
    async fn role_matrix_for_every_sales_query_and_mutation(app: TestApp) {
        let t = app.tenant("matrix").await;
        provision(&app, &t).await;
        let mut denied = 0;
        for role in ROLES {
            let (user, token) = app.user(&t, &format!("{role}-user@matrix.example"), &[role], &[t.location]).await;
            let f = fixture(&app, &t, role, user, (role == "client").then_some(user)).await;
            let q = &f.quotes;
            let cases: Vec<(&str, &str, String, Value)> = vec![
                ("customer", "customer:read", "query($id: ID!) { customer(id: $id) { id } }".into(), json!({"id": f.customer})),
                ("customers", "customer:read", "{ customers { totalCount } }".into(), json!({})),
                ("possibleDuplicates", "customer:read", "query($id: ID!) { possibleDuplicates(customerId: $id) { id } }".into(), json!({"id": f.customer})),
                ("lead", "lead:read", "query($id: ID!) { lead(id: $id) { id } }".into(), json!({"id": f.lead})),
                ("leads", "lead:read", "{ leads { totalCount } }".into(), json!({})),
                ("activity", "activity:read", "query($id: ID!) { activity(id: $id) { id } }".into(), json!({"id": f.activity})),
                ("activities", "activity:read", "{ activities { totalCount } }".into(), json!({})),
                ("task", "task:read", "query($id: ID!) { task(id: $id) { id } }".into(), json!({"id": f.tasks[0]})),
                ("tasks", "task:read", "{ tasks { totalCount } }".into(), json!({})),
                ("quote", "quote:read", "query($id: ID!) { quote(id: $id) { id } }".into(), json!({"id": q[3]})),
                ("quotes", "quote:read", "{ quotes { totalCount } }".into(), json!({})),
                ("salesSettings", "settings:read", "{ salesSettings { currency } }".into(), json!({})),
                ("createCustomer", "customer:create", "mutation($n: String!) { createCustomer(input: {lastName: $n}) { customer { id } userErrors { field code } } }".into(), json!({"n": format!("new by {role}")})),
                ("updateCustomer", "customer:update", "mutation($id: ID!) { updateCustomer(input: {id: $id, notes: \"updated\"}) { customer { id } userErrors { field code } } }".into(), json!({"id": f.customer})),
                ("changeCustomerStage", "customer:update", "mutation($id: ID!) { changeCustomerStage(input: {id: $id, stage: CONTACTED}) { customer { id } userErrors { field code } } }".into(), json!({"id": f.customer})),
                ("mergeCustomers", "customer:merge", "mutation($s: ID!, $d: ID!) { mergeCustomers(input: {survivorId: $s, duplicateId: $d}) { survivor { id } userErrors { field code } } }".into(), json!({"s": f.customer, "d": f.duplicate})),
                ("createLead", "lead:manage", "mutation($c: ID!) { createLead(input: {customerId: $c}) { lead { id } userErrors { field code } } }".into(), json!({"c": f.customer})),
                ("updateLead", "lead:manage", "mutation($id: ID!) { updateLead(input: {id: $id, score: 50}) { lead { id } userErrors { field code } } }".into(), json!({"id": f.lead})),
                ("logActivity", "activity:log", "mutation($c: ID!) { logActivity(input: {customerId: $c, kind: CALL, subject: \"Call\"}) { activity { id } userErrors { field code } } }".into(), json!({"c": f.customer})),
                ("updateActivity", "activity:log", "mutation($id: ID!) { updateActivity(input: {id: $id, subject: \"Edited\"}) { activity { id } userErrors { field code } } }".into(), json!({"id": f.activity})),
                ("createTask", "task:manage", "mutation($c: ID!) { createTask(input: {kind: FOLLOW_UP, title: \"Follow up\", customerId: $c, queue: INSIDE_SALES}) { task { id } userErrors { field code } } }".into(), json!({"c": f.customer})),
                ("updateTask", "task:manage", "mutation($id: ID!) { updateTask(input: {id: $id, title: \"Renamed\"}) { task { id } userErrors { field code } } }".into(), json!({"id": f.tasks[0]})),
                ("claimTask", "task:manage", "mutation($id: ID!) { claimTask(input: {id: $id}) { task { id } userErrors { field code } } }".into(), json!({"id": f.queued})),
                ("handOverTask", "task:manage", "mutation($id: ID!) { handOverTask(input: {id: $id, toQueue: INSIDE_SALES}) { task { id } userErrors { field code } } }".into(), json!({"id": f.tasks[2]})),
                ("completeTask", "task:manage", "mutation($id: ID!) { completeTask(input: {id: $id}) { task { id } userErrors { field code } } }".into(), json!({"id": f.tasks[0]})),
                ("cancelTask", "task:manage", "mutation($id: ID!) { cancelTask(input: {id: $id}) { task { id } userErrors { field code } } }".into(), json!({"id": f.tasks[1]})),
                ("createQuote", "quote:manage", "mutation($c: ID!) { createQuote(input: {customerId: $c}) { quote { id } userErrors { field code } } }".into(), json!({"c": f.customer})),
                ("updateQuote", "quote:manage", "mutation($id: ID!) { updateQuote(input: {id: $id, notes: \"Cheaper\"}) { quote { id } userErrors { field code } } }".into(), json!({"id": q[2]})),
                ("approveQuote", "quote:approve", "mutation($id: ID!) { approveQuote(input: {id: $id}) { quote { id } userErrors { field code } } }".into(), json!({"id": q[0]})),
                ("sendQuote", "quote:manage", "mutation($id: ID!) { sendQuote(input: {id: $id}) { quote { id } userErrors { field code } } }".into(), json!({"id": q[1]})),
                ("reviseQuote", "quote:manage", "mutation($id: ID!) { reviseQuote(input: {id: $id}) { quote { id } userErrors { field code } } }".into(), json!({"id": q[3]})),
                ("markQuoteViewed", "quote:respond", "mutation($id: ID!) { markQuoteViewed(input: {id: $id}) { quote { id } userErrors { field code } } }".into(), json!({"id": q[4]})),
                ("acceptQuote", "quote:respond", "mutation($id: ID!) { acceptQuote(input: {id: $id}) { quote { id } userErrors { field code } } }".into(), json!({"id": q[5]})),
                ("rejectQuote", "quote:respond", "mutation($id: ID!) { rejectQuote(input: {id: $id, reason: \"No\"}) { quote { id } userErrors { field code } } }".into(), json!({"id": q[6]})),
                ("updateSalesSettings", "settings:manage", "mutation { updateSalesSettings(input: {quoteValidityDays: 14}) { settings { currency } userErrors { field code } } }".into(), json!({})),
            ];
            for (field, permission, query, variables) in cases {
                let body = app.gql(Some(&token), &query, variables).await;
                if holders(permission).contains(&role) {
                    assert!(body.get("errors").is_none(), "{role} may {field}: {body}");
                    if let Some(errors) = body["data"][field].get("userErrors") {
                        assert_eq!(errors, &json!([]), "{role} {field}: {body}");
                    }
                } else {
                    denied += 1;
                    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{role} may not {field}: {body}");
                    assert!(body["data"].is_null() || body["data"][field].is_null(), "{body}");
                }
            }
        }
        assert!(denied > 100, "the matrix must refuse plenty: {denied}");
    }
}

/// The operation counters of `/metrics`: (direct, checked, replayed).
async fn execution_paths(app: &TestApp) -> (u64, u64, u64) {
    (
        metric(app, "switchyard_graphql_operations_total{path=\"direct\"}").await,
        metric(app, "switchyard_graphql_operations_total{path=\"checked\"}").await,
        metric(app, "switchyard_graphql_replayed_total").await,
    )
}

backend_test! {
    async fn a_query_the_policy_admits_whole_skips_the_field_checks_and_answers_the_same(app: TestApp) {
        let t = app.tenant("acme").await;
        provision(&app, &t).await;
        let (_, observer) = app.user(&t, "watch@acme.example", &["observer"], &[t.location]).await;
        let id = customer(&app, &t.owner_token, json!({"firstName": "Ulla", "lastName": "Vik", "email": "ulla@example.se"})).await;
        let query = "query($id: ID!) { customer(id: $id) { displayName email assignedTo { name } } }";
        let start = execution_paths(&app).await;
        let step = |(d, c, r): (u64, u64, u64)| (d - start.0, c - start.1, r - start.2);

        // The owner may read every field: the direct path answers.
        let owner = app.ok(&t.owner_token, query, json!({"id": id})).await;
        assert_eq!(owner["customer"]["email"], "ulla@example.se");
        assert_eq!(step(execution_paths(&app).await), (1, 0, 0));

        // The observer's email is hidden: only the per-field check can answer null for it.
        let body = app.gql(Some(&observer), query, json!({"id": id})).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["customer"]["email"], Value::Null);
        assert_eq!(body["data"]["customer"]["displayName"], "Ulla Vik");
        assert_eq!(step(execution_paths(&app).await), (1, 1, 0));
        // Nor does an alias, a fragment or `node(id:)` smuggle it past the check.
        let sneaky = "query($id: ID!) { c: customer(id: $id) { ...F } n: node(id: $id) { ... on Customer { mail: email } } }
            fragment F on Customer { e: email }";
        let body = app.gql(Some(&observer), sneaky, json!({"id": id})).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"], json!({"c": {"e": null}, "n": {"mail": null}}));
        assert_eq!(step(execution_paths(&app).await), (1, 2, 0));
        let body = app.gql(Some(&t.owner_token), sneaky, json!({"id": id})).await;
        assert_eq!(body["data"], json!({"c": {"e": "ulla@example.se"}, "n": {"mail": "ulla@example.se"}}));
        assert_eq!(step(execution_paths(&app).await), (2, 2, 0));

        // An admitted query that meets an error is answered by the direct path, once, with the
        // error's code and path and the null where it belongs, as the checked schema answers.
        let other = app.tenant("other").await;
        let foreign = customer(&app, &other.owner_token, json!({"lastName": "Elsewhere"})).await;
        let start2 = execution_paths(&app).await;
        let body = app.gql(Some(&t.owner_token), query, json!({"id": foreign})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        assert_eq!(body["errors"][0]["path"], json!(["customer"]));
        assert_eq!(body["data"], json!({"customer": null}));
        let now = execution_paths(&app).await;
        assert_eq!((now.0 - start2.0, now.1 - start2.1, now.2 - start2.2), (1, 0, 0));

        // Invalid documents and mutations never take the direct path.
        let (status, body) = app.post(Some(&t.owner_token), "{ customers { edges { node { shoeSize } } } }", json!({})).await;
        assert_eq!((status, error_code(&body)), (400, Some("GRAPHQL_VALIDATION_FAILED")), "{body}");
        let body = app.gql(Some(&observer), "mutation { createCustomer(input: {lastName: \"X\"}) { customer { id } } }", json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        let now = execution_paths(&app).await;
        assert_eq!((now.0 - start2.0, now.1 - start2.1, now.2 - start2.2), (1, 2, 0));
    }
}

backend_test! {
    async fn hidden_fields_honour_the_scope_of_their_permission_row_by_row(app: TestApp) {
        let t = app.tenant("scoped").await;
        // Tenant-wide reading, but contact details and costs only of one's own.
        app.ok(&t.owner_token, r#"mutation { createRole(input: {key: "wide_reader", name: "Wide reader", permissions: [
            {permission: "sales.customer:read", scope: TENANT},
            {permission: "sales.customer_contact:read", scope: OWN},
            {permission: "sales.quote:read", scope: TENANT},
            {permission: "sales.quote_cost:read", scope: OWN},
            {permission: "identity.user:read", scope: TENANT}]}) { role { key } userErrors { field code } } }"#, json!({})).await;
        let (reader, token) = app.user(&t, "reader@scoped.example", &["wide_reader"], &[t.location]).await;
        let mine = customer(&app, &t.owner_token, json!({"firstName": "Mine", "lastName": "Own", "email": "mine@x.example", "phone": "+46 70-111 11 11", "assignedToId": reader.to_global()})).await;
        let other = customer(&app, &t.owner_token, json!({"firstName": "Other", "lastName": "Else", "email": "other@x.example", "phone": "+46 70-222 22 22"})).await;
        let q = "query($a: ID!, $b: ID!) { a: customer(id: $a) { email phone } b: customer(id: $b) { email phone }
                 n: node(id: $b) { ... on Customer { email } } customers(orderBy: {field: NAME}) { edges { node { displayName email phone } } } }";
        let data = app.ok(&token, q, json!({"a": mine, "b": other})).await;
        assert_eq!(data["a"], json!({"email": "mine@x.example", "phone": "+46701111111"}));
        assert_eq!(data["b"], json!({"email": null, "phone": null}), "{data}");
        assert_eq!(data["n"]["email"], Value::Null);
        let edges = data["customers"]["edges"].as_array().unwrap();
        assert_eq!(edges[0]["node"], json!({"displayName": "Mine Own", "email": "mine@x.example", "phone": "+46701111111"}));
        assert_eq!(edges[1]["node"], json!({"displayName": "Other Else", "email": null, "phone": null}));
        // Nor is a customer found by a contact detail the caller may not see; by its name it is.
        let search = "query($s: String!) { customers(search: $s) { edges { node { displayName } } } }";
        for (term, found) in [("other@x", 0), ("46702222222", 0), ("Other", 1), ("mine@x", 1), ("46701111111", 1)] {
            let data = app.ok(&token, search, json!({"s": term})).await;
            assert_eq!(data["customers"]["edges"].as_array().unwrap().len(), found, "{term}: {data}");
        }
        // Costs likewise: the reader's own customer's quote shows them, another's does not.
        let items = json!([{"description": "Crew", "quantity": 2, "unitPriceMinor": 1000, "unitCostMinor": 600, "category": "MOVING_SERVICES"}]);
        let create = "mutation($c: ID!, $items: [QuoteItemInput!]!) { createQuote(input: {customerId: $c, items: $items}) { quote { id } } }";
        let qa = app.ok(&t.owner_token, create, json!({"c": mine, "items": items})).await["createQuote"]["quote"]["id"].clone();
        let qb = app.ok(&t.owner_token, create, json!({"c": other, "items": items})).await["createQuote"]["quote"]["id"].clone();
        let costs = "query($a: ID!, $b: ID!) { a: quote(id: $a) { cost { amountMinor } margin { amountMinor } items { unitCost { amountMinor } } }
                     b: quote(id: $b) { cost { amountMinor } margin { amountMinor } items { unitCost { amountMinor } } } }";
        let data = app.ok(&token, costs, json!({"a": qa, "b": qb})).await;
        assert_eq!(data["a"]["cost"]["amountMinor"], 1200, "{data}");
        assert_eq!(data["a"]["items"][0]["unitCost"]["amountMinor"], 600);
        assert_eq!(data["b"], json!({"cost": null, "margin": null, "items": [{"unitCost": null}]}), "{data}");
    }
}

backend_test! {
    async fn portal_users_addresses_are_contact_details(app: TestApp) {
        let t = app.tenant("portal").await;
        let (client, client_token) = app.user(&t, "kund@portal.example", &["client"], &[]).await;
        let (_, observer) = app.user(&t, "obs@portal.example", &["observer"], &[t.location]).await;
        let (_, accountant) = app.user(&t, "books@portal.example", &["accountant"], &[t.location]).await;
        let (_, rep) = app.user(&t, "rep@portal.example", &["sales_rep"], &[t.location]).await;
        // Named unlike its address, so that a search by the address cannot match the name.
        app.ok(&t.owner_token, "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Kund\"}) { user { id } } }", json!({"id": client.to_global()})).await;
        let list = "{ users(filter: {kind: {eq: CLIENT}}) { edges { node { email name } } } }";
        for token in [&observer, &accountant] {
            let data = app.ok(token, list, json!({})).await;
            assert_eq!(data["users"]["edges"][0]["node"], json!({"email": null, "name": "Kund"}), "{data}");
            // Nor found by it, nor sorted by it (a cursor carries the sort key).
            let found = app.ok(token, "{ users(search: \"kund@\") { totalCount } }", json!({})).await;
            assert_eq!(found["users"]["totalCount"], 0);
            let sorted = app.gql(Some(token), "{ users(orderBy: {field: EMAIL}) { totalCount } }", json!({})).await;
            assert_eq!(error_code(&sorted), Some("BAD_USER_INPUT"), "{sorted}");
            let staff = app.ok(token, "{ users(filter: {kind: {eq: STAFF}}, orderBy: {field: EMAIL}) { edges { node { email } } } }", json!({})).await;
            assert!(staff["users"]["edges"][0]["node"]["email"].is_string(), "staff addresses stay in the directory: {staff}");
        }
        let data = app.ok(&rep, list, json!({})).await;
        assert_eq!(data["users"]["edges"][0]["node"]["email"], "kund@portal.example");
        let found = app.ok(&rep, "{ users(search: \"kund@\") { totalCount } }", json!({})).await;
        assert_eq!(found["users"]["totalCount"], 1);
        // The client sees its own address, and signing in shows it.
        let data = app.ok(&client_token, "{ me { email } }", json!({})).await;
        assert_eq!(data["me"]["email"], "kund@portal.example");
        let login = app.gql(None, "mutation { login(input: {email: \"kund@portal.example\", password: \"Correct-Horse-42\"}) { user { email } } }", json!({})).await;
        assert_eq!(login["data"]["login"]["user"]["email"], "kund@portal.example", "{login}");
    }
}
