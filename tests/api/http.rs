//! GraphQL over HTTP: status codes, media types, limits, CSRF, and the server staying up.

use serde_json::{Value, json};

use crate::backend_test;
use crate::support::*;

async fn raw(
    app: &TestApp,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut request = app.client.post(&app.url).body(body.to_owned());
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

const GQL: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

backend_test! {
    async fn malformed_requests_get_the_spec_status_and_the_server_keeps_serving(app: TestApp) {
        // Malformed JSON: 400 for both media types, a JSON error, no data.
        let (status, ct, body) = raw(&app, Some(JSON), Some(GQL), "{not json").await;
        assert_eq!(status, 400);
        assert!(ct.starts_with(GQL), "{ct}");
        assert_eq!(error_code(&body), Some("BAD_REQUEST"));
        assert!(body.get("data").is_none());
        let (status, _, _) = raw(&app, Some(JSON), Some(JSON), "{not json").await;
        assert_eq!(status, 400);

        // Missing or non-string query, non-object variables.
        for bad in [r#"{}"#, r#"{"query": 1}"#, r#"{"query": "{__typename}", "variables": "x"}"#] {
            let (status, _, body) = raw(&app, Some(JSON), Some(GQL), bad).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }

        // A document that does not parse: 400 with graphql-response+json, 200 with json.
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL), r#"{"query": "{ me {"}"#).await;
        assert_eq!(status, 400);
        assert_eq!(error_code(&body), Some("GRAPHQL_PARSE_FAILED"));
        assert!(body.get("data").is_none());
        let (status, ct, body) = raw(&app, Some(JSON), Some(JSON), r#"{"query": "{ me {"}"#).await;
        assert_eq!(status, 200);
        assert!(ct.starts_with(JSON), "{ct}");
        assert_eq!(error_code(&body), Some("GRAPHQL_PARSE_FAILED"));

        // Validation failure (unknown field) and variable coercion failure.
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL), r#"{"query": "{ noSuchField }"}"#).await;
        assert_eq!(status, 400);
        assert_eq!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"));
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL),
            r#"{"query": "query($n: Int!) { users(first: $n) { totalCount } }", "variables": {"n": "many"}}"#).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.get("data").is_none());

        // Unknown operation name.
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL),
            r#"{"query": "query A { __typename } query B { __typename }", "operationName": "C"}"#).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains('C'));

        // Still serving.
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL), r#"{"query": "{ __typename }"}"#).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["__typename"], "Query");
    }
}

backend_test! {
    async fn cross_site_content_types_are_refused_before_anything_runs(app: TestApp) {
        let tenant = app.tenant("csrf").await;
        let mutation = r#"{"query": "mutation { createLocation(input: {name: \"Forged\", timeZone: \"UTC\"}) { location { id } } }"}"#;
        for ct in ["text/plain", "application/x-www-form-urlencoded"] {
            let response = app.client.post(&app.url)
                .header("content-type", ct)
                .bearer_auth(&tenant.owner_token)
                .body(mutation)
                .send().await.unwrap();
            assert_eq!(response.status().as_u16(), 415, "{ct}");
        }
        // Multipart is file uploads: a well-formed one without a credential header (all a
        // cross-site form can send) is refused before it is read; a malformed one is a bad
        // request.
        let form = reqwest::multipart::Form::new()
            .text("operations", mutation)
            .text("map", "{}");
        let response = app.client.post(&app.url).multipart(form).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let response = app.client.post(&app.url)
            .header("content-type", "multipart/form-data; boundary=x")
            .bearer_auth(&tenant.owner_token)
            .body(mutation)
            .send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let (status, _, _) = raw(&app, None, Some(GQL), mutation).await;
        assert_eq!(status, 415);
        let (status, _, _) = raw(&app, Some("application/json; charset=latin1"), Some(GQL), mutation).await;
        assert_eq!(status, 415);
        // Nothing was created.
        let data = app.ok(&tenant.owner_token, "{ locations { totalCount } }", json!({})).await;
        assert_eq!(data["locations"]["totalCount"], 1);
    }
}

backend_test! {
    async fn get_runs_queries_but_not_mutations(app: TestApp) {
        let response = app.client.get(format!("{}?query=%7B__typename%7D", app.url))
            .header("accept", GQL).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let response = app.client
            .get(format!("{}?query=mutation%7Blogout%7BsessionsEnded%7D%7D", app.url))
            .header("accept", GQL).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(response.headers()["allow"], "POST");
        let response = app.client.put(&app.url).body("{}").send().await.unwrap();
        assert_eq!(response.status().as_u16(), 405);
    }
}

backend_test! {
    async fn accept_header_chooses_the_media_type(app: TestApp) {
        let body = r#"{"query": "{ __typename }"}"#;
        let (_, ct, _) = raw(&app, Some(JSON), None, body).await;
        assert!(ct.starts_with(JSON), "no Accept means application/json: {ct}");
        let (_, ct, _) = raw(&app, Some(JSON), Some("*/*"), body).await;
        assert!(ct.starts_with(JSON));
        let (_, ct, _) = raw(&app, Some(JSON), Some("application/graphql-response+json, application/json;q=0.9"), body).await;
        assert!(ct.starts_with(GQL));
        let (status, _, _) = raw(&app, Some(JSON), Some("text/html"), body).await;
        assert_eq!(status, 406);
    }
}

