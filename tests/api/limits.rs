//! No request of any shape stops the server or gets past the limits: deep values, huge and
//! repetitive documents, bad variables, strings a database would choke on. Every refusal is a
//! request error with a code, and the server keeps answering meanwhile.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::backend_test;
use crate::support::*;

const GQL: &str = "application/graphql-response+json";

/// Posts a raw body; returns status and JSON.
async fn post_raw(app: &TestApp, token: Option<&str>, body: String) -> (u16, Value) {
    let mut request = app
        .client
        .post(&app.url)
        .header("content-type", "application/json")
        .header("accept", GQL)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn healthy(app: &TestApp) -> bool {
    let url = format!("http://{}/healthz", app.addr);
    matches!(app.client.get(url).send().await, Ok(r) if r.status() == 200)
}

/// A request error: 400, a coded error, no `data`.
fn assert_refused(status: u16, body: &Value, code: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(body), Some(code), "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

backend_test! {
    async fn deeply_nested_values_are_refused_and_the_server_keeps_serving(app: TestApp) {
        let deep_list = format!("{{ __typename(x: {}1{}) }}", "[".repeat(1500), "]".repeat(1500));
        let deep_object = format!("{{ __typename(x: {}1{}) }}", "{a: ".repeat(1500), "}".repeat(1500));
        for query in [&deep_list, &deep_object] {
            // POST, without signing in.
            let (status, body) = post_raw(&app, None, json!({ "query": query }).to_string()).await;
            assert_refused(status, &body, "GRAPHQL_VALIDATION_FAILED");
            assert!(body["errors"][0]["message"].as_str().unwrap().contains("nests"), "{body}");
            // GET.
            let response = app
                .client
                .get(&app.url)
                .query(&[("query", query.as_str())])
                .header("accept", GQL)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 400);
            assert!(healthy(&app).await, "the server stopped");
        }
        // Nested variables: deeper than the limit, and as deep as JSON parsing allows.
        let mut value = json!("x");
        for _ in 0..100 {
            value = json!([value]);
        }
        let (status, body) = post_raw(&app, None, json!({
            "query": "query($x: [String]) { __typename }",
            "variables": { "x": value },
        }).to_string()).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        let nested = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let body = format!(r#"{{"query": "query($x: [Int]) {{ __typename }}", "variables": {{"x": {nested}}}}}"#);
        let (status, _) = post_raw(&app, None, body).await;
        assert_eq!(status, 400);
        // Fragments spreading each other in a long chain.
        let mut chain = String::from("{ ...F0 }");
        for i in 0..200 {
            chain.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        chain.push_str(" fragment F200 on Query { __typename }");
        let (status, body) = post_raw(&app, None, json!({ "query": chain }).to_string()).await;
        assert_refused(status, &body, "GRAPHQL_VALIDATION_FAILED");
        let (status, body) = post_raw(&app, None, json!({ "query": "{ __typename }" }).to_string()).await;
        assert_eq!((status, body), (200, json!({"data": {"__typename": "Query"}})));
    }
}

backend_test! {
    async fn costly_shapes_are_refused_before_the_expensive_work(app: TestApp) {
        // 20,000 selections of one field.
        let repeated = format!("{{ {} }}", "__typename ".repeat(20_000));
        let started = Instant::now();
        let (status, body) = post_raw(&app, None, json!({ "query": repeated }).to_string()).await;
        assert_refused(status, &body, "GRAPHQL_VALIDATION_FAILED");
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        // A fragment bomb: 2^20 selections from twenty lines.
        let mut bomb = String::from("{ ...F0 }");
        for i in 0..20 {
            bomb.push_str(&format!(" fragment F{i} on Query {{ ...F{} ...F{} }}", i + 1, i + 1));
        }
        bomb.push_str(" fragment F20 on Query { __typename }");
        let (status, body) = post_raw(&app, None, json!({ "query": bomb }).to_string()).await;
        assert_refused(status, &body, "GRAPHQL_VALIDATION_FAILED");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("fields"), "{body}");

        // A 780 KB document from 16 senders at once: each is refused by its size, and
        // /healthz keeps answering in milliseconds.
        let huge = json!({ "query": format!("{{ {} }}", "__typename ".repeat(71_000)) }).to_string();
        assert!(huge.len() > 780_000);
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut senders = Vec::new();
        for _ in 0..16 {
            let (client, url, huge) = (app.client.clone(), app.url.clone(), huge.clone());
            senders.push(tokio::spawn(async move {
                let mut refused = 0;
                while Instant::now() < deadline {
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(huge.clone())
                        .send()
                        .await
                        .unwrap();
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"), "{body}");
                    refused += 1;
                }
                refused
            }));
        }
        let mut slowest = Duration::ZERO;
        let health = format!("http://{}/healthz", app.addr);
        while Instant::now() < deadline {
            let started = Instant::now();
            let response = app.client.get(&health).send().await.unwrap();
            assert_eq!(response.status(), 200);
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut refused = 0;
        for sender in senders {
            refused += sender.await.unwrap();
        }
        assert!(refused >= 16, "{refused}");
        // Debug build, one machine shared by client and server: generous, but far from the
        // seconds the flood cost before the size check came first.
        assert!(slowest < Duration::from_millis(500), "/healthz took {slowest:?} under the flood");
    }
}

backend_test! {
    async fn bad_variables_and_enum_strings_are_request_errors(app: TestApp) {
        let t = app.tenant("vars").await;
        let token = Some(t.owner_token.as_str());
        // A required variable that is missing.
        let (status, body) = app.post(token, "query($n: Int!) { users(first: $n) { totalCount } }", json!({})).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("$n"), "{body}");
        // An Int beyond 32 bits inside an input object: nothing is written.
        let customer = customer(&app, &t.owner_token, json!({"firstName": "Vera", "lastName": "Int"})).await;
        let (status, body) = app.post(token,
            "mutation($input: CreateQuoteInput!) { createQuote(input: $input) { quote { id } } }",
            json!({"input": {"customerId": customer, "items": [
                {"description": "Crew", "quantity": 2147483648i64, "unitPriceMinor": 100, "category": "MOVING_SERVICES"}]}})).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("quantity"), "{body}");
        let quotes = app.ok(&t.owner_token, "{ quotes(first: 5) { totalCount } }", json!({})).await;
        assert_eq!(quotes["quotes"]["totalCount"], 0);
        // An unknown enum name and an unknown input field in variables.
        let (status, body) = app.post(token,
            "query($o: UserOrder) { users(orderBy: $o) { totalCount } }",
            json!({"o": {"field": "SHOE_SIZE", "colour": "red"}})).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
        // An enum given as a string literal is a validation error; as an enum value it runs.
        let (status, body) = app.post(token, r#"{ users(orderBy: {field: "NAME"}) { totalCount } }"#, json!({})).await;
        assert_refused(status, &body, "GRAPHQL_VALIDATION_FAILED");
        let data = app.ok(&t.owner_token, "{ users(orderBy: {field: NAME}) { totalCount } }", json!({})).await;
        assert_eq!(data["users"]["totalCount"], 1);
        // Under application/json a request error is 200 without data, as the spec recommends.
        let response = app.client.post(&app.url)
            .header("content-type", "application/json").header("accept", "application/json")
            .json(&json!({"query": "query($n: Int!) { __typename }"}))
            .send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body}");
    }
}

backend_test! {
    async fn strings_are_checked_once_at_the_input_and_database_text_never_reaches_a_client(app: TestApp) {
        let t = app.tenant("strings").await;
        let token = Some(t.owner_token.as_str());
        // A NUL character, in a variable and in a literal, in a mutation and in a query.
        let (status, body) = app.post(token,
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }",
            json!({"input": {"firstName": "Nul\u{0}l", "lastName": "Byte"}})).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("U+0000"), "{body}");
        let (status, body) = app.post(token, "{ customers(search: \"a\\u0000\") { totalCount } }", json!({})).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        let count = app.ok(&t.owner_token, "{ customers { totalCount } }", json!({})).await;
        assert_eq!(count["customers"]["totalCount"], 0);
        // Very long strings and searches.
        let (status, body) = app.post(token, "query($s: String) { customers(search: $s) { totalCount } }",
            json!({"s": "a".repeat(60_000)})).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        let (status, body) = app.post(token, "query($s: String) { users(search: $s) { totalCount } }",
            json!({"s": "%".repeat(100_000)})).await;
        assert_refused(status, &body, "BAD_USER_INPUT");
        // A search within the string bound but beyond the search bound: a coded field error.
        for query in [
            "query($s: String) { customers(search: $s) { totalCount } }",
            "query($s: String) { users(search: $s) { totalCount } }",
            "query($s: String) { locations(search: $s) { totalCount } }",
        ] {
            let body = app.gql(token, query, json!({"s": "ab%_".repeat(1_000)})).await;
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{query}: {body}");
            assert!(body["errors"][0]["message"].as_str().unwrap().contains("at most 200"), "{body}");
        }
        // LIKE's own wildcards in a search match themselves, not everything.
        let data = app.ok(&t.owner_token,
            r#"{ all: locations { totalCount } pct: locations(search: "%") { totalCount }
                 users(search: "_") { totalCount } }"#, json!({})).await;
        assert_eq!(data["all"]["totalCount"], 1, "{data}");
        assert_eq!(data["pct"]["totalCount"], 0, "{data}");
        assert_eq!(data["users"]["totalCount"], 0, "{data}");
    }
}

