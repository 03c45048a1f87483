//! Planned reads answer exactly as the resolvers do: a corpus of queries, for every built-in
//! role that reads sales objects, sent to a server that plans and to its twin on the same
//! database that does not; the response bodies must be byte for byte the same, errors
//! included. The planner must also really answer the queries it is meant to cover.

use serde_json::{Value, json};
use switchyard_sales::demo::{DemoPeople, seed};

use crate::backend_test;
use crate::support::*;

const DEEP: &str = "{ customers(first: 5) { edges { node { assignedTo { name }
    quotes(first: 5) { edges { node { items { description } } } }
    activities(first: 3) { edges { node { kind } } } } } } }";

const WIDE: &str = "{ customers(first: 7) { __typename totalCount
    pageInfo { hasNextPage hasPreviousPage __typename startCursor endCursor }
    edges { __typename cursor node { __typename id displayName firstName lastName companyName
      email phone stage active leadSource notes version mergedInto createdAt updatedAt stageChangedAt
      location { id name } assignedTo { id name } portalUser { id }
      leads(first: 2) { totalCount nodes { id } }
      quotes(first: 2) { pageInfo { hasNextPage endCursor } edges { cursor node { id number revision
        validUntil sentAt approvedAt
        currency taxRateBasisPoints notes terms customer { displayName } approvedBy { name }
        items { description quantity category optional sortOrder } } } } } } } }";

