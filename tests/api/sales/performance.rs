//! The statement count of a deep sales query grows with its depth, not with its rows.

use serde_json::{Value, json};
use switchyard_sales::demo::{DemoPeople, seed};

use crate::backend_test;
use crate::support::*;

fn query(first: usize) -> String {
    format!(
        "{{ customers(first: {first}) {{ edges {{ node {{ assignedTo {{ name }}
            quotes(first: 5) {{ edges {{ node {{ items {{ description }} }} }} }}
            activities(first: 3) {{ edges {{ node {{ kind }} }} }} }} }} }} }}"
    )
}

backend_test! {
    async fn a_nested_customer_page_is_one_statement_whatever_its_size(app: TestApp) {
        let t = app.tenant("perf").await;
        let (rep, _) = app.user(&t, "rep@perf.example", &["sales_rep"], &[t.location]).await;
        let (manager, _) = app.user(&t, "boss@perf.example", &["manager"], &[t.location]).await;
        let (client, _) = app.user(&t, "client@perf.example", &["client"], &[]).await;
        seed(&app.services, &DemoPeople { tenant: t.id, reps: vec![rep, manager], manager, client, locations: vec![t.location] }).await.unwrap();
        // Warm up (connections, prepared statements), then measure.
        app.ok(&t.owner_token, &query(5), json!({})).await;
        // The counter is process-wide and the outbox dispatcher delivering the seeded events
        // may add to it at any moment; the fewest over a few runs is the request's own count.
        let mut counts = Vec::new();
        for first in [5, 50] {
            let mut fewest = u64::MAX;
            let mut data = Value::Null;
            for _ in 0..3 {
                let before = statements(&app);
                data = app.ok(&t.owner_token, &query(first), json!({})).await;
                fewest = fewest.min(statements(&app) - before);
            }
            counts.push(fewest);
            let edges = data["customers"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), first);
            // The page really is deep: assignees, quotes with items, activities.
            let quotes: usize = edges.iter().map(|e| e["node"]["quotes"]["edges"].as_array().unwrap().len()).sum();
            let items: usize = edges.iter().flat_map(|e| e["node"]["quotes"]["edges"].as_array().unwrap().iter()).map(|q| q["node"]["items"].as_array().unwrap().len()).sum();
            let activities: usize = edges.iter().map(|e| e["node"]["activities"]["edges"].as_array().unwrap().len()).sum();
            assert!(edges.iter().any(|e| e["node"]["assignedTo"]["name"].is_string()));
            assert!(quotes > 0 && items > quotes && activities > 0, "{quotes} quotes, {items} items, {activities} activities");
        }
        // Planned: one statement for the whole page, which also confirms the caller's rights
        // kept from the warm-up (the resolvers' batching took one per level: customers,
        // assignees, quotes, items, activities, and one for the caller).
        assert_eq!(counts[1], 1, "first: 50 ran {} statements", counts[1]);
        assert_eq!(counts[0], counts[1], "the statement count must not grow with the page size");
    }
}

backend_test! {
    async fn a_query_that_meets_an_error_is_executed_once(app: TestApp) {
        let t = app.tenant("once").await;
        let id = customer(&app, &t.owner_token, json!({"firstName": "Ada", "lastName": "Once"})).await;
        let missing = switchyard_sales::customers::CustomerId::new().to_global().to_string();
        let one = "query($a: ID!) { a: customer(id: $a) { displayName } }";
        let two = "query($a: ID!, $b: ID!) { a: customer(id: $a) { displayName } b: customer(id: $b) { displayName } }";
        app.ok(&t.owner_token, one, json!({"a": id})).await;
        // The counter is process-wide and background work (the outbox dispatcher delivering the
        // customer's creation) may add to it at any moment; the fewest over a few runs is the
        // request's own count.
        let (mut found, mut with_error, mut body) = (u64::MAX, u64::MAX, Value::Null);
        for _ in 0..5 {
            let before = statements(&app);
            app.ok(&t.owner_token, one, json!({"a": id})).await;
            found = found.min(statements(&app) - before);
            let before = statements(&app);
            body = app.gql(Some(&t.owner_token), two, json!({"a": id, "b": missing})).await;
            with_error = with_error.min(statements(&app) - before);
        }
        // The answer: what was found, null where nothing was, and the error at its path.
        assert_eq!(body["data"], json!({"a": {"displayName": "Ada Once"}, "b": null}), "{body}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
        assert_eq!(error_code(&body), Some("NOT_FOUND"));
        assert_eq!(body["errors"][0]["path"], json!(["b"]));
        // Executed once: one more lookup than the query without it, not the whole query again.
        assert_eq!(with_error, found + 1, "{found} statements without the error, {with_error} with it");
    }
}