backend_test! {
    async fn response_keys_follow_the_order_of_the_query(app: TestApp) {
        let t = app.tenant("order").await;
        for _ in 0..5 {
            let body = app.ok(&t.owner_token,
                "{ me { roles { key name } name email } tenant { slug name } users(first: 5) { edges { node { email id name } } totalCount } myPermissions { scope permission } }",
                json!({})).await;
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&body), ["me", "tenant", "users", "myPermissions"]);
            assert_eq!(keys(&body["me"]), ["roles", "name", "email"]);
            assert_eq!(keys(&body["me"]["roles"][0]), ["key", "name"]);
            assert_eq!(keys(&body["tenant"]), ["slug", "name"]);
            assert_eq!(keys(&body["users"]), ["edges", "totalCount"]);
            assert_eq!(keys(&body["users"]["edges"][0]["node"]), ["email", "id", "name"]);
            assert_eq!(keys(&body["myPermissions"][0]), ["scope", "permission"]);
            // Fragments and aliases, and the checked path (a field the caller may not read
            // makes the whole query take it).
            let body = app.gql(Some(&t.owner_token),
                "{ t: tenant { ...T } me { ...M id } } fragment T on Tenant { name slug } fragment M on User { email n: name }",
                json!({})).await;
            assert_eq!(keys(&body["data"]), ["t", "me"]);
            assert_eq!(keys(&body["data"]["me"]), ["email", "n", "id"]);
            assert_eq!(keys(&body["data"]["t"]), ["name", "slug"]);
        }
    }
}
