//! Managing users, locations and roles: validation answers `userErrors` and writes nothing;
//! stale versions conflict; retried creates do not duplicate.

use serde_json::json;

use crate::backend_test;
use crate::support::*;

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email status version } invitationToken userErrors { field code message } } }";

async fn user_count(app: &TestApp, token: &str) -> i64 {
    app.ok(token, "{ users { totalCount } }", json!({})).await["users"]["totalCount"]
        .as_i64()
        .unwrap()
}

backend_test! {
    async fn bad_user_input_is_reported_field_by_field_and_nothing_is_written(app: TestApp) {
        let t = app.tenant("acme").await;
        let before = user_count(&app, &t.owner_token).await;
        let body = app.ok(&t.owner_token, CREATE_USER, json!({"input": {
            "email": "not-an-email", "name": "  ", "password": "weak", "roles": ["sales_rep", "wizard"]
        }})).await;
        let errors = user_errors(&body["createUser"]);
        assert_eq!(errors, vec![
            ("input.email".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.name".to_owned(), "REQUIRED".to_owned()),
            ("input.password".to_owned(), "WEAK_PASSWORD".to_owned()),
            ("input.roles.1".to_owned(), "UNKNOWN_REFERENCE".to_owned()),
        ]);
        assert!(body["createUser"]["user"].is_null());
        assert!(body["createUser"]["userErrors"][3]["message"].as_str().unwrap().contains("wizard"));

        // Duplicate email, compared after normalising; an over-long name; an unknown location.
        let body = app.ok(&t.owner_token, CREATE_USER, json!({"input": {
            "email": " OWNER@Acme.Example ", "name": "x".repeat(201),
            "locationIds": [switchyard_kernel::LocationId::new().to_global()]
        }})).await;
        assert_eq!(user_errors(&body["createUser"]), vec![
            ("input.name".to_owned(), "TOO_LONG".to_owned()),
            ("input.locationIds.0".to_owned(), "UNKNOWN_REFERENCE".to_owned()),
            ("input.email".to_owned(), "DUPLICATE".to_owned()),
        ]);
        assert_eq!(user_count(&app, &t.owner_token).await, before);

        // A location with a bad time zone and a bad address.
        let body = app.ok(&t.owner_token, "mutation { createLocation(input: {name: \"Depot\", timeZone: \"Mars/Olympus\", address: {line1: \"\", city: \"Oslo\", postalCode: \"0150\", country: \"Norway\"}}) { location { id } userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&body["createLocation"]), vec![
            ("input.timeZone".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.address.line1".to_owned(), "REQUIRED".to_owned()),
            ("input.address.country".to_owned(), "INVALID_FORMAT".to_owned()),
        ]);
        // An unknown enum value is a validation error of the request itself.
        let (status, body) = app.post(Some(&t.owner_token), "mutation { createUser(input: {email: \"a@b.example\", name: \"A\", kind: ROBOT}) { user { id } } }", json!({})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(user_count(&app, &t.owner_token).await, before);
    }
}

backend_test! {
    async fn create_update_with_versions_and_idempotency(app: TestApp) {
        let t = app.tenant("acme").await;
        let input = json!({"input": {"email": "Kim@Acme.example", "name": "Kim", "password": "Sturdy-Passw0rd",
            "roles": ["sales_rep"], "locationIds": [t.location.to_global()], "idempotencyKey": "req-1"}});
        let first = app.ok(&t.owner_token, CREATE_USER, input.clone()).await;
        let user = &first["createUser"]["user"];
        assert_eq!(user["email"], "kim@acme.example");
        assert_eq!(user["status"], "ACTIVE");
        assert_eq!(user["version"], 1);
        // The same request again returns the same user.
        let again = app.ok(&t.owner_token, CREATE_USER, input).await;
        assert_eq!(again["createUser"]["user"]["id"], user["id"]);
        assert_eq!(again["createUser"]["userErrors"], json!([]));
        assert_eq!(user_count(&app, &t.owner_token).await, 2);

        let update = "mutation($id: ID!, $v: Int) { updateUser(input: {id: $id, expectedVersion: $v, name: \"Kim Berg\"}) { user { name version } userErrors { code } } }";
        let data = app.ok(&t.owner_token, update, json!({"id": user["id"], "v": 1})).await;
        assert_eq!(data["updateUser"]["user"], json!({"name": "Kim Berg", "version": 2}));
        let stale = app.gql(Some(&t.owner_token), update, json!({"id": user["id"], "v": 1})).await;
        assert_eq!(error_code(&stale), Some("CONFLICT"));
        // Roles and locations through the user.
        let data = app.ok(&t.owner_token, "query($id: ID!) { user(id: $id) { roles { key builtin } locations { name timeZone } } }", json!({"id": user["id"]})).await;
        assert_eq!(data["user"]["roles"], json!([{"key": "sales_rep", "builtin": true}]));
        assert_eq!(data["user"]["locations"], json!([{"name": "acme HQ", "timeZone": "Europe/Stockholm"}]));
    }
}

backend_test! {
    async fn the_last_owner_cannot_be_demoted_and_nobody_deactivates_themselves(app: TestApp) {
        let t = app.tenant("acme").await;
        let body = app.ok(&t.owner_token, "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"admin\"]}) { user { id } userErrors { field code } } }",
            json!({"id": t.owner.to_global()})).await;
        assert_eq!(user_errors(&body["setUserRoles"]), vec![("input.roles".to_owned(), "INVALID_STATE".to_owned())]);
        let body = app.ok(&t.owner_token, "mutation($id: ID!) { deactivateUser(input: {id: $id}) { user { id } userErrors { field code } } }",
            json!({"id": t.owner.to_global()})).await;
        assert_eq!(user_errors(&body["deactivateUser"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        let data = app.ok(&t.owner_token, "{ me { roles { key } status } }", json!({})).await;
        assert_eq!(data["me"], json!({"roles": [{"key": "owner"}], "status": "ACTIVE"}));
    }
}

backend_test! {
    async fn lists_page_by_keyset_both_ways(app: TestApp) {
        let t = app.tenant("acme").await;
        for name in ["Bea", "Ada", "Cyd", "Dot", "Eve"] {
            app.user(&t, &format!("{}@acme.example", name.to_lowercase()), &["crew"], &[t.location]).await;
        }
        let page = "query($first: Int, $after: String, $last: Int, $before: String) {
            users(first: $first, after: $after, last: $last, before: $before, filter: {role: \"crew\"}) {
              totalCount edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
        let names = |data: &serde_json::Value| -> Vec<String> {
            data["users"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap().replace("User ", "")).collect()
        };
        let p1 = app.ok(&t.owner_token, page, json!({"first": 2})).await;
        assert_eq!(names(&p1), vec!["ada@acme.example", "bea@acme.example"]);
        assert_eq!(p1["users"]["totalCount"], 5);
        assert_eq!(p1["users"]["pageInfo"]["hasNextPage"], true);
        let p2 = app.ok(&t.owner_token, page, json!({"first": 2, "after": p1["users"]["pageInfo"]["endCursor"]})).await;
        assert_eq!(names(&p2), vec!["cyd@acme.example", "dot@acme.example"]);
        let p3 = app.ok(&t.owner_token, page, json!({"first": 2, "after": p2["users"]["pageInfo"]["endCursor"]})).await;
        assert_eq!(names(&p3), vec!["eve@acme.example"]);
        assert_eq!(p3["users"]["pageInfo"]["hasNextPage"], false);
        let back = app.ok(&t.owner_token, page, json!({"last": 2, "before": p3["users"]["pageInfo"]["startCursor"]})).await;
        assert_eq!(names(&back), vec!["cyd@acme.example", "dot@acme.example"]);
        assert_eq!(back["users"]["pageInfo"]["hasPreviousPage"], true);
        let bad = app.gql(Some(&t.owner_token), page, json!({"first": 2, "after": "garbage"})).await;
        assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"));
        // Descending by creation.
        let data = app.ok(&t.owner_token, "{ users(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) { edges { node { email } } } }", json!({})).await;
        assert_eq!(data["users"]["edges"][0]["node"]["email"], "eve@acme.example");
    }
}

backend_test! {
    async fn the_directory_filters_by_typed_fields_and_combinations(app: TestApp) {
        let t = app.tenant("acme").await;
        app.user(&t, "ada@acme.example", &["crew"], &[t.location]).await;
        app.user(&t, "bo@acme.example", &["sales_rep"], &[t.location]).await;
        app.user(&t, "kund@acme.example", &["client"], &[]).await;
        let invited = app.ok(&t.owner_token, CREATE_USER, json!({"input": {"email": "new@acme.example", "name": "Newcomer"}})).await;
        assert_eq!(invited["createUser"]["user"]["status"], "INVITED", "{invited}");
        let emails = |data: &serde_json::Value| -> Vec<String> {
            data["users"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["email"].as_str().unwrap().to_owned()).collect()
        };
        let q = "query($f: UserFilter, $s: String) { users(filter: $f, search: $s, orderBy: {field: EMAIL}) { totalCount edges { node { email } } } }";
        // One field.
        let data = app.ok(&t.owner_token, q, json!({"f": {"status": {"eq": "INVITED"}}})).await;
        assert_eq!(emails(&data), vec!["new@acme.example"]);
        // `or` across a role and a kind; `not` of a role; `in` on an enum.
        let data = app.ok(&t.owner_token, q, json!({"f": {"or": [{"role": "crew"}, {"kind": {"eq": "CLIENT"}}]}})).await;
        assert_eq!(emails(&data), vec!["ada@acme.example", "kund@acme.example"]);
        let data = app.ok(&t.owner_token, q, json!({"f": {"kind": {"eq": "STAFF"}, "not": {"role": "crew"}, "status": {"in": ["ACTIVE"]}}})).await;
        assert_eq!(emails(&data), vec!["bo@acme.example", "owner@acme.example"]);
        // A location, with a search on top; an unknown location ID is no match, not an error.
        let data = app.ok(&t.owner_token, q, json!({"f": {"locationId": t.location.to_global()}, "s": "ada"})).await;
        assert_eq!(emails(&data), vec!["ada@acme.example"]);
        let data = app.gql(Some(&t.owner_token), q, json!({"f": {"locationId": "nonsense"}})).await;
        assert_eq!(error_code(&data), Some("NOT_FOUND"), "{data}");
    }
}

backend_test! {
    async fn changes_are_audited(app: TestApp) {
        let t = app.tenant("acme").await;
        let (kim, _) = app.user(&t, "kim@acme.example", &["crew"], &[t.location]).await;
        app.ok(&t.owner_token, "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Kim B\"}) { user { id } } }", json!({"id": kim.to_global()})).await;
        let caller = switchyard_kernel::Caller::system(t.id, &app.services.catalog);
        let mut pooled = app.services.db.read().await.unwrap();
        let history = switchyard_kernel::audit::history(&mut pooled.conn(), &caller, "User", &kim.to_string()).await.unwrap();
        let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
        assert_eq!(actions, vec!["identity.user.created", "identity.user.updated"]);
        let last = history.last().unwrap();
        assert_eq!(last.actor_id.as_deref(), Some(t.owner.to_string().as_str()));
        assert!(last.before_state.as_deref().unwrap().contains("User kim@acme.example"));
        assert!(last.after_state.as_deref().unwrap().contains("Kim B"));
        assert!(!last.after_state.as_deref().unwrap().contains("argon2"), "no password hashes in the audit log");
    }
}

backend_test! {
    async fn total_count_answers_every_selection_of_it(app: TestApp) {
        let t = app.tenant("counts").await;
        app.user(&t, "kim@counts.example", &["crew"], &[t.location]).await;
        customer(&app, &t.owner_token, json!({"firstName": "Ada", "lastName": "Count"})).await;
        // Twice through an alias, twice through fragments (Relay and Apollo compose them so),
        // and on a connection that was once built without a count.
        let data = app.ok(&t.owner_token,
            "{ users { totalCount n: totalCount ...A ...B }
               customers { ...C totalCount }
               apiKeys { totalCount again: totalCount } }
             fragment A on UserConnection { totalCount }
             fragment B on UserConnection { totalCount edges { cursor } }
             fragment C on CustomerConnection { totalCount }",
            json!({})).await;
        assert_eq!(data["users"]["totalCount"], 2, "{data}");
        assert_eq!(data["users"]["n"], 2, "{data}");
        assert_eq!(data["customers"]["totalCount"], 1, "{data}");
        assert_eq!(data["apiKeys"]["totalCount"], 0, "{data}");
        assert_eq!(data["apiKeys"]["again"], 0, "{data}");
        // The count runs once however often it is selected.
        // The customer's event may still be on its way (on a loaded machine, inside the count).
        settle_events(&app).await;
        let before = statements(&app);
        app.ok(&t.owner_token, "{ users { a: totalCount b: totalCount c: totalCount } }", json!({})).await;
        // One planned statement that answers all three (and confirms the caller's rights, kept
        // from the requests before).
        assert_eq!(statements(&app) - before, 1);
    }
}

backend_test! {
    async fn locations_are_created_updated_filtered_and_sorted(app: TestApp) {
        let t = app.tenant("acme").await;
        let create = "mutation($name: String!) { createLocation(input: {name: $name, timeZone: \"Europe/Oslo\", idempotencyKey: $name}) { location { id name version active } userErrors { field code } } }";
        let north = app.ok(&t.owner_token, create, json!({"name": "North depot"})).await["createLocation"]["location"].clone();
        assert_eq!((north["version"].clone(), north["active"].clone()), (json!(1), json!(true)));
        // Retried with the same key: the same location, not a second one.
        let again = app.ok(&t.owner_token, create, json!({"name": "North depot"})).await;
        assert_eq!(again["createLocation"]["location"]["id"], north["id"]);
        app.ok(&t.owner_token, create, json!({"name": "South depot"})).await;
        // A versioned update; a stale version is a conflict and writes nothing.
        let update = "mutation($id: ID!, $v: Int) { updateLocation(input: {id: $id, expectedVersion: $v, active: false}) { location { active version } } }";
        let data = app.ok(&t.owner_token, update, json!({"id": north["id"], "v": 1})).await;
        assert_eq!(data["updateLocation"]["location"], json!({"active": false, "version": 2}));
        let stale = app.gql(Some(&t.owner_token), update, json!({"id": north["id"], "v": 1})).await;
        assert_eq!(error_code(&stale), Some("CONFLICT"));
        // Typed filters, search and order.
        let data = app.ok(&t.owner_token, r#"{
            active: locations(filter: {active: {eq: true}, name: {contains: "depot"}}) { edges { node { name } } }
            desc: locations(search: "DEPOT", orderBy: {field: NAME, direction: DESC}) { edges { node { name } } }
            either: locations(filter: {or: [{name: {eq: "North depot"}}, {not: {active: {eq: true}}}]}) { totalCount }
        }"#, json!({})).await;
        assert_eq!(data["active"]["edges"], json!([{"node": {"name": "South depot"}}]));
        assert_eq!(data["desc"]["edges"], json!([{"node": {"name": "South depot"}}, {"node": {"name": "North depot"}}]));
        assert_eq!(data["either"]["totalCount"], 1);
        // Without identity.location:read a location is not read by ID, not even through node.
        let (_, client) = app.user(&t, "c@acme.example", &["client"], &[]).await;
        let body = app.gql(Some(&client), "query($id: ID!) { node(id: $id) { id } }", json!({"id": north["id"]})).await;
        assert!(body["data"]["node"].is_null(), "{body}");
        assert!(body["errors"].is_array(), "{body}");
    }
}
