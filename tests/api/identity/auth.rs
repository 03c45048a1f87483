//! Sessions, tokens and API keys.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use switchyard_identity::Claims;

use crate::backend_test;
use crate::support::*;

const LOGIN: &str = "mutation($email: String!, $password: String!, $tenant: String) {
  login(input: {email: $email, password: $password, tenant: $tenant}) {
    accessToken refreshToken expiresAt user { email } userErrors { field code message } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken } }";
const ME: &str = "{ me { email } }";

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.gql(None, LOGIN, json!({"email": email, "password": password}))
        .await
}

async fn me_status(app: &TestApp, token: &str) -> (u16, Value) {
    app.post(Some(token), ME, json!({})).await
}

fn claims(sub: String, tid: Option<String>, iss: &str, aud: &str, exp_from_now: i64) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        sub,
        tid,
        sid: None,
        email: None,
        iat: now,
        exp: now + exp_from_now,
        iss: iss.into(),
        aud: aud.into(),
    }
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Claims) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).unwrap()
}

backend_test! {
    async fn login_refresh_logout_round_trip(app: TestApp) {
        let tenant = app.tenant("acme").await;
        let body = login(&app, "OWNER@acme.example", PASSWORD).await;
        let session = &body["data"]["login"];
        assert_eq!(session["user"]["email"], "owner@acme.example");
        let access = session["accessToken"].as_str().unwrap().to_owned();
        let refresh = session["refreshToken"].as_str().unwrap().to_owned();
        assert!(refresh.starts_with("syr_"));
        assert_eq!(me_status(&app, &access).await.1["data"]["me"]["email"], "owner@acme.example");

        // Rotation: the new pair works; the old refresh token is spent.
        let rotated = app.gql(None, REFRESH, json!({"t": refresh})).await;
        let access2 = rotated["data"]["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
        let refresh2 = rotated["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
        assert_ne!(refresh2, refresh);
        assert_eq!(me_status(&app, &access2).await.0, 200);

        // Reusing the spent token revokes the whole family: the fresh tokens die too.
        let reused = app.gql(None, REFRESH, json!({"t": refresh})).await;
        assert_eq!(error_code(&reused), Some("UNAUTHENTICATED"));
        let (status, body) = me_status(&app, &access2).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        let again = app.gql(None, REFRESH, json!({"t": refresh2})).await;
        assert_eq!(error_code(&again), Some("UNAUTHENTICATED"));

        // Logout ends this session at once.
        let fresh = login(&app, "owner@acme.example", PASSWORD).await;
        let token = fresh["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
        app.ok(&token, "mutation { logout { sessionsEnded } }", json!({})).await;
        assert_eq!(me_status(&app, &token).await.0, 401);
        let _ = tenant;
    }
}

backend_test! {
    async fn wrong_credentials_and_bad_input(app: TestApp) {
        app.tenant("acme").await;
        let wrong = login(&app, "owner@acme.example", "Wrong-Password-1").await;
        assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
        assert!(wrong["data"]["login"].is_null());
        let unknown = login(&app, "ghost@acme.example", PASSWORD).await;
        assert_eq!(error_code(&unknown), Some("UNAUTHENTICATED"));
        assert_eq!(wrong["errors"][0]["message"], unknown["errors"][0]["message"], "no account enumeration");
        let blank = login(&app, " ", "").await;
        assert_eq!(user_errors(&blank["data"]["login"]), vec![
            ("input.email".to_owned(), "REQUIRED".to_owned()),
            ("input.password".to_owned(), "REQUIRED".to_owned()),
        ]);
    }
}

/// Signs in from the loopback address `ip` (127.0.0.x), as a client on another machine would.
async fn login_from(
    app: &TestApp,
    ip: [u8; 4],
    email: &str,
    password: &str,
    tenant: Option<&str>,
) -> Value {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap();
    let response = client
        .post(&app.url)
        .header("content-type", "application/json")
        .json(&json!({"query": LOGIN, "variables": {"email": email, "password": password, "tenant": tenant}}))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

backend_test! {
    async fn failed_sign_ins_are_throttled_per_address_without_locking_the_owner_out(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.login_failures_per_address = 25;
    }) {
        app.tenant("acme").await;
        const ATTACKER: [u8; 4] = [127, 0, 0, 2];
        const OWNER: [u8; 4] = [127, 0, 0, 3];
        // Ten wrong passwords from one address: that address is stopped for this account...
        for _ in 0..10 {
            let body = login_from(&app, ATTACKER, "owner@acme.example", "Wrong-Password-1", None).await;
            assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        }
        let body = login_from(&app, ATTACKER, "owner@acme.example", PASSWORD, None).await;
        assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
        // ...and the owner, from their own address, signs in as always.
        let body = login_from(&app, OWNER, "owner@acme.example", PASSWORD, None).await;
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
        // One address trying many accounts is stopped too, whether the accounts exist or not,
        // and that reveals nothing: the answer is the same for both.
        let mut limited = None;
        for i in 0..30 {
            let body = login_from(&app, ATTACKER, &format!("guess{i}@acme.example"), "Wrong-Password-1", None).await;
            if error_code(&body) == Some("RATE_LIMITED") {
                limited = Some(i);
                break;
            }
            assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        }
        assert_eq!(limited, Some(15), "the 26th failure from one address is refused");
        let body = login_from(&app, ATTACKER, "owner@acme.example", PASSWORD, None).await;
        assert_eq!(error_code(&body), Some("RATE_LIMITED"));
        let body = login_from(&app, OWNER, "owner@acme.example", PASSWORD, None).await;
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    }
}

backend_test! {
    async fn an_email_in_two_tenants_fails_like_any_other_until_the_slug_is_given(app: TestApp) {
        let a = app.tenant("alpha").await;
        let b = app.tenant("beta").await;
        app.user(&a, "sam@shared.example", &["sales_rep"], &[a.location]).await;
        app.user(&b, "sam@shared.example", &["sales_rep"], &[b.location]).await;
        // Without the slug, a shared email answers exactly as an unknown one does, even with
        // the right password: nothing tells that the address is registered.
        let shared = login(&app, "sam@shared.example", PASSWORD).await;
        let unknown = login(&app, "nobody@shared.example", PASSWORD).await;
        let wrong = app.gql(None, LOGIN, json!({"email": "sam@shared.example", "password": "Wrong-Password-1", "tenant": "beta"})).await;
        for body in [&shared, &unknown, &wrong] {
            assert_eq!(error_code(body), Some("UNAUTHENTICATED"), "{body}");
            assert!(body["data"]["login"].is_null(), "{body}");
        }
        assert_eq!(shared["errors"][0]["message"], unknown["errors"][0]["message"]);
        assert_eq!(shared["errors"][0]["message"], wrong["errors"][0]["message"]);
        assert!(shared["errors"][0]["message"].as_str().unwrap().contains("tenant"), "the message says how to name the company");
        let body = app.gql(None, LOGIN, json!({"email": "sam@shared.example", "password": PASSWORD, "tenant": "beta"})).await;
        let token = body["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
        let data = app.ok(&token, "{ tenant { slug } }", json!({})).await;
        assert_eq!(data["tenant"]["slug"], "beta");
    }
}

backend_test! {
    async fn a_refresh_token_presented_at_once_eight_times_has_one_winner(app: TestApp) {
        app.tenant("acme").await;
        for _round in 0..3 {
            let body = login(&app, "owner@acme.example", PASSWORD).await;
            let refresh = body["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
            let mut racers = Vec::new();
            for _ in 0..8 {
                let (client, url, refresh) = (app.client.clone(), app.url.clone(), refresh.clone());
                racers.push(tokio::spawn(async move {
                    let response = client.post(&url).header("content-type", "application/json")
                        .json(&json!({"query": REFRESH, "variables": {"t": refresh}}))
                        .send().await.unwrap();
                    response.json::<Value>().await.unwrap()
                }));
            }
            let mut won = Vec::new();
            for racer in racers {
                let body = racer.await.unwrap();
                match body["data"]["refreshSession"]["refreshToken"].as_str() {
                    Some(token) => won.push((token.to_owned(), body["data"]["refreshSession"]["accessToken"].as_str().unwrap().to_owned())),
                    None => assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}"),
                }
            }
            assert_eq!(won.len(), 1, "exactly one presentation rotates the token");
            // The others were reuse: the family is revoked, the winner's tokens included.
            let (refresh2, access2) = won.pop().unwrap();
            let again = app.gql(None, REFRESH, json!({"t": refresh2})).await;
            assert_eq!(error_code(&again), Some("UNAUTHENTICATED"), "{again}");
            assert_eq!(me_status(&app, &access2).await.0, 401);
        }
    }
}

backend_test! {
    async fn an_api_key_never_exceeds_what_its_creator_holds_now(app: TestApp) {
        let t = app.tenant("keys").await;
        let (admin, admin_token) = app.user(&t, "admin@keys.example", &["admin"], &[t.location]).await;
        customer(&app, &t.owner_token, json!({"firstName": "Key", "lastName": "Customer"})).await;
        let created = app.ok(&admin_token, "mutation { createApiKey(input: {name: \"sync\", permissions: [
            {permission: \"sales.customer:read\", scope: TENANT}, {permission: \"identity.user:read\", scope: TENANT}]}) { secret } }", json!({})).await;
        let key = created["createApiKey"]["secret"].as_str().unwrap().to_owned();
        let customers = "{ customers { totalCount } }";
        assert_eq!(app.ok(&key, customers, json!({})).await["customers"]["totalCount"], 1);
        // The creator becomes a sales rep: customers only at `own` scope (none assigned), and
        // no directory beyond what a rep reads.
        app.ok(&t.owner_token, "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"sales_rep\"]}) { user { id } userErrors { code } } }",
            json!({"id": admin.to_global()})).await;
        assert_eq!(app.ok(&key, customers, json!({})).await["customers"]["totalCount"], 0);
        // The creator becomes crew: no customers at all.
        app.ok(&t.owner_token, "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"crew\"]}) { user { id } userErrors { code } } }",
            json!({"id": admin.to_global()})).await;
        let body = app.gql(Some(&key), customers, json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        // Restored, the key is back to its own scope, never more.
        app.ok(&t.owner_token, "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"owner\"]}) { user { id } userErrors { code } } }",
            json!({"id": admin.to_global()})).await;
        assert_eq!(app.ok(&key, customers, json!({})).await["customers"]["totalCount"], 1);
        let body = app.gql(Some(&key), "{ apiKeys { totalCount } }", json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
}

backend_test! {
    async fn bad_tokens_are_unauthenticated(app: TestApp) {
        let tenant = app.tenant("acme").await;
        let sub = tenant.owner.to_string();
        let tid = Some(tenant.id.to_string());
        let secret = EncodingKey::from_secret(TEST_SECRET.as_bytes());
        let cases = [
            ("expired", sign(Algorithm::HS256, &secret, None, &claims(sub.clone(), tid.clone(), "switchyard", "switchyard", -3600))),
            ("bad signature", sign(Algorithm::HS256, &EncodingKey::from_secret(b"another-secret-another-secret-0000"), None, &claims(sub.clone(), tid.clone(), "switchyard", "switchyard", 600))),
            ("wrong issuer", sign(Algorithm::HS256, &secret, None, &claims(sub.clone(), tid.clone(), "someone-else", "switchyard", 600))),
            ("wrong audience", sign(Algorithm::HS256, &secret, None, &claims(sub.clone(), tid.clone(), "switchyard", "another-api", 600))),
            ("garbage", "not.a.token".to_owned()),
        ];
        for (case, token) in cases {
            let (status, body) = me_status(&app, &token).await;
            assert_eq!(status, 401, "{case}: {body}");
            assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{case}");
        }
        // alg: none, hand-made.
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&serde_json::to_value(claims(sub.clone(), tid.clone(), "switchyard", "switchyard", 600)).unwrap()));
        assert_eq!(me_status(&app, &none).await.0, 401, "alg none");
        // HS256 signed with the RSA *public* key (algorithm confusion).
        let public = std::fs::read(fixture("rsa-public.pem")).unwrap();
        let confused = sign(Algorithm::HS256, &EncodingKey::from_secret(&public), None,
            &claims(sub.clone(), tid.clone(), EXTERNAL_ISSUER, EXTERNAL_AUDIENCE, 600));
        assert_eq!(me_status(&app, &confused).await.0, 401, "alg confusion");
        // A valid token without a session still works (external-style), proving the cases
        // above failed for their own reason.
        let good = sign(Algorithm::HS256, &secret, None, &claims(sub, tid, "switchyard", "switchyard", 600));
        assert_eq!(me_status(&app, &good).await.0, 200);
    }
}

backend_test! {
    async fn external_provider_tokens_rs256_and_eddsa(app: TestApp) {
        let tenant = app.tenant("acme").await;
        let rsa = EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa-private.pem")).unwrap()).unwrap();
        let ed = EncodingKey::from_ed_pem(&std::fs::read(fixture("ed25519-private.pem")).unwrap()).unwrap();
        let good = claims(tenant.owner.to_string(), Some(tenant.id.to_string()), EXTERNAL_ISSUER, EXTERNAL_AUDIENCE, 600);
        for (alg, key) in [(Algorithm::RS256, &rsa), (Algorithm::EdDSA, &ed)] {
            let (status, body) = me_status(&app, &sign(alg, key, None, &good)).await;
            assert_eq!(status, 200, "{alg:?}: {body}");
            assert_eq!(body["data"]["me"]["email"], "owner@acme.example");
            // Our own issuer name is not accepted on external keys.
            let ours = claims(tenant.owner.to_string(), Some(tenant.id.to_string()), "switchyard", "switchyard", 600);
            assert_eq!(me_status(&app, &sign(alg, key, None, &ours)).await.0, 401);
            let wrong_aud = claims(tenant.owner.to_string(), Some(tenant.id.to_string()), EXTERNAL_ISSUER, "nope", 600);
            assert_eq!(me_status(&app, &sign(alg, key, None, &wrong_aud)).await.0, 401);
        }
        // An external token naming the user by email.
        let mut by_email = claims("idp|12345".into(), Some(tenant.id.to_string()), EXTERNAL_ISSUER, EXTERNAL_AUDIENCE, 600);
        by_email.email = Some("owner@acme.example".into());
        assert_eq!(me_status(&app, &sign(Algorithm::RS256, &rsa, None, &by_email)).await.0, 200);
    }
}

backend_test! {
    async fn external_keys_from_a_jwks_file(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.jwt_public_keys = String::new();
        c.jwt_jwks_file = fixture("jwks.json").display().to_string();
    }) {
        let tenant = app.tenant("acme").await;
        let rsa = EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa-private.pem")).unwrap()).unwrap();
        let ed = EncodingKey::from_ed_pem(&std::fs::read(fixture("ed25519-private.pem")).unwrap()).unwrap();
        let good = claims(tenant.owner.to_string(), Some(tenant.id.to_string()), EXTERNAL_ISSUER, EXTERNAL_AUDIENCE, 600);
        assert_eq!(me_status(&app, &sign(Algorithm::RS256, &rsa, Some("rsa-1"), &good)).await.0, 200);
        assert_eq!(me_status(&app, &sign(Algorithm::EdDSA, &ed, Some("ed-1"), &good)).await.0, 200);
        assert_eq!(me_status(&app, &sign(Algorithm::RS256, &rsa, Some("unknown-kid"), &good)).await.0, 401);
    }
}

backend_test! {
    async fn a_deactivated_users_tokens_and_keys_stop_working(app: TestApp) {
        let tenant = app.tenant("acme").await;
        let (rep, rep_token) = app.user(&tenant, "rep@acme.example", &["admin"], &[tenant.location]).await;
        let key = app.ok(&rep_token, "mutation { createApiKey(input: {name: \"ci\", permissions: [{permission: \"identity.location:read\", scope: TENANT}]}) { secret } }", json!({})).await;
        let key = key["createApiKey"]["secret"].as_str().unwrap().to_owned();
        assert_eq!(me_status(&app, &rep_token).await.0, 200);
        assert_eq!(app.post(Some(&key), "{ locations { totalCount } }", json!({})).await.0, 200);
        let data = app.ok(&tenant.owner_token, "mutation($id: ID!) { deactivateUser(input: {id: $id}) { user { status } userErrors { code } } }",
            json!({"id": rep.to_global()})).await;
        assert_eq!(data["deactivateUser"]["user"]["status"], "DEACTIVATED");
        let (status, body) = me_status(&app, &rep_token).await;
        assert_eq!(status, 401);
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        assert_eq!(app.post(Some(&key), "{ locations { totalCount } }", json!({})).await.0, 401);
        let login = login(&app, "rep@acme.example", PASSWORD).await;
        assert_eq!(error_code(&login), Some("UNAUTHENTICATED"));
    }
}

backend_test! {
    async fn api_keys_are_scoped_revocable_and_record_use(app: TestApp) {
        let tenant = app.tenant("acme").await;
        let created = app.ok(&tenant.owner_token, "mutation {
            createApiKey(input: {name: \"Partner\", permissions: [{permission: \"identity.location:read\", scope: TENANT}]}) {
              secret apiKey { id prefix lastUsedAt active permissions { permission scope } } userErrors { code } } }", json!({})).await;
        let key = created["createApiKey"]["secret"].as_str().unwrap().to_owned();
        let id = created["createApiKey"]["apiKey"]["id"].as_str().unwrap().to_owned();
        assert!(key.starts_with(created["createApiKey"]["apiKey"]["prefix"].as_str().unwrap()));
        assert!(created["createApiKey"]["apiKey"]["lastUsedAt"].is_null());
        // In scope, over Authorization or X-Api-Key.
        let data = app.ok(&key, "{ locations { totalCount } }", json!({})).await;
        assert_eq!(data["locations"]["totalCount"], 1);
        let response = app.client.post(&app.url).header("content-type", "application/json").header("x-api-key", &key)
            .json(&json!({"query": "{ locations { totalCount } }"})).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        // Out of scope: FORBIDDEN.
        let body = app.gql(Some(&key), "{ users { totalCount } }", json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"));
        // The secret is never readable again, and last use is recorded.
        let listed = app.ok(&tenant.owner_token, "{ apiKeys { edges { node { id lastUsedAt active } } } }", json!({})).await;
        let node = &listed["apiKeys"]["edges"][0]["node"];
        assert_eq!(node["id"], id.as_str());
        assert!(node["lastUsedAt"].is_string(), "{listed}");
        // A key may not exceed its creator.
        let (_, rep_token) = app.user(&tenant, "admin2@acme.example", &["admin"], &[]).await;
        let beyond = app.ok(&rep_token, "mutation { createApiKey(input: {name: \"x\", permissions: [{permission: \"identity.tenant:manage\", scope: TENANT}]}) { secret userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&beyond["createApiKey"]), vec![("input.permissions.0.permission".to_owned(), "NOT_ALLOWED".to_owned())]);
        assert!(beyond["createApiKey"]["secret"].is_null());
        // Revoked: UNAUTHENTICATED.
        app.ok(&tenant.owner_token, "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { active } } }", json!({"id": id})).await;
        let (status, body) = app.post(Some(&key), "{ locations { totalCount } }", json!({})).await;
        assert_eq!(status, 401);
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        // The list hides revoked keys unless asked about them.
        let lists = app.ok(&tenant.owner_token, r#"{ live: apiKeys { totalCount }
            revoked: apiKeys(filter: {revokedAt: {isNull: false}}) { edges { node { id active node: createdBy { email } } } }
            named: apiKeys(filter: {revokedAt: {isNull: false}, name: {contains: "nobody"}}) { totalCount } }"#, json!({})).await;
        assert_eq!(lists["live"]["totalCount"], 0, "{lists}");
        assert_eq!(lists["revoked"]["edges"][0]["node"]["id"], id.as_str(), "{lists}");
        assert_eq!(lists["revoked"]["edges"][0]["node"]["active"], false, "{lists}");
        assert_eq!(lists["revoked"]["edges"][0]["node"]["node"]["email"], "owner@acme.example", "{lists}");
        assert_eq!(lists["named"]["totalCount"], 0, "{lists}");
        // A made-up key with a real prefix is refused too.
        let forged = format!("{}_forgedsecret", key.rsplit_once('_').unwrap().0);
        assert_eq!(app.post(Some(&forged), "{ __typename }", json!({})).await.0, 401);
    }
}

backend_test! {
    async fn password_change_and_invitations(app: TestApp) {
        let tenant = app.tenant("acme").await;
        // Wrong current password and a weak new one: both reported, nothing changed.
        let body = app.ok(&tenant.owner_token, "mutation { changePassword(input: {currentPassword: \"nope\", newPassword: \"short\"}) { userErrors { field code } } }", json!({})).await;
        assert_eq!(user_errors(&body["changePassword"]), vec![
            ("input.currentPassword".to_owned(), "INVALID_CREDENTIALS".to_owned()),
            ("input.newPassword".to_owned(), "WEAK_PASSWORD".to_owned()),
        ]);
        let other_session = login(&app, "owner@acme.example", PASSWORD).await["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
        let body = app.ok(&tenant.owner_token, "mutation($c: String!) { changePassword(input: {currentPassword: $c, newPassword: \"An0ther-Secret!\"}) { user { email } userErrors { code } } }", json!({"c": PASSWORD})).await;
        assert_eq!(body["changePassword"]["user"]["email"], "owner@acme.example");
        assert_eq!(me_status(&app, &tenant.owner_token).await.0, 200, "this session stays");
        assert_eq!(me_status(&app, &other_session).await.0, 401, "other sessions end");
        assert_eq!(error_code(&login(&app, "owner@acme.example", PASSWORD).await), Some("UNAUTHENTICATED"));
        assert!(login(&app, "owner@acme.example", "An0ther-Secret!").await["data"]["login"]["accessToken"].is_string());

        // Invitation: created without a password, accepted once.
        let invited = app.ok(&tenant.owner_token, "mutation { createUser(input: {email: \"new@acme.example\", name: \"New Person\", roles: [\"crew\"]}) { invitationToken user { status } } }", json!({})).await;
        assert_eq!(invited["createUser"]["user"]["status"], "INVITED");
        let token = invited["createUser"]["invitationToken"].as_str().unwrap().to_owned();
        let accept = "mutation($t: String!, $p: String!) { acceptInvitation(input: {token: $t, password: $p}) { accessToken user { status } userErrors { field code } } }";
        let weak = app.gql(None, accept, json!({"t": token, "p": "weak"})).await;
        assert_eq!(user_errors(&weak["data"]["acceptInvitation"]), vec![("input.password".to_owned(), "WEAK_PASSWORD".to_owned())]);
        let accepted = app.gql(None, accept, json!({"t": token, "p": "Welcome-Aboard-1"})).await;
        assert_eq!(accepted["data"]["acceptInvitation"]["user"]["status"], "ACTIVE");
        let again = app.gql(None, accept, json!({"t": token, "p": "Welcome-Aboard-1"})).await;
        assert_eq!(error_code(&again), Some("UNAUTHENTICATED"));
    }
}

backend_test! {
    async fn rights_withdrawn_on_another_server_count_at_once_for_kept_callers(app: TestApp) {
        use diesel_async::RunQueryDsl;
        // Two servers on one database, as in production. Each keeps a caller's rights between
        // requests and confirms them in the planned statement itself; what changes them,
        // through the other server or by plain SQL, counts from the next request on.
        let t = app.tenant("kept").await;
        let other = app.twin(|_| {}).await;
        customer(&app, &t.owner_token, json!({"firstName": "Kept", "lastName": "Customer"})).await;
        let (rep, rep_token) = app.user(&t, "rep@kept.example", &["admin"], &[t.location]).await;
        let customers = "{ customers { totalCount } }";
        let count = |body: Value| body["data"]["customers"]["totalCount"].clone();
        assert_eq!(count(app.gql(Some(&rep_token), customers, json!({})).await), 1);
        // Kept: one statement, the planned read (background work may add to the process-wide
        // counter, so the fewest of a few runs is the request's own).
        let mut fewest = u64::MAX;
        for _ in 0..3 {
            let before = statements(&app);
            assert_eq!(count(app.gql(Some(&rep_token), customers, json!({})).await), 1);
            fewest = fewest.min(statements(&app) - before);
        }
        assert_eq!(fewest, 1, "the caller's rights were read again");

        // A role taken away on the other server: crew reads no customers.
        let roles = "mutation($id: ID!, $roles: [String!]!) { setUserRoles(input: {id: $id, roles: $roles}) { userErrors { code } } }";
        other.ok(&t.owner_token, roles, json!({"id": rep.to_global(), "roles": ["crew"]})).await;
        let body = app.gql(Some(&rep_token), customers, json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        // Given back by plain SQL: any writer counts.
        {
            let mut pooled = other.services.db.write().await.unwrap();
            let mut conn = pooled.conn();
            let sql = format!("INSERT INTO user_roles (tenant_id, user_id, role_key) VALUES ('{}', '{}', 'admin')", t.id, rep);
            switchyard_kernel::db_run!(&mut conn, |c| diesel::sql_query(&sql).execute(c).await).unwrap();
        }
        assert_eq!(count(app.gql(Some(&rep_token), customers, json!({})).await), 1);

        // The session ended on the other server: refused at once, as a credential.
        other.ok(&rep_token, "mutation { logout { sessionsEnded } }", json!({})).await;
        let (status, body) = app.post(Some(&rep_token), customers, json!({})).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));

        // A new session, kept, then the user deactivated on the other server.
        let token = app.token(t.id, rep).await;
        for _ in 0..2 {
            assert_eq!(count(app.gql(Some(&token), customers, json!({})).await), 1);
        }
        other.ok(&t.owner_token, "mutation($id: ID!) { deactivateUser(input: {id: $id}) { userErrors { code } } }",
            json!({"id": rep.to_global()})).await;
        let (status, body) = app.post(Some(&token), customers, json!({})).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        // Nor does a mutation get through (paths other than planned reads read rights again).
        let (status, _) = app.post(Some(&token), "mutation { logout { sessionsEnded } }", json!({})).await;
        assert_eq!(status, 401);
    }
}
