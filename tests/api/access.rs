//! Deny by default: every field has a policy, tenants never see each other, and every
//! built-in role gets exactly what the permission table gives it.

use serde_json::{Value, json};
use switchyard_kernel::policy::missing_policies;

use crate::backend_test;
use crate::support::*;

#[test]
fn every_field_of_the_schema_has_an_access_policy() {
    let sdl = switchyard_gateway::schema::sdl();
    let problems = missing_policies(&sdl, &switchyard_gateway::schema::catalog());
    assert!(
        problems.is_empty(),
        "fields without a usable @access policy:\n{}",
        problems.join("\n")
    );
    // The walk really looks: a field without a policy is reported.
    let broken =
        "type Query @access(rule: \"authenticated\") { a: Int }\ntype Thing { secret: String }\n";
    assert_eq!(
        missing_policies(broken, &switchyard_gateway::schema::catalog()),
        vec!["Thing.secret: no @access policy"]
    );
    // Subscription roots are walked like every other field.
    let subscription = "type Query @access(rule: \"authenticated\") { a: Int }\ntype Subscription { thingChanged: Int }\n";
    assert_eq!(
        missing_policies(subscription, &switchyard_gateway::schema::catalog()),
        vec!["Subscription.thingChanged: no @access policy"]
    );
    assert!(
        sdl.contains("type Subscription"),
        "the schema has subscriptions"
    );
    let typo = "type Query { a: Int @access(rule: \"identity.usr:read\") }\n";
    assert_eq!(
        missing_policies(typo, &switchyard_gateway::schema::catalog()),
        vec!["Query.a: unknown permission identity.usr:read"]
    );
}

#[test]
fn schema_graphql_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == switchyard_gateway::schema::sdl(),
        "schema.graphql is stale: run `cargo run -q -- schema > schema.graphql`"
    );
}

#[test]
fn the_event_catalogue_is_up_to_date_and_complete() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == switchyard_gateway::catalogue::markdown(),
        "docs/events.md is stale: run `cargo run -q -- events > docs/events.md`"
    );
    // Every event is documented, named `domain.aggregate.verb`, once.
    let mut names = std::collections::HashSet::new();
    for module in switchyard_gateway::schema::modules() {
        for spec in module.events.iter().flat_map(|e| e.iter()) {
            assert!(names.insert(spec.name), "{} declared twice", spec.name);
            assert!(
                spec.name.starts_with(&format!("{}.", module.name)),
                "{}",
                spec.name
            );
            assert_eq!(spec.name.split('.').count(), 3, "{}", spec.name);
            assert!(
                !spec.description.trim().is_empty(),
                "{} has no description",
                spec.name
            );
        }
    }
    assert!(names.contains("sales.quote.accepted"));
}

