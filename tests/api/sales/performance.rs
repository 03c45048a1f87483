//! The statement count of a deep sales query grows with its depth, not with its rows.

use serde_json::json;
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
    async fn nested_customer_pages_cost_at_most_six_statements_whatever_their_size(app: TestApp) {
        let t = app.tenant("perf").await;
        let (rep, _) = app.user(&t, "rep@perf.example", &["sales_rep"], &[t.location]).await;
        let (manager, _) = app.user(&t, "boss@perf.example", &["manager"], &[t.location]).await;
        let (client, _) = app.user(&t, "client@perf.example", &["client"], &[]).await;
        seed(&app.services, &DemoPeople { tenant: t.id, reps: vec![rep, manager], manager, client, locations: vec![t.location] }).await.unwrap();
        // Warm up (connections, prepared statements), then measure.
        app.ok(&t.owner_token, &query(5), json!({})).await;
        let mut counts = Vec::new();
        for first in [5, 50] {
            let before = statements(&app);
            let data = app.ok(&t.owner_token, &query(first), json!({})).await;
            counts.push(statements(&app) - before);
            let edges = data["customers"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), first);
            // The page really is deep: assignees, quotes with items, activities.
            let quotes: usize = edges.iter().map(|e| e["node"]["quotes"]["edges"].as_array().unwrap().len()).sum();
            let items: usize = edges.iter().flat_map(|e| e["node"]["quotes"]["edges"].as_array().unwrap().iter()).map(|q| q["node"]["items"].as_array().unwrap().len()).sum();
            let activities: usize = edges.iter().map(|e| e["node"]["activities"]["edges"].as_array().unwrap().len()).sum();
            assert!(edges.iter().any(|e| e["node"]["assignedTo"]["name"].is_string()));
            assert!(quotes > 0 && items > quotes && activities > 0, "{quotes} quotes, {items} items, {activities} activities");
        }
        // One for the caller, one per level: customers, assignees, quotes, items, activities.
        assert!(counts[1] <= 6, "first: 50 ran {} statements", counts[1]);
        assert_eq!(counts[0], counts[1], "the statement count must not grow with the page size");
    }
}
