//! Files on tickets: uploaded by the GraphQL multipart request spec, downloaded through signed
//! links that open only while their holder sees the file, internal ones hidden from clients,
//! and bad files refused with nothing left in the store.

use serde_json::{Value, json};

use crate::backend_test;
use crate::support::*;

const CREATE: &str = "mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } userErrors { field code message } } }";
const ATTACH: &str = "mutation($input: AttachToTicketInput!) { attachToTicket(input: $input) { attachment { id fileName contentType sizeBytes internal downloadUrl author { id } ticket { number } } userErrors { field code message } } }";
const FILES: &str = "query($id: ID!) { ticket(id: $id) { attachments { totalCount edges { node { id fileName internal } } } activities { edges { node { kind body toValue internal } } } } }";

/// A PNG's first bytes: enough for its signature.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

/// Posts `attachToTicket` as a multipart request (GraphQL multipart request spec) with one
/// file; the HTTP status and the JSON body.
async fn upload(
    app: &TestApp,
    token: Option<&str>,
    ticket: &str,
    name: &str,
    bytes: &[u8],
    internal: bool,
) -> (u16, Value) {
    let operations = json!({
        "query": ATTACH,
        "variables": {"input": {"ticketId": ticket, "file": null, "internal": internal}},
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.input.file"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
    let mut request = app.client.post(&app.url).multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An upload that must reach the mutation; its payload.
async fn attach(
    app: &TestApp,
    token: &str,
    ticket: &str,
    name: &str,
    bytes: &[u8],
    internal: bool,
) -> Value {
    let (status, body) = upload(app, Some(token), ticket, name, bytes, internal).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["attachToTicket"].clone()
}

/// GETs a download link; the status, content type, disposition and bytes.
async fn download(app: &TestApp, link: &str) -> (u16, String, String, Vec<u8>) {
    let response = app
        .client
        .get(format!("http://{}{link}", app.addr))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        disposition,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// The file names of a ticket's attachments as `token` lists them, and the bodies of its
/// ATTACHMENT_ADDED entries.
async fn seen(app: &TestApp, token: &str, ticket: &str) -> (Vec<String>, Vec<String>) {
    let data = app.ok(token, FILES, json!({"id": ticket})).await;
    let names: Vec<String> = data["ticket"]["attachments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["fileName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        data["ticket"]["attachments"]["totalCount"],
        json!(names.len())
    );
    let entries = data["ticket"]["activities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["kind"] == "ATTACHMENT_ADDED")
        .map(|e| e["node"]["body"].as_str().unwrap().to_owned())
        .collect();
    (names, entries)
}

/// The keys in the file store.
async fn stored(app: &TestApp) -> Vec<String> {
    app.services.files.keys("attachments").await.unwrap()
}

backend_test! {
    async fn files_follow_their_ticket_and_links_open_only_for_who_still_sees_them(app: TestApp) {
        let t = app.tenant("acme").await;
        let (_, client) = app.user(&t, "kajsa@client.example", &["client"], &[]).await;
        let (_, stranger) = app.user(&t, "other@client.example", &["client"], &[]).await;
        let (agent, agent_token) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let (other, _) = app.user(&t, "other@acme.example", &["support_agent"], &[]).await;
        let (_, admin) = app.user(&t, "admin@acme.example", &["admin"], &[]).await;
        let beta = app.tenant("beta").await;

        let data = app.ok(&client, CREATE, json!({"input": {"subject": "Scratched piano"}})).await;
        let ticket = data["createTicket"]["ticket"]["id"].as_str().unwrap().to_owned();

        // The client attaches a screenshot: its type comes from the bytes, its name is kept.
        let shot = attach(&app, &client, &ticket, "piano lid (1).png", PNG, false).await;
        assert_eq!(shot["userErrors"], json!([]), "{shot}");
        let shot = shot["attachment"].clone();
        assert_eq!((shot["fileName"].clone(), shot["contentType"].clone(), shot["sizeBytes"].clone(), shot["internal"].clone()),
            (json!("piano lid (1).png"), json!("image/png"), json!(PNG.len()), json!(false)));
        assert_eq!(shot["ticket"]["number"], 1001);
        // A client attaches nothing for staff only.
        let refused = attach(&app, &client, &ticket, "secret.txt", b"psst", true).await;
        assert_eq!(user_errors(&refused), vec![("input.internal".to_owned(), "NOT_ALLOWED".to_owned())]);

        // The agent takes the ticket and attaches a file for staff only.
        app.ok(&agent_token, "mutation($id: ID!, $a: ID) { assignTicket(input: {ticketId: $id, assigneeId: $a}) { userErrors { code } } }", json!({"id": ticket, "a": agent.to_global()})).await;
        let note = attach(&app, &agent_token, &ticket, "damage report.txt", b"Lid: 12 cm scratch.\n", true).await;
        let note = note["attachment"].clone();
        assert_eq!((note["contentType"].clone(), note["internal"].clone()), (json!("text/plain"), json!(true)));

        // Staff see both files and both timeline entries; the client neither the file nor its
        // entry, not by ID either; nor does another client or another tenant see anything.
        let both = (vec!["damage report.txt".to_owned(), "piano lid (1).png".to_owned()], vec!["damage report.txt".to_owned(), "piano lid (1).png".to_owned()]);
        assert_eq!(seen(&app, &agent_token, &ticket).await, both);
        assert_eq!(seen(&app, &admin, &ticket).await, both);
        let only = (vec!["piano lid (1).png".to_owned()], vec!["piano lid (1).png".to_owned()]);
        assert_eq!(seen(&app, &client, &ticket).await, only);
        for query in ["query($id: ID!) { node(id: $id) { id } }", "query($id: ID!) { ticketAttachment(id: $id) { id } }"] {
            for token in [&client, &stranger, &beta.owner_token] {
                let body = app.gql(Some(token), query, json!({"id": note["id"]})).await;
                assert_eq!(body["data"].as_object().unwrap().values().next(), Some(&Value::Null), "{body}");
            }
        }

        // Links: each opens the file for whom it was made, as an attachment, not rendered.
        let (status, content_type, disposition, bytes) = download(&app, shot["downloadUrl"].as_str().unwrap()).await;
        assert_eq!((status, content_type.as_str(), bytes.as_slice()), (200, "image/png", PNG));
        assert!(disposition.starts_with("attachment; filename=\"piano lid _1_.png\"; filename*=UTF-8''piano%20lid%20%281%29.png"), "{disposition}");
        let agents_link = note["downloadUrl"].as_str().unwrap().to_owned();
        let (status, _, _, bytes) = download(&app, &agents_link).await;
        assert_eq!((status, bytes.as_slice()), (200, b"Lid: 12 cm scratch.\n".as_slice()));
        // An altered link opens nothing: another file, another person, another expiry.
        let shot_id = shot["id"].as_str().unwrap();
        let note_id = note["id"].as_str().unwrap();
        let other_file = agents_link.replace(note_id, shot_id);
        let other_person = agents_link.replace(&agent.to_string(), &other.to_string());
        let (path, query) = agents_link.split_once('?').unwrap();
        let later: String = query.split('&').map(|p| match p.strip_prefix("e=") {
            Some(e) => format!("e={}", e.parse::<i64>().unwrap() + 3600),
            None => p.to_owned(),
        }).collect::<Vec<_>>().join("&");
        let other_tenant = agents_link.replace(&t.id.to_string(), &beta.id.to_string());
        for link in [other_file, other_person, format!("{path}?{later}"), other_tenant, path.to_owned()] {
            let (status, _, _, _) = download(&app, &link).await;
            assert_eq!(status, 403, "{link}");
        }

        // The admin hands the ticket to another agent: the first agent's link stops working,
        // although it has not expired.
        app.ok(&admin, "mutation($id: ID!, $a: ID) { assignTicket(input: {ticketId: $id, assigneeId: $a}) { userErrors { code } } }", json!({"id": ticket, "a": other.to_global()})).await;
        let (status, _, _, _) = download(&app, &agents_link).await;
        assert_eq!(status, 404);
        let fresh = app.ok(&admin, "query($id: ID!) { ticketAttachment(id: $id) { downloadUrl } }", json!({"id": note_id})).await;
        let (status, _, _, _) = download(&app, fresh["ticketAttachment"]["downloadUrl"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(stored(&app).await.len(), 2);
    }
}

backend_test! {
    async fn bad_files_are_refused_by_name_size_and_type_and_leave_nothing_behind(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.files_max_bytes = 1024;
    }) {
        let t = app.tenant("acme").await;
        let (_, client) = app.user(&t, "kajsa@client.example", &["client"], &[]).await;
        let (_, agent) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let data = app.ok(&client, CREATE, json!({"input": {"subject": "Scratched piano"}})).await;
        let ticket = data["createTicket"]["ticket"]["id"].as_str().unwrap().to_owned();
        let refused = |payload: &Value| {
            assert_eq!(payload["attachment"], Value::Null, "{payload}");
            let errors = user_errors(payload);
            assert_eq!(errors.len(), 1, "{payload}");
            (errors[0].1.clone(), payload["userErrors"][0]["message"].as_str().unwrap().to_owned())
        };

        let too_big = vec![b'a'; 1025];
        let cases: [(&str, &[u8], &str, &str); 6] = [
            ("big.txt", &too_big, "TOO_LONG", "larger than the limit of 1024 bytes"),
            ("cat.png", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0", "INVALID_FORMAT", "application/vnd.microsoft.portable-executable are not accepted"),
            ("../../etc/passwd.txt", b"x", "INVALID_FORMAT", "path separators"),
            ("C:\\boot.txt", b"x", "INVALID_FORMAT", "path separators"),
            ("tab\there.txt", b"x", "INVALID_FORMAT", "control characters"),
            ("empty.txt", b"", "TOO_SHORT", "empty"),
        ];
        for (name, bytes, code, message) in cases {
            let (code_seen, message_seen) = refused(&attach(&app, &client, &ticket, name, bytes, false).await);
            assert_eq!(code_seen, code, "{name}");
            assert!(message_seen.contains(message), "{name}: {message_seen}");
        }
        // A file at the limit is fine; a closed ticket takes none, and leaves no file.
        let ok = attach(&app, &client, &ticket, "fits.txt", &too_big[..1024], false).await;
        assert_eq!(ok["userErrors"], json!([]), "{ok}");
        app.ok(&agent, "mutation($id: ID!) { changeTicketStatus(input: {ticketId: $id, status: CLOSED}) { userErrors { code } } }", json!({"id": ticket})).await;
        let (code, _) = refused(&attach(&app, &client, &ticket, "late.png", PNG, false).await);
        assert_eq!(code, "INVALID_STATE");
        let (names, entries) = seen(&app, &agent, &ticket).await;
        assert_eq!((names, entries), (vec!["fits.txt".to_owned()], vec!["fits.txt".to_owned()]));
        assert_eq!(stored(&app).await.len(), 1);

        // Without a credential header, a multipart request is refused before it is read (a
        // cross-site form cannot send one); a JSON request naming an upload carries no file.
        let (status, body) = upload(&app, None, &ticket, "x.txt", b"x", false).await;
        assert_eq!((status, error_code(&body)), (401, Some("UNAUTHENTICATED")), "{body}");
        let body = app.gql(Some(&client), ATTACH, json!({"input": {"ticketId": ticket, "file": "upload:0"}})).await;
        assert_eq!(user_errors(&body["data"]["attachToTicket"]), vec![("input.file".to_owned(), "REQUIRED".to_owned())], "{body}");
        // A `map` naming a place that is not a null variable is a bad request.
        let form = reqwest::multipart::Form::new()
            .text("operations", json!({"query": ATTACH, "variables": {"input": {"ticketId": ticket, "file": null}}}).to_string())
            .text("map", json!({"0": ["variables.input.ticketId"]}).to_string())
            .part("0", reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"));
        let response = app.client.post(&app.url).bearer_auth(&client).multipart(form).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(stored(&app).await.len(), 1);
    }
}

/// Files in an S3-compatible store (`files_s3_*`): the moto server `.ci/run` starts. Ignored
/// unless asked for; then it fails without `SWITCHYARD_TEST_S3_URL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3-compatible server: set SWITCHYARD_TEST_S3_URL and pass --include-ignored"]
async fn files_live_in_an_s3_compatible_store_when_one_is_configured() {
    let url = std::env::var("SWITCHYARD_TEST_S3_URL")
        .expect("SWITCHYARD_TEST_S3_URL must name an S3-compatible server for this test");
    // A bucket of this test's own.
    let bucket = format!("switchyard-test-{}", uuid::Uuid::now_v7().simple());
    let created = reqwest::Client::new()
        .put(format!("{url}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let app = TestApp::spawn(Backend::Sqlite, |c: &mut switchyard_gateway::Config| {
        c.files_s3_bucket = bucket.clone();
        c.files_s3_endpoint = url.clone();
        c.files_s3_access_key_id = "test".into();
        c.files_s3_secret_access_key = "test".into();
    })
    .await
    .unwrap();
    let t = app.tenant("acme").await;
    let (_, client) = app.user(&t, "kajsa@client.example", &["client"], &[]).await;
    let data = app
        .ok(
            &client,
            CREATE,
            json!({"input": {"subject": "Scratched piano"}}),
        )
        .await;
    let ticket = data["createTicket"]["ticket"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shot = attach(&app, &client, &ticket, "lid.png", PNG, false).await;
    assert_eq!(shot["userErrors"], json!([]), "{shot}");
    let (status, content_type, _, bytes) =
        download(&app, shot["attachment"]["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(
        (status, content_type.as_str(), bytes.as_slice()),
        (200, "image/png", PNG)
    );
    // The object is in the bucket, under the attachment's ID, and a refused file is not.
    let refused = attach(
        &app,
        &client,
        &ticket,
        "x.exe",
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0",
        false,
    )
    .await;
    assert_eq!(user_errors(&refused).len(), 1);
    let id = shot["attachment"]["id"].as_str().unwrap();
    let uuid = switchyard_kernel::ids::decode_global(id).unwrap().1;
    assert_eq!(
        stored(&app).await,
        vec![format!("attachments/{}/{uuid}", t.id)]
    );
    let listing = reqwest::Client::new()
        .get(format!("{url}/{bucket}?list-type=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains(&format!("<Key>attachments/{}/{uuid}</Key>", t.id)),
        "{listing}"
    );
}