backend_test! {
    async fn another_tenants_objects_are_not_found_anywhere(app: TestApp) {
        let a = app.tenant("alpha").await;
        let b = app.tenant("beta").await;
        let (a_user, _) = app.user(&a, "ana@alpha.example", &["sales_rep"], &[a.location]).await;
        let a_location = a.location.to_global();
        let a_user_id = a_user.to_global();

        // By id, through node(id:) and nodes(ids:), the answer is NOT_FOUND, the same as for
        // an ID that never existed.
        let ghost = switchyard_kernel::UserId::new().to_global();
        for (query, id) in [
            ("query($id: ID!) { user(id: $id) { email } }", &a_user_id),
            ("query($id: ID!) { location(id: $id) { name } }", &a_location),
            ("query($id: ID!) { node(id: $id) { id } }", &a_user_id),
            ("query($id: ID!) { node(id: $id) { id } }", &a_location),
            ("query($id: ID!) { user(id: $id) { email } }", &ghost),
        ] {
            let body = app.gql(Some(&b.owner_token), query, json!({"id": id})).await;
            assert_eq!(error_code(&body), Some("NOT_FOUND"), "{query}: {body}");
            let field = body["data"].as_object().unwrap_or_else(|| panic!("{query}: {body}")).values().next().unwrap().clone();
            assert!(field.is_null(), "{body}");
        }
        let body = app.gql(Some(&b.owner_token), "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({"ids": [a_user_id, a_location]})).await;
        assert_eq!(body["data"]["nodes"], json!([null, null]));

        // Through filters and search: nothing of tenant A.
        let data = app.ok(&b.owner_token, "query($loc: ID!) { users(filter: {locationId: $loc}) { totalCount edges { node { email } } } }",
            json!({"loc": a_location})).await;
        assert_eq!(data["users"]["totalCount"], 0);
        let data = app.ok(&b.owner_token, "{ users(search: \"alpha\") { totalCount } locations(search: \"alpha\") { totalCount } }", json!({})).await;
        assert_eq!(data["users"]["totalCount"], 0);
        assert_eq!(data["locations"]["totalCount"], 0);
        let data = app.ok(&b.owner_token, "{ users { totalCount edges { node { email } } } }", json!({})).await;
        assert_eq!(data["users"]["totalCount"], 1);
        assert_eq!(data["users"]["edges"][0]["node"]["email"], "owner@beta.example");

        // Mutations on A's objects from B: NOT_FOUND and nothing changes.
        let body = app.gql(Some(&b.owner_token), "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Hijacked\"}) { user { name } } }",
            json!({"id": a_user_id})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"));
        let body = app.gql(Some(&b.owner_token), "mutation($id: ID!) { updateLocation(input: {id: $id, name: \"Hijacked\"}) { location { name } } }",
            json!({"id": a_location})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"));
        let data = app.ok(&a.owner_token, "query($id: ID!) { user(id: $id) { name } location: node(id: $id) { id } }", json!({"id": a_user_id})).await;
        assert_eq!(data["user"]["name"], "User ana@alpha.example");
    }
}

/// A mutation of the matrix: its field and an operation that succeeds for a permitted caller.
struct Case {
    field: &'static str,
    query: String,
    variables: Value,
}

/// Who may run which identity mutation (from the permission table in the README).
fn allowed(role: &str, field: &str) -> bool {
    let people = ["owner", "admin", "manager"];
    let admins = ["owner", "admin"];
    match field {
        "createUser" | "updateUser" | "setUserRoles" | "grantPermission" | "revokeGrant"
        | "deactivateUser" | "reactivateUser" => people.contains(&role),
        "createLocation" | "updateLocation" | "createRole" | "updateRole" | "deleteRole"
        | "createApiKey" | "revokeApiKey" => admins.contains(&role),
        "updateTenant" => role == "owner",
        "changePassword" | "logout" => true,
        other => panic!("no expectation for {other}"),
    }
}

/// Every built-in role, for the role matrices.
pub(crate) const ROLES: [&str; 10] = [
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
    async fn role_matrix_for_every_identity_mutation(app: TestApp) {
        let t = app.tenant("matrix").await;
        let loc = t.location.to_global();
        for role in ROLES {
            let (me, token) = app.user(&t, &format!("{role}-user@matrix.example"), &[role], &[t.location]).await;
            // Fresh targets for this role, so that allowed runs do not affect the next ones.
            let (target, _) = app.user(&t, &format!("target-{role}@matrix.example"), &["crew"], &[t.location]).await;
            let (inactive, _) = app.user(&t, &format!("inactive-{role}@matrix.example"), &["crew"], &[t.location]).await;
            app.ok(&t.owner_token, "mutation($id: ID!) { deactivateUser(input: {id: $id}) { userErrors { code } } }", json!({"id": inactive.to_global()})).await;
            let grant = app.ok(&t.owner_token, "mutation($id: ID!) { grantPermission(input: {userId: $id, permission: \"identity.location:read\", scope: OWN}) { grant { id } } }",
                json!({"id": target.to_global()})).await["grantPermission"]["grant"]["id"].clone();
            let role_key = format!("custom_{role}");
            app.ok(&t.owner_token, "mutation($k: String!) { createRole(input: {key: $k, name: \"Custom\", permissions: [{permission: \"identity.location:read\", scope: OWN}]}) { role { key } } }",
                json!({"k": role_key})).await;
            let key_id = app.ok(&t.owner_token, "mutation { createApiKey(input: {name: \"k\", permissions: [{permission: \"identity.location:read\", scope: TENANT}]}) { apiKey { id } } }",
                json!({})).await["createApiKey"]["apiKey"]["id"].clone();
            let _ = me;
            let cases = [
                Case { field: "createUser", query: "mutation($e: String!, $l: ID!) { createUser(input: {email: $e, name: \"N\", roles: [\"crew\"], locationIds: [$l]}) { user { id } userErrors { field code } } }".into(),
                    variables: json!({"e": format!("made-by-{role}@matrix.example"), "l": loc}) },
                Case { field: "updateUser", query: "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Renamed\"}) { user { id } userErrors { field code } } }".into(),
                    variables: json!({"id": target.to_global()}) },
                Case { field: "setUserRoles", query: "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"crew\", \"dispatcher\"]}) { user { id } userErrors { field code } } }".into(),
                    variables: json!({"id": target.to_global()}) },
                Case { field: "grantPermission", query: "mutation($id: ID!) { grantPermission(input: {userId: $id, permission: \"identity.role:read\", scope: OWN}) { grant { id } userErrors { field code } } }".into(),
                    variables: json!({"id": target.to_global()}) },
                Case { field: "revokeGrant", query: "mutation($id: ID!) { revokeGrant(input: {id: $id}) { user { id } userErrors { field code } } }".into(),
                    variables: json!({"id": grant}) },
                Case { field: "deactivateUser", query: "mutation($id: ID!) { deactivateUser(input: {id: $id}) { user { id } userErrors { field code } } }".into(),
                    variables: json!({"id": target.to_global()}) },
                Case { field: "reactivateUser", query: "mutation($id: ID!) { reactivateUser(input: {id: $id}) { user { id } userErrors { field code } } }".into(),
                    variables: json!({"id": inactive.to_global()}) },
                Case { field: "createLocation", query: "mutation($n: String!) { createLocation(input: {name: $n, timeZone: \"Europe/Oslo\"}) { location { id } userErrors { field code } } }".into(),
                    variables: json!({"n": format!("Depot of {role}")}) },
                Case { field: "updateLocation", query: "mutation($id: ID!, $n: String!) { updateLocation(input: {id: $id, name: $n}) { location { id } userErrors { field code } } }".into(),
                    variables: json!({"id": loc, "n": format!("HQ renamed by {role}")}) },
                Case { field: "createRole", query: "mutation($k: String!) { createRole(input: {key: $k, name: \"R\", permissions: [{permission: \"identity.location:read\", scope: OWN}]}) { role { key } userErrors { field code } } }".into(),
                    variables: json!({"k": format!("made_by_{role}")}) },
                Case { field: "updateRole", query: "mutation($k: String!) { updateRole(input: {key: $k, name: \"Renamed\"}) { role { key } userErrors { field code } } }".into(),
                    variables: json!({"k": role_key}) },
                Case { field: "deleteRole", query: "mutation($k: String!) { deleteRole(input: {key: $k}) { deletedKey userErrors { field code } } }".into(),
                    variables: json!({"k": role_key}) },
                Case { field: "createApiKey", query: "mutation { createApiKey(input: {name: \"mine\", permissions: [{permission: \"identity.location:read\", scope: OWN}]}) { secret userErrors { field code } } }".into(),
                    variables: json!({}) },
                Case { field: "revokeApiKey", query: "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { id } userErrors { field code } } }".into(),
                    variables: json!({"id": key_id}) },
                Case { field: "updateTenant", query: "mutation($n: String!) { updateTenant(input: {name: $n}) { tenant { name } userErrors { field code } } }".into(),
                    variables: json!({"n": format!("Renamed by {role}")}) },
                Case { field: "changePassword", query: "mutation($p: String!) { changePassword(input: {currentPassword: $p, newPassword: $p}) { user { id } userErrors { field code } } }".into(),
                    variables: json!({"p": PASSWORD}) },
                Case { field: "logout", query: "mutation { logout { sessionsEnded userErrors { field code } } }".into(),
                    variables: json!({}) },
            ];
            for case in cases {
                let body = app.gql(Some(&token), &case.query, case.variables.clone()).await;
                if allowed(role, case.field) {
                    assert!(body.get("errors").is_none(), "{role} may {}: {body}", case.field);
                    assert_eq!(body["data"][case.field]["userErrors"], json!([]), "{role} {}: {body}", case.field);
                } else {
                    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{role} may not {}: {body}", case.field);
                    assert!(body["data"][case.field].is_null(), "{body}");
                }
            }
        }
        // Nothing forbidden was written: only the three permitted roles created users.
        let data = app.ok(&t.owner_token, "{ users(search: \"made-by\") { totalCount } locations(search: \"Depot\") { totalCount } }", json!({})).await;
        assert_eq!(data["users"]["totalCount"], 3);
        assert_eq!(data["locations"]["totalCount"], 2);
    }
}

backend_test! {
    async fn a_manager_stays_within_their_locations_and_their_own_permissions(app: TestApp) {
        let t = app.tenant("acme").await;
        let other = switchyard_identity::tenants::provision::create_location(&app.services, t.id, "Elsewhere", "UTC").await.unwrap();
        let (_, manager) = app.user(&t, "boss@acme.example", &["manager"], &[t.location]).await;
        let (far, _) = app.user(&t, "far@acme.example", &["crew"], &[other]).await;
        // A user of another location: FORBIDDEN.
        let body = app.gql(Some(&manager), "mutation($id: ID!) { updateUser(input: {id: $id, name: \"X\"}) { user { id } } }", json!({"id": far.to_global()})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        // Creating a user elsewhere, or an admin: NOT_ALLOWED, and nothing is written.
        let body = app.ok(&manager, "mutation($l: ID!) { createUser(input: {email: \"x@acme.example\", name: \"X\", roles: [\"admin\"], locationIds: [$l]}) { user { id } userErrors { field code } } }",
            json!({"l": other.to_global()})).await;
        assert_eq!(user_errors(&body["createUser"]), vec![
            ("input.roles.0".to_owned(), "NOT_ALLOWED".to_owned()),
            ("input.locationIds.0".to_owned(), "NOT_ALLOWED".to_owned()),
        ]);
        let data = app.ok(&t.owner_token, "{ users(search: \"x@acme\") { totalCount } }", json!({})).await;
        assert_eq!(data["users"]["totalCount"], 0);
    }
}

backend_test! {
    async fn custom_roles_and_expiring_grants_behave_as_configured(app: TestApp) {
        let t = app.tenant("acme").await;
        let (crew, crew_token) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let create = "mutation($n: String!) { createLocation(input: {name: $n, timeZone: \"UTC\"}) { location { name } userErrors { code } } }";
        let body = app.gql(Some(&crew_token), create, json!({"n": "Crew depot"})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));

        // A custom role with identity.location:manage, given to the crew member.
        app.ok(&t.owner_token, "mutation { createRole(input: {key: \"depot_admin\", name: \"Depot admin\", permissions: [{permission: \"identity.location:manage\", scope: TENANT}]}) { role { key } } }", json!({})).await;
        app.ok(&t.owner_token, "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"crew\", \"depot_admin\"]}) { user { roles { key } } } }", json!({"id": crew.to_global()})).await;
        let data = app.ok(&crew_token, create, json!({"n": "Crew depot"})).await;
        assert_eq!(data["createLocation"]["location"]["name"], "Crew depot");
        // Taking the permission out of the role takes it away from its holders at once.
        app.ok(&t.owner_token, "mutation { updateRole(input: {key: \"depot_admin\", permissions: []}) { role { key } } }", json!({})).await;
        assert_eq!(error_code(&app.gql(Some(&crew_token), create, json!({"n": "Another"})).await), Some("FORBIDDEN"));
        // A role in use cannot be deleted.
        let body = app.ok(&t.owner_token, "mutation { deleteRole(input: {key: \"depot_admin\"}) { deletedKey userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&body["deleteRole"]), vec![("input.key".to_owned(), "INVALID_STATE".to_owned())]);

        // A grant that expires in two seconds works, then stops.
        let (observer, observer_token) = app.user(&t, "watcher@acme.example", &["observer"], &[t.location]).await;
        let expires = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let data = app.ok(&t.owner_token, "mutation($id: ID!, $at: DateTime!) { grantPermission(input: {userId: $id, permission: \"identity.location:manage\", scope: TENANT, expiresAt: $at, reason: \"stocktake\"}) { grant { active expiresAt } } }",
            json!({"id": observer.to_global(), "at": expires})).await;
        assert_eq!(data["grantPermission"]["grant"]["active"], true);
        let data = app.ok(&observer_token, create, json!({"n": "Temporary"})).await;
        assert_eq!(data["createLocation"]["userErrors"], json!([]));
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        assert_eq!(error_code(&app.gql(Some(&observer_token), create, json!({"n": "Too late"})).await), Some("FORBIDDEN"));
        let data = app.ok(&t.owner_token, "query($id: ID!) { user(id: $id) { grants { permission active } } }", json!({"id": observer.to_global()})).await;
        assert_eq!(data["user"]["grants"], json!([{"permission": "identity.location:manage", "active": false}]));
        // A grant in the past is refused.
        let body = app.ok(&t.owner_token, "mutation($id: ID!) { grantPermission(input: {userId: $id, permission: \"identity.location:manage\", scope: TENANT, expiresAt: \"2020-01-01T00:00:00Z\"}) { grant { id } userErrors { field code } } }",
            json!({"id": observer.to_global()})).await;
        assert_eq!(user_errors(&body["grantPermission"]), vec![("input.expiresAt".to_owned(), "OUT_OF_RANGE".to_owned())]);
    }
}

backend_test! {
    async fn scopes_limit_what_lists_show(app: TestApp) {
        let t = app.tenant("acme").await;
        let north = t.location;
        let south = switchyard_identity::tenants::provision::create_location(&app.services, t.id, "South", "UTC").await.unwrap();
        let (_, crew_token) = app.user(&t, "crew-n@acme.example", &["crew"], &[north]).await;
        app.user(&t, "mate-n@acme.example", &["crew"], &[north]).await;
        app.user(&t, "crew-s@acme.example", &["crew"], &[south]).await;
        let (client, client_token) = app.user(&t, "customer@acme.example", &["client"], &[]).await;
        // Crew: location scope on the directory.
        let data = app.ok(&crew_token, "{ users(orderBy: {field: EMAIL}) { edges { node { email } } } }", json!({})).await;
        let emails: Vec<&str> = data["users"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["email"].as_str().unwrap()).collect();
        assert_eq!(emails, vec!["crew-n@acme.example", "mate-n@acme.example"]);
        // Client: only itself, and no locations or roles.
        let data = app.ok(&client_token, "{ users { edges { node { email } } } me { kind } }", json!({})).await;
        assert_eq!(data["users"]["edges"], json!([{"node": {"email": "customer@acme.example"}}]));
        assert_eq!(data["me"]["kind"], "CLIENT");
        assert_eq!(error_code(&app.gql(Some(&client_token), "{ locations { totalCount } }", json!({})).await), Some("FORBIDDEN"));
        let _ = client;
        // Anonymous: nothing but the public fields.
        assert_eq!(error_code(&app.gql(None, "{ users { totalCount } }", json!({})).await), Some("UNAUTHENTICATED"));
    }
}