const SHAPES: &str = "query($after: String) {
    byName: customers(first: 3, after: $after, orderBy: {field: NAME, direction: DESC}) {
      edges { cursor node { displayName } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
    none: customers(first: 0) { pageInfo { startCursor endCursor hasNextPage } }
    listed: customers(first: 2, after: $after, orderBy: {field: NAME, direction: DESC}) { edges { cursor node { displayName } } }
    empty: customers(first: 0) { nodes { id } }
    typed: customers(first: 2) { __typename edges { __typename node { __typename id } } }
    bare: customers(first: 2) { edges { __typename } }
    inactive: customers(first: 3, filter: {active: {eq: false}}) { nodes { id } }
    found: customers(search: \"a\") { totalCount nodes { ...Names } }
  }
  fragment Names on Customer { displayName ... on Customer { stage } }";

const ONE: &str = "query($id: ID!) { customer(id: $id) { displayName email stage } }";

const QUOTES: &str = "{ quotes(first: 4) { nodes { id number customer { id email } items { description sortOrder } } } }";

const UNPLANNED: &str = "{ customers(first: 2) { nodes { displayName tags } } }";

/// The raw response body of `query` from `app`.
async fn body(app: &TestApp, token: &str, query: &str, variables: &Value) -> String {
    app.client
        .post(&app.url)
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `switchyard_graphql_planned_total` of `app`.
async fn planned(app: &TestApp) -> u64 {
    metric(app, "switchyard_graphql_planned_total").await
}

backend_test! {
    async fn planned_reads_answer_byte_for_byte_as_the_resolvers_do(app: TestApp) {
        let resolvers = app.twin(|c| c.planned_reads = false).await;
        let t = app.tenant("planned").await;
        let (rep, rep_token) = app.user(&t, "rep@planned.example", &["sales_rep"], &[t.location]).await;
        let (manager, manager_token) = app.user(&t, "boss@planned.example", &["manager"], &[t.location]).await;
        let (client, client_token) = app.user(&t, "client@planned.example", &["client"], &[]).await;
        seed(&app.services, &DemoPeople { tenant: t.id, reps: vec![rep, manager], manager, client, locations: vec![t.location] }).await.unwrap();
        let mut tokens = vec![("owner", t.owner_token.clone()), ("manager", manager_token), ("sales_rep", rep_token), ("client", client_token)];
        for role in ["dispatcher", "support_agent", "accountant", "observer"] {
            let (_, token) = app.user(&t, &format!("{role}@planned.example"), &[role], &[t.location]).await;
            tokens.push((role, token));
        }
        // Another tenant's customer: never found.
        let other = app.tenant("planned-other").await;
        let foreign = customer(&app, &other.owner_token, json!({"firstName": "Far", "lastName": "Away"})).await;

        let first = app.ok(&t.owner_token, "{ customers(first: 3, orderBy: {field: NAME, direction: DESC}) { edges { cursor } nodes { id } } }", json!({})).await;
        let cursor = first["customers"]["edges"][2]["cursor"].clone();
        let own = first["customers"]["nodes"][0]["id"].clone();
        let missing = switchyard_sales::customers::CustomerId::new().to_global().to_string();
        let lead = app.ok(&t.owner_token, "{ leads(first: 1) { nodes { id } } }", json!({})).await["leads"]["nodes"][0]["id"].clone();
        // Text that PostgreSQL's array literals must quote and escape, on a customer with quotes
        // (its name sorts first, so the wide page reads it as deep as it nests).
        let quoted = app.ok(&t.owner_token, "{ quotes(first: 1) { nodes { customer { id version } } } }", json!({})).await["quotes"]["nodes"][0]["customer"].clone();
        let data = app.ok(&t.owner_token, "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { field message } } }",
            json!({"input": {"id": quoted["id"], "expectedVersion": quoted["version"], "companyName": "\"Quoted\" \\ {a,b} NULL",
                "lastName": "Back\\slash, {b} \"c\"", "notes": "NULL", "leadSource": "ÅÄÖ \\\" } {"}})).await;
        assert_eq!(data["updateCustomer"]["userErrors"], json!([]), "{data}");
        let corpus: Vec<(&str, Value)> = vec![
            (DEEP, json!({})),
            (WIDE, json!({})),
            (SHAPES, json!({})),
            (SHAPES, json!({"after": cursor})),
            (ONE, json!({"id": own})),
            (ONE, json!({"id": missing})),
            (ONE, json!({"id": foreign})),
            (ONE, json!({"id": "not-an-id"})),
            (ONE, json!({"id": lead})),
            (QUOTES, json!({})),
            (UNPLANNED, json!({})),
        ];
        let wide = body(&app, &t.owner_token, WIDE, &json!({})).await;
        assert!(wide.contains(r#"Back\\slash, {b} \"c\""#) && wide.contains(r#"\"Quoted\" \\ {a,b} NULL"#), "{wide}");
        for (role, token) in &tokens {
            for (query, variables) in &corpus {
                let planned_body = body(&app, token, query, variables).await;
                let resolved_body = body(&resolvers, token, query, variables).await;
                assert_eq!(planned_body, resolved_body, "{role} asked {query} with {variables}");
            }
        }

        // The planner answered what it covers (the deep page, a customer by ID, the shapes of
        // lists and pages), once each.
        for (query, variables) in [(DEEP, json!({})), (ONE, json!({"id": own})), (WIDE, json!({})), (QUOTES, json!({})),
            (SHAPES, json!({"after": cursor}))] {
            let before = planned(&app).await;
            let data = app.ok(&t.owner_token, query, variables).await;
            assert!(data.as_object().is_some_and(|d| !d.is_empty()));
            assert_eq!(planned(&app).await, before + 1, "{query} was not planned");
        }
        let before = planned(&app).await;
        app.ok(&t.owner_token, UNPLANNED, json!({})).await;
        assert_eq!(planned(&app).await, before, "a computed field is not planned");
        assert_eq!(planned(&resolvers).await, 0, "the twin does not plan");
    }
}

backend_test! {
    /// Every relation a plan reads (nested pages newest first, a quote's lines in their order)
    /// has an index for the lookup it makes once per parent row. On PostgreSQL the index leads
    /// with the parent's ID and includes tenant_id, which the tenant condition checks as a
    /// filter (a b-tree descent through tenant IDs compares them through the collation: about
    /// 10 % of the deep page's database time); SQLite compares bytes and leads with tenant_id.
    /// Either way the rows come in the page's order, without a sort.
    async fn every_relation_a_plan_reads_has_an_index_for_its_lookup(app: TestApp) {
        use diesel::sql_types::Text;
        use diesel_async::RunQueryDsl;
        use switchyard_kernel::db::Backend;
        #[derive(diesel::QueryableByName)]
        struct Def {
            #[diesel(sql_type = Text)]
            def: String,
        }
        let backend = app.services.db.backend();
        // (table, the columns the lookup matches and orders by)
        let mut lookups = Vec::new();
        for shape in switchyard_gateway::schema::shapes() {
            for nested in shape.nested {
                lookups.push(((nested.target)().table, format!("{}, id", nested.by)));
            }
            for lines in shape.lines {
                lookups.push((lines.shape.table, format!("{}, {}, id", lines.by, lines.order)));
            }
        }
        assert!(lookups.len() >= 8, "the shapes declare their relations: {lookups:?}");
        // Every index as `table: definition`, read once.
        let sql = match backend {
            Backend::Postgres => "SELECT tablename || ': ' || indexdef AS def FROM pg_indexes",
            Backend::Sqlite => "SELECT tbl_name || ': ' || sql AS def FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        };
        let defs: Vec<Def> = {
            let mut pooled = app.services.db.read().await.unwrap();
            let mut conn = pooled.conn();
            switchyard_kernel::db_run!(&mut conn, |c| diesel::sql_query(sql).load(c).await).unwrap()
        };
        let mut missing = Vec::new();
        for (table, columns) in &lookups {
            let wanted = match backend {
                Backend::Postgres => format!("({columns}) INCLUDE (tenant_id)"),
                Backend::Sqlite => format!("(tenant_id, {columns})"),
            };
            let table = format!("{table}: ");
            if !defs.iter().any(|d| d.def.starts_with(&table) && d.def.contains(&wanted)) {
                missing.push(format!("{table}{wanted}"));
            }
        }
        assert!(missing.is_empty(), "relations without their index: {missing:?}");
    }
}