backend_test! {
    async fn limits_answer_clear_errors(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.max_body_bytes = 2048;
        c.max_depth = 5;
        c.max_aliases = 3;
        c.max_batch = 2;
        c.max_complexity = 200;
    }) {
        let tenant = app.tenant("limits").await;
        // Body size.
        let huge = format!(r#"{{"query": "{{ __typename }}", "variables": {{"pad": "{}"}}}}"#, "x".repeat(4096));
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL), &huge).await;
        assert_eq!(status, 413);
        assert_eq!(error_code(&body), Some("PAYLOAD_TOO_LARGE"));
        // Depth.
        let (status, body) = app.post(Some(&tenant.owner_token),
            "{ users { edges { node { locations { name } roles { permissions { permission } } } } } }", json!({})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_code(&body), Some("GRAPHQL_VALIDATION_FAILED"));
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("nested too deep"), "{body}");
        // Aliases.
        let (status, body) = app.post(None, "{ a: __typename b: __typename c: __typename d: __typename }", json!({})).await;
        assert_eq!(status, 400);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("aliases"), "{body}");
        // Complexity: a page of 100 users with their roles is too expensive.
        let (status, body) = app.post(Some(&tenant.owner_token),
            "{ users(first: 100) { edges { node { name email roles { key } } } } }", json!({})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("complex"), "{body}");
        // Page size.
        let body = app.gql(Some(&tenant.owner_token), "{ locations(first: 101) { totalCount } }", json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("first"));
        // Batch size.
        let batch = r#"[{"query": "{ __typename }"}, {"query": "{ __typename }"}, {"query": "{ __typename }"}]"#;
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL), batch).await;
        assert_eq!(status, 400);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("batch"));
        let (status, _, body) = raw(&app, Some(JSON), Some(GQL), r#"[{"query": "{ __typename }"}, {"query": "{ __typename }"}]"#).await;
        assert_eq!(status, 200);
        assert_eq!(body.as_array().map(Vec::len), Some(2));
    }
}

backend_test! {
    async fn production_mode_hides_the_schema(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.mode = switchyard_gateway::Mode::Production;
    }) {
        let (status, body) = app.post(None, "{ __schema { queryType { name } } }", json!({})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("introspection is disabled"), "{body}");
        let (status, _) = app.post(None, "{ __typename }", json!({})).await;
        assert_eq!(status, 200);
        let (_, body) = app.post(None, "{ userz { totalCount } }", json!({})).await;
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("Did you mean"), "{message}");
    }
}

backend_test! {
    async fn development_mode_offers_introspection_and_suggestions(app: TestApp) {
        let data = app.gql(None, "{ __schema { queryType { name } mutationType { name } subscriptionType { name } } }", json!({})).await;
        assert_eq!(data["data"]["__schema"]["queryType"]["name"], "Query");
        assert_eq!(data["data"]["__schema"]["mutationType"]["name"], "Mutation");
        assert_eq!(data["data"]["__schema"]["subscriptionType"]["name"], "Subscription");
        let (_, body) = app.post(None, "{ userz { totalCount } }", json!({})).await;
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("Did you mean"), "{body}");
    }
}

backend_test! {
    async fn cors_follows_configuration(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.cors_origins = "https://app.example".into();
    }) {
        let preflight = app.client.request(reqwest::Method::OPTIONS, &app.url)
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .send().await.unwrap();
        assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example");
        let other = app.client.request(reqwest::Method::OPTIONS, &app.url)
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST")
            .send().await.unwrap();
        assert!(other.headers().get("access-control-allow-origin").is_none());
    }
}

backend_test! {
    async fn health_readiness_metrics_and_graphiql(app: TestApp) {
        let base = format!("http://{}", app.addr);
        assert_eq!(app.client.get(format!("{base}/healthz")).send().await.unwrap().status().as_u16(), 200);
        assert_eq!(app.client.get(format!("{base}/readyz")).send().await.unwrap().status().as_u16(), 200);
        let page = app.client.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("GraphiQL"));
        app.gql(None, "{ __typename }", json!({})).await;
        let metrics = app.client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("switchyard_http_responses_total{class=\"2xx\"}"), "{metrics}");
        assert!(metrics.contains("switchyard_db_statements_total"));
        // Every line is a comment (HELP, TYPE) or a sample: the text format Prometheus reads.
        for line in metrics.lines() {
            let sample = line.rsplit_once(' ').is_some_and(|(name, value)| {
                name.starts_with("switchyard_") && value.parse::<f64>().is_ok()
            });
            assert!(line.starts_with("# HELP switchyard_") || line.starts_with("# TYPE switchyard_") || sample, "not exposition text: {line:?}");
        }
    }
}

backend_test! {
    async fn shutdown_lets_in_flight_requests_finish(app: TestApp) {
        let mut app = app;
        // A first request opens the (pooled) connection, so that the login below travels on a
        // connection the server has already accepted: under load, a fresh connection may still
        // wait in the listen backlog when the signal comes, and that one is rightly refused.
        let warm = app.client.get(app.url.replace("/graphql", "/healthz")).send().await.unwrap();
        assert_eq!(warm.status().as_u16(), 200);
        // Read to the end: only then does the connection go back to the client's pool (an
        // unread body kept it busy, and the login went out on a new connection).
        warm.text().await.unwrap();
        // A login hashes a password: slow enough to still be running when the signal comes.
        let login = app.client.post(&app.url)
            .header("content-type", "application/json")
            .json(&json!({"query": "mutation($p: String!) { login(input: {email: \"nobody@x.example\", password: $p}) { accessToken } }", "variables": {"p": "x".repeat(200)}}))
            .send();
        let in_flight = tokio::spawn(login);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let server = app.begin_shutdown().unwrap();
        let response = in_flight.await.unwrap().unwrap();
        assert_eq!(response.status().as_u16(), 200);
        server.await.unwrap().unwrap();
        assert!(app.client.post(&app.url).body("{}").send().await.is_err(), "the listener is closed");
    }
}
