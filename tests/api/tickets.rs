//! The support desk: tickets from portal clients, worked by agents, with each role's view of
//! them (a client never sees an internal note), numbers without gaps, and no crossing of
//! tenants.

use serde_json::{Value, json};

use crate::backend_test;
use crate::operations::jobs::events_of;
use crate::support::*;

const CREATE: &str = "mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id number status priority subject tags version requester { id } } userErrors { field code message } } }";
const REPLY: &str = "mutation($id: ID!, $body: String!) { replyToTicket(input: {ticketId: $id, body: $body}) { ticket { status resolvedAt firstResponseAt version } userErrors { field code message } } }";
const NOTE: &str = "mutation($id: ID!, $body: String!) { addInternalNote(input: {ticketId: $id, body: $body}) { ticket { version } userErrors { field code message } } }";
const ASSIGN: &str = "mutation($id: ID!, $agent: ID) { assignTicket(input: {ticketId: $id, assigneeId: $agent}) { ticket { assignee { id } } userErrors { field code message } } }";
const STATUS: &str = "mutation($id: ID!, $status: TicketStatus!) { changeTicketStatus(input: {ticketId: $id, status: $status}) { ticket { status resolvedAt closedAt } userErrors { field code message } } }";
const PRIORITY: &str = "mutation($id: ID!, $priority: TicketPriority!) { changeTicketPriority(input: {ticketId: $id, priority: $priority}) { ticket { priority } userErrors { field code message } } }";
const TIMELINE: &str = "query($id: ID!) { ticket(id: $id) { number status activities { edges { node { id kind body fromValue toValue author { id } } } } } }";
const LIST: &str = "query($filter: TicketFilter, $search: String) { tickets(first: 50, filter: $filter, search: $search) { totalCount edges { node { number } } } }";

/// The numbers of the tickets a caller lists, in the list's order.
async fn numbers(app: &TestApp, token: &str, filter: Value, search: Option<&str>) -> Vec<i64> {
    let data = app
        .ok(token, LIST, json!({"filter": filter, "search": search}))
        .await;
    data["tickets"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["number"].as_i64().unwrap())
        .collect()
}

/// The kinds of a ticket's timeline entries, oldest first (the page lists them newest first).
/// The (kind, title) of a user's notifications, newest first, and of the messages queued for
/// them (channel, recipient).
async fn heard(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let data = app
        .ok(
            token,
            "{ notifications(first: 20) { edges { node { kind title subjectType } } } }",
            json!({}),
        )
        .await;
    data["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["node"]["subjectType"], "Ticket");
            (
                e["node"]["kind"].as_str().unwrap().to_owned(),
                e["node"]["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn kinds(timeline: &Value) -> Vec<String> {
    timeline["ticket"]["activities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// A ticket's timeline entry, counted from the oldest.
fn entry(timeline: &Value, i: usize) -> Value {
    let edges = timeline["ticket"]["activities"]["edges"]
        .as_array()
        .unwrap();
    edges[edges.len() - 1 - i]["node"].clone()
}

backend_test! {
    async fn a_client_opens_a_ticket_an_agent_works_it_and_the_timeline_is_complete(app: TestApp) {
        let t = app.tenant("acme").await;
        let (client, client_token) = app.user(&t, "kajsa@client.example", &["client"], &[]).await;
        let (agent, agent_token) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let (other, other_token) = app.user(&t, "other@acme.example", &["support_agent"], &[]).await;
        let (_, admin_token) = app.user(&t, "admin@acme.example", &["admin"], &[]).await;

        // A client opens two tickets: numbered from 1001, NEW, MEDIUM, its own.
        let data = app.ok(&client_token, CREATE, json!({"input": {"subject": "  Scratched piano ", "description": "The movers scratched our piano lid."}})).await;
        let piano = &data["createTicket"]["ticket"];
        assert_eq!(data["createTicket"]["userErrors"], json!([]), "{data}");
        assert_eq!((piano["number"].clone(), piano["status"].clone(), piano["priority"].clone()), (json!(1001), json!("NEW"), json!("MEDIUM")));
        assert_eq!(piano["subject"], "Scratched piano");
        assert_eq!(piano["requester"]["id"], json!(client.to_global()));
        let piano = piano["id"].as_str().unwrap().to_owned();
        let data = app.ok(&client_token, CREATE, json!({"input": {"subject": "Invoice question", "idempotencyKey": "phone-7"}})).await;
        let invoice = data["createTicket"]["ticket"]["id"].as_str().unwrap().to_owned();
        assert_eq!(data["createTicket"]["ticket"]["number"], 1002);
        // A phone retrying the same request opens no second ticket.
        let again = app.ok(&client_token, CREATE, json!({"input": {"subject": "Invoice question", "idempotencyKey": "phone-7"}})).await;
        assert_eq!(again["createTicket"]["ticket"]["id"], json!(invoice), "{again}");
        assert_eq!(again["createTicket"]["ticket"]["number"], 1002);

        // What only staff set is refused to a client, each field named; nothing is stored.
        let data = app.ok(&client_token, CREATE, json!({"input": {"subject": "", "priority": "URGENT", "tags": ["vip"]}})).await;
        assert_eq!(user_errors(&data["createTicket"]), vec![
            ("input.subject".to_owned(), "REQUIRED".to_owned()),
            ("input.priority".to_owned(), "NOT_ALLOWED".to_owned()),
            ("input.tags".to_owned(), "NOT_ALLOWED".to_owned()),
        ]);
        assert_eq!(data["createTicket"]["ticket"], Value::Null);
        assert_eq!(numbers(&app, &admin_token, json!(null), None).await, vec![1002, 1001]);

        // Both agents see the queue; the first takes the piano, which leaves the other's view.
        let queue = json!({"assigneeId": {"isNull": true}});
        assert_eq!(numbers(&app, &other_token, queue.clone(), None).await, vec![1002, 1001]);
        let data = app.ok(&agent_token, ASSIGN, json!({"id": piano, "agent": agent.to_global()})).await;
        assert_eq!(data["assignTicket"]["ticket"]["assignee"]["id"], json!(agent.to_global()), "{data}");
        assert_eq!(numbers(&app, &other_token, json!(null), None).await, vec![1002]);
        let body = app.gql(Some(&other_token), TIMELINE, json!({"id": piano})).await;
        assert_eq!(body["data"]["ticket"], Value::Null, "{body}");
        // The other agent may neither take it nor hand tickets to colleagues.
        let body = app.gql(Some(&other_token), ASSIGN, json!({"id": piano, "agent": other.to_global()})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        let data = app.ok(&other_token, ASSIGN, json!({"id": invoice, "agent": agent.to_global()})).await;
        assert_eq!(user_errors(&data["assignTicket"]), vec![("input.assigneeId".to_owned(), "NOT_ALLOWED".to_owned())]);

        // The agent answers (first response; NEW → IN_PROGRESS), notes, asks, resolves.
        let data = app.ok(&agent_token, REPLY, json!({"id": piano, "body": "Sorry! Can you send a photo?"})).await;
        assert_eq!(data["replyToTicket"]["ticket"]["status"], "IN_PROGRESS", "{data}");
        assert!(data["replyToTicket"]["ticket"]["firstResponseAt"].is_string());
        // The client hears of the answer (in the app; by email, its default channel).
        assert_eq!(heard(&app, &client_token).await, vec![("TICKET_REPLIED".to_owned(), "New reply on #1001: Scratched piano".to_owned())]);
        assert_eq!(heard(&app, &agent_token).await, vec![], "nobody hears of their own doing");
        let data = app.ok(&agent_token, NOTE, json!({"id": piano, "body": "Crew lead admits it; offer 500 SEK."})).await;
        assert_eq!(data["addInternalNote"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&agent_token, STATUS, json!({"id": piano, "status": "NEW"})).await;
        assert_eq!(user_errors(&data["changeTicketStatus"]), vec![("input.status".to_owned(), "INVALID_TRANSITION".to_owned())]);
        app.ok(&agent_token, STATUS, json!({"id": piano, "status": "WAITING_ON_CLIENT"})).await;
        let data = app.ok(&agent_token, STATUS, json!({"id": piano, "status": "RESOLVED"})).await;
        assert!(data["changeTicketStatus"]["ticket"]["resolvedAt"].is_string(), "{data}");
        let data = app.ok(&agent_token, PRIORITY, json!({"id": piano, "priority": "HIGH"})).await;
        assert_eq!(data["changeTicketPriority"]["ticket"]["priority"], "HIGH");

        // The client's timeline has everything but the internal note; the admin's has it.
        let mine = app.ok(&client_token, TIMELINE, json!({"id": piano})).await;
        assert_eq!(kinds(&mine), vec!["OPENED", "AGENT_ASSIGNED", "COMMENT", "STATUS_CHANGED", "STATUS_CHANGED", "STATUS_CHANGED", "PRIORITY_CHANGED"], "{mine}");
        let all = app.ok(&admin_token, TIMELINE, json!({"id": piano})).await;
        assert_eq!(kinds(&all), vec!["OPENED", "AGENT_ASSIGNED", "COMMENT", "STATUS_CHANGED", "INTERNAL_NOTE", "STATUS_CHANGED", "STATUS_CHANGED", "PRIORITY_CHANGED"], "{all}");
        let note = entry(&all, 4);
        assert_eq!(note["body"], "Crew lead admits it; offer 500 SEK.");
        assert_eq!(note["author"]["id"], json!(agent.to_global()));
        let changed = entry(&all, 3);
        assert_eq!((changed["fromValue"].clone(), changed["toValue"].clone()), (json!("NEW"), json!("IN_PROGRESS")));
        // Not by ID either, through `node` or the entry's own query.
        let body = app.gql(Some(&client_token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": note["id"]})).await;
        assert_eq!(body["data"]["node"], Value::Null, "{body}");
        let body = app.gql(Some(&client_token), "query($id: ID!) { ticketActivity(id: $id) { body } }", json!({"id": note["id"]})).await;
        assert_eq!(body["data"]["ticketActivity"], Value::Null, "{body}");
        let body = app.gql(Some(&client_token), "query($id: ID!) { ticketActivity(id: $id) { body } }", json!({"id": entry(&mine, 2)["id"]})).await;
        assert_eq!(body["data"]["ticketActivity"]["body"], "Sorry! Can you send a photo?", "{body}");

        // A client may neither note nor prioritise.
        let body = app.gql(Some(&client_token), NOTE, json!({"id": piano, "body": "hello"})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let body = app.gql(Some(&client_token), PRIORITY, json!({"id": piano, "priority": "URGENT"})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let body = app.gql(Some(&client_token), ASSIGN, json!({"id": piano, "agent": other.to_global()})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");

        // The client's reply reopens the resolved ticket.
        let data = app.ok(&client_token, REPLY, json!({"id": piano, "body": "Photo attached. 500 SEK is too little."})).await;
        assert_eq!(data["replyToTicket"]["ticket"]["status"], "IN_PROGRESS", "{data}");
        assert_eq!(data["replyToTicket"]["ticket"]["resolvedAt"], Value::Null);
        assert_eq!(heard(&app, &agent_token).await, vec![("TICKET_REPLIED".to_owned(), "New reply on #1001: Scratched piano".to_owned())]);
        let messages = app.ok(&admin_token, "{ notificationMessages(first: 10) { edges { node { channel recipient subject } } } }", json!({})).await;
        let recipients: Vec<&str> = messages["notificationMessages"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["recipient"].as_str().unwrap()).collect();
        assert!(recipients.contains(&"kajsa@client.example") && recipients.contains(&"agent@acme.example"), "{messages}");
        let data = app.ok(&client_token, REPLY, json!({"id": piano, "body": "   "})).await;
        assert_eq!(user_errors(&data["replyToTicket"]), vec![("input.body".to_owned(), "REQUIRED".to_owned())]);

        // Closed is closed: no replies, no changes.
        app.ok(&agent_token, STATUS, json!({"id": piano, "status": "CLOSED"})).await;
        let data = app.ok(&client_token, REPLY, json!({"id": piano, "body": "One more thing"})).await;
        assert_eq!(user_errors(&data["replyToTicket"]), vec![("input.ticketId".to_owned(), "INVALID_STATE".to_owned())]);
        let data = app.ok(&agent_token, STATUS, json!({"id": piano, "status": "IN_PROGRESS"})).await;
        assert_eq!(user_errors(&data["changeTicketStatus"]), vec![("input.status".to_owned(), "INVALID_TRANSITION".to_owned())]);

        // The admin assigns the other ticket to the other agent, never to a client.
        let data = app.ok(&admin_token, ASSIGN, json!({"id": invoice, "agent": client.to_global()})).await;
        assert_eq!(user_errors(&data["assignTicket"]), vec![("input.assigneeId".to_owned(), "UNKNOWN_REFERENCE".to_owned())]);
        let data = app.ok(&admin_token, ASSIGN, json!({"id": invoice, "agent": other.to_global()})).await;
        assert_eq!(data["assignTicket"]["ticket"]["assignee"]["id"], json!(other.to_global()), "{data}");
        assert_eq!(heard(&app, &other_token).await, vec![("TICKET_ASSIGNED".to_owned(), "Ticket #1002 is yours: Invoice question".to_owned())]);
        assert_eq!(numbers(&app, &agent_token, json!(null), None).await, vec![1001]);
        assert_eq!(numbers(&app, &other_token, json!(null), None).await, vec![1002]);

        // Staff open a ticket for the client, tagged; lists filter by tag, status and search.
        let data = app.ok(&agent_token, CREATE, json!({"input": {"subject": "Damaged sofa", "description": "Reported by phone", "requesterId": client.to_global(), "priority": "URGENT", "tags": [" Damage ", "damage", "VIP"]}})).await;
        assert_eq!(data["createTicket"]["ticket"]["tags"], json!(["damage", "vip"]), "{data}");
        assert_eq!(data["createTicket"]["ticket"]["number"], 1003);
        assert_eq!(numbers(&app, &admin_token, json!({"tag": "VIP"}), None).await, vec![1003]);
        assert_eq!(numbers(&app, &admin_token, json!({"status": {"eq": "CLOSED"}}), None).await, vec![1001]);
        assert_eq!(numbers(&app, &admin_token, json!({"priority": {"in": ["URGENT", "HIGH"]}}), None).await, vec![1003, 1001]);
        assert_eq!(numbers(&app, &client_token, json!(null), Some("piano lid")).await, vec![1001]);
        assert_eq!(numbers(&app, &client_token, json!(null), Some("sofa")).await, vec![1003]);
        assert_eq!(numbers(&app, &client_token, json!(null), None).await, vec![1003, 1002, 1001]);

        // The admin sees each agent's load: the closed piano was resolved by the first agent,
        // the invoice waits with the other, unanswered.
        let data = app.ok(&admin_token, "{ agentWorkloads { agent { id } open resolved medianFirstResponseMinutes medianResolutionMinutes } }", json!({})).await;
        let mut loads = data["agentWorkloads"].as_array().unwrap().clone();
        loads.sort_by_key(|l| l["agent"]["id"] != json!(agent.to_global()));
        assert_eq!(loads, vec![
            json!({"agent": {"id": agent.to_global()}, "open": 0, "resolved": 1, "medianFirstResponseMinutes": 0, "medianResolutionMinutes": 0}),
            json!({"agent": {"id": other.to_global()}, "open": 1, "resolved": 0, "medianFirstResponseMinutes": null, "medianResolutionMinutes": null}),
        ], "{data}");
        let body = app.gql(Some(&agent_token), "{ agentWorkloads { open } }", json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let body = app.gql(Some(&admin_token), "{ agentWorkloads(from: \"2055-01-02T00:00:00Z\", to: \"2055-01-01T00:00:00Z\") { open } }", json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

        // Every change is an event.
        assert_eq!(events_of(&app, t.id, "support.ticket.opened").await.len(), 3);
        assert_eq!(events_of(&app, t.id, "support.ticket.status_changed").await.len(), 3);
        assert_eq!(events_of(&app, t.id, "support.ticket.noted").await.len(), 1);
    }
}

backend_test! {
    async fn tickets_stay_with_their_client_and_their_tenant(app: TestApp) {
        let t = app.tenant("acme").await;
        let (_, mine) = app.user(&t, "one@client.example", &["client"], &[]).await;
        let (_, theirs) = app.user(&t, "two@client.example", &["client"], &[]).await;
        let (_, agent) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let (_, crew) = app.user(&t, "crew@acme.example", &["crew"], &[t.location]).await;
        let data = app.ok(&mine, CREATE, json!({"input": {"subject": "Where is my mover?"}})).await;
        let ticket = data["createTicket"]["ticket"]["id"].clone();
        app.ok(&agent, NOTE, json!({"id": ticket, "body": "secret"})).await;

        // Another client of the tenant sees nothing of it, by list, ID or reply.
        assert_eq!(numbers(&app, &theirs, json!(null), None).await, Vec::<i64>::new());
        let body = app.gql(Some(&theirs), "query($id: ID!) { node(id: $id) { id } }", json!({"id": ticket})).await;
        assert_eq!(body["data"]["node"], Value::Null, "{body}");
        let body = app.gql(Some(&theirs), REPLY, json!({"id": ticket, "body": "me too"})).await;
        assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        // Staff without the support permissions see no tickets at all.
        let body = app.gql(Some(&crew), LIST, json!({})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");

        // Another tenant's owner and agent reach nothing.
        let other = app.tenant("globex").await;
        let (_, other_agent) = app.user(&other, "agent@globex.example", &["support_agent"], &[]).await;
        for token in [&other.owner_token, &other_agent] {
            assert_eq!(numbers(&app, token, json!(null), None).await, Vec::<i64>::new());
            let body = app.gql(Some(token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": ticket})).await;
            assert_eq!(body["data"]["node"], Value::Null, "{body}");
            let body = app.gql(Some(token), NOTE, json!({"id": ticket, "body": "hi"})).await;
            assert_eq!(error_code(&body), Some("NOT_FOUND"), "{body}");
        }
        // Without configuration there is no reply address and no inbound hook.
        let data = app.ok(&mine, "query($id: ID!) { ticket(id: $id) { replyAddress } }", json!({"id": ticket})).await;
        assert_eq!(data["ticket"]["replyAddress"], Value::Null);
        let (status, _) = inbound(&app, Some("anything"), json!({"from": "a@b", "to": [], "text": ""})).await;
        assert_eq!(status, 404);
        // And its numbers start at 1001 of its own.
        let (_, other_client) = app.user(&other, "c@globex.example", &["client"], &[]).await;
        let data = app.ok(&other_client, CREATE, json!({"input": {"subject": "Hello"}})).await;
        assert_eq!(data["createTicket"]["ticket"]["number"], 1001);
    }
}

backend_test! {
    async fn ticket_numbers_have_no_gaps_or_duplicates_under_concurrent_creation(app: TestApp) {
        let t = app.tenant("acme").await;
        let (_, a) = app.user(&t, "a@client.example", &["client"], &[]).await;
        let (_, b) = app.user(&t, "b@client.example", &["client"], &[]).await;
        let subjects: Vec<String> = (0..24).map(|i| if i % 6 == 5 { String::new() } else { format!("Ticket {i}") }).collect();
        let answers = futures_util::future::join_all(subjects.iter().enumerate().map(|(i, subject)| {
            let token = if i % 2 == 0 { &a } else { &b };
            app.ok(token, CREATE, json!({"input": {"subject": subject}}))
        }))
        .await;
        let mut numbers: Vec<i64> = answers.iter().filter_map(|d| d["createTicket"]["ticket"]["number"].as_i64()).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1001..=1020).collect::<Vec<i64>>(), "4 refused creations take no number");
    }
}

backend_test! {
    async fn an_open_ticket_page_updates_itself_without_showing_a_client_internal_notes(app: TestApp) {
        use crate::ws::{connect, event_where, init, send};
        let t = app.tenant("acme").await;
        let (_, client) = app.user(&t, "one@client.example", &["client"], &[]).await;
        let (_, stranger) = app.user(&t, "two@client.example", &["client"], &[]).await;
        let (_, agent) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let data = app.ok(&client, CREATE, json!({"input": {"subject": "Where is my mover?"}})).await;
        let ticket = data["createTicket"]["ticket"]["id"].clone();

        let page = "subscription($id: ID) { ticketChanged(id: $id) { number status activities(first: 10) { edges { node { kind body } } } } }";
        let mut mine = connect(&app, "graphql-transport-ws").await;
        init(&mut mine, &client).await;
        send(&mut mine, json!({"id": "1", "type": "subscribe", "payload": {"query": page, "variables": {"id": ticket}}})).await;
        let mut theirs = connect(&app, "graphql-transport-ws").await;
        init(&mut theirs, &stranger).await;
        send(&mut theirs, json!({"id": "1", "type": "subscribe", "payload": {"query": page, "variables": {}}})).await;
        let mut queue = connect(&app, "graphql-transport-ws").await;
        init(&mut queue, &agent).await;
        send(&mut queue, json!({"id": "1", "type": "subscribe", "payload": {"query": page, "variables": {}}})).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;

        // The agent notes, then answers: the client's page hears both changes of the ticket,
        // and neither shows the note.
        app.ok(&agent, NOTE, json!({"id": ticket, "body": "secret: refund likely"})).await;
        app.ok(&agent, REPLY, json!({"id": ticket, "body": "On the way!"})).await;
        let bodies = |event: &Value| -> Vec<String> {
            event["payload"]["data"]["ticketChanged"]["activities"]["edges"]
                .as_array()
                .map(|edges| edges.iter().map(|e| e["node"]["body"].as_str().unwrap_or_default().to_owned()).collect())
                .unwrap_or_default()
        };
        let no_note = |event: &Value| !bodies(event).iter().any(|b| b.contains("secret"));
        let answered = event_where(&mut mine, |e| bodies(e).contains(&"On the way!".to_owned()), no_note).await;
        assert!(no_note(&answered), "{answered}");
        assert_eq!(answered["payload"]["data"]["ticketChanged"]["status"], "IN_PROGRESS");
        // The agent's queue shows the note.
        event_where(&mut queue, |e| bodies(e).iter().any(|b| b.contains("secret")), |_| true).await;
        // The other client hears nothing of it: its first event is its own new ticket.
        let data = app.ok(&stranger, CREATE, json!({"input": {"subject": "Mine"}})).await;
        let own = data["createTicket"]["ticket"]["number"].clone();
        let first = event_where(&mut theirs, |e| e["payload"]["data"]["ticketChanged"]["number"] == own, |_| false).await;
        assert_eq!(first["payload"]["data"]["ticketChanged"]["status"], "NEW");
    }
}

/// Moves a ticket's first-response target `minutes` into the past, as if that time had gone by
/// (the clock of the tests is the real one; this is the passing of time, not a shortcut past
/// the rules: the ticket is read and judged by the server as usual).
async fn overdue(app: &TestApp, number: i64, minutes: i64) {
    use diesel_async::RunQueryDsl;
    use switchyard_kernel::db_run;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(minutes)).naive_utc();
    let mut pooled = app.services.db.write().await.unwrap();
    let mut conn = pooled.conn();
    let sql = format!(
        "UPDATE support_tickets SET first_response_due_at = '{}', due_at = '{}' WHERE number = {number}",
        past.format("%Y-%m-%d %H:%M:%S"),
        past.format("%Y-%m-%d %H:%M:%S")
    );
    db_run!(&mut conn, |c| diesel::sql_query(sql).execute(c).await).unwrap();
}

fn minutes_between(from: &Value, to: &Value) -> i64 {
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    (at(to) - at(from)).num_minutes()
}

backend_test! {
    async fn service_levels_set_due_times_and_flag_what_is_late(app: TestApp) {
        const SLA: &str = "mutation($p: TicketPriority!, $f: Int!, $r: Int!) { setTicketSla(input: {priority: $p, firstResponseMinutes: $f, resolutionMinutes: $r}) { sla { priority firstResponseMinutes resolutionMinutes } userErrors { field code } } }";
        const SHOW: &str = "query($id: ID!) { ticket(id: $id) { createdAt firstResponseDueAt resolutionDueAt dueAt breached } }";
        let t = app.tenant("acme").await;
        let (client, _) = app.user(&t, "one@client.example", &["client"], &[]).await;
        let (_, agent) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let (_, admin) = app.user(&t, "admin@acme.example", &["admin"], &[]).await;

        // The admin sets URGENT to 30 min / 2 h; the rest keep the built-in targets.
        let data = app.ok(&admin, SLA, json!({"p": "URGENT", "f": 30, "r": 120})).await;
        assert_eq!(data["setTicketSla"]["userErrors"], json!([]), "{data}");
        let data = app.ok(&admin, SLA, json!({"p": "HIGH", "f": 0, "r": 10})).await;
        assert_eq!(user_errors(&data["setTicketSla"]), vec![("input.firstResponseMinutes".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let data = app.ok(&admin, SLA, json!({"p": "HIGH", "f": 60, "r": 30})).await;
        assert_eq!(user_errors(&data["setTicketSla"]), vec![("input.resolutionMinutes".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let body = app.gql(Some(&agent), SLA, json!({"p": "LOW", "f": 1, "r": 2})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let data = app.ok(&agent, "{ ticketSlas { priority firstResponseMinutes resolutionMinutes } }", json!({})).await;
        assert_eq!(data["ticketSlas"], json!([
            {"priority": "URGENT", "firstResponseMinutes": 30, "resolutionMinutes": 120},
            {"priority": "HIGH", "firstResponseMinutes": 240, "resolutionMinutes": 1440},
            {"priority": "MEDIUM", "firstResponseMinutes": 480, "resolutionMinutes": 4320},
            {"priority": "LOW", "firstResponseMinutes": 1440, "resolutionMinutes": 10080},
        ]));

        // An URGENT ticket is due in 30 minutes, resolved in 2 hours.
        let data = app.ok(&agent, CREATE, json!({"input": {"subject": "Truck broke down", "priority": "URGENT", "requesterId": client.to_global()}})).await;
        let urgent = data["createTicket"]["ticket"]["id"].clone();
        let shown = app.ok(&agent, SHOW, json!({"id": urgent})).await["ticket"].clone();
        assert_eq!(minutes_between(&shown["createdAt"], &shown["firstResponseDueAt"]), 30, "{shown}");
        assert_eq!(minutes_between(&shown["createdAt"], &shown["resolutionDueAt"]), 120);
        assert_eq!(shown["dueAt"], shown["firstResponseDueAt"]);
        assert_eq!(shown["breached"], false);
        let data = app.ok(&agent, CREATE, json!({"input": {"subject": "Wrong invoice address", "requesterId": client.to_global()}})).await;
        let medium = data["createTicket"]["ticket"]["id"].clone();
        let data = app.ok(&agent, CREATE, json!({"input": {"subject": "Thanks!", "priority": "LOW", "requesterId": client.to_global()}})).await;
        let low = data["createTicket"]["ticket"]["id"].clone();
        // A new priority moves the targets.
        app.ok(&agent, PRIORITY, json!({"id": low, "priority": "HIGH"})).await;
        let shown = app.ok(&agent, SHOW, json!({"id": low})).await["ticket"].clone();
        assert_eq!(minutes_between(&shown["createdAt"], &shown["firstResponseDueAt"]), 240, "{shown}");
        // Sorted by what is due first.
        let data = app.ok(&agent, "{ tickets(first: 10, orderBy: {field: DUE_AT, direction: ASC}) { edges { node { number } } } }", json!({})).await;
        let order: Vec<i64> = data["tickets"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["number"].as_i64().unwrap()).collect();
        assert_eq!(order, vec![1001, 1003, 1002]);

        // Time passes: the urgent ticket's first response is 5 minutes late.
        overdue(&app, 1001, 5).await;
        assert_eq!(app.ok(&agent, SHOW, json!({"id": urgent})).await["ticket"]["breached"], true);
        assert_eq!(numbers(&app, &agent, json!({"breached": true}), None).await, vec![1001]);
        assert_eq!(numbers(&app, &agent, json!({"breached": false}), None).await, vec![1003, 1002]);
        // At risk within the hour: the late one; within 5 hours also the HIGH one.
        assert_eq!(numbers(&app, &agent, json!({"atRiskWithinMinutes": 60}), None).await, vec![1001]);
        assert_eq!(numbers(&app, &agent, json!({"atRiskWithinMinutes": 300}), None).await, vec![1003, 1001]);
        // Answered late, it stays breached although its next target (resolution) is ahead.
        app.ok(&agent, REPLY, json!({"id": urgent, "body": "A new truck is on its way."})).await;
        let shown = app.ok(&agent, SHOW, json!({"id": urgent})).await["ticket"].clone();
        assert_eq!(shown["dueAt"], shown["resolutionDueAt"], "{shown}");
        assert_eq!(shown["breached"], true);
        // Answered in time, the medium one is not; resolved, it is off the risk list.
        app.ok(&agent, REPLY, json!({"id": medium, "body": "Fixed."})).await;
        app.ok(&agent, STATUS, json!({"id": medium, "status": "RESOLVED"})).await;
        assert_eq!(numbers(&app, &agent, json!({"breached": false}), None).await, vec![1003, 1002]);
        assert_eq!(numbers(&app, &agent, json!({"atRiskWithinMinutes": 100000}), None).await, vec![1003, 1001]);
    }
}

backend_test! {
    async fn the_agent_queue_costs_the_same_statements_whatever_its_size(app: TestApp) {
        let t = app.tenant("acme").await;
        let (client, _) = app.user(&t, "one@client.example", &["client"], &[]).await;
        let (_, agent) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let queue = "{ tickets(first: 50, filter: {assigneeId: {isNull: true}}, orderBy: {field: DUE_AT, direction: ASC}) { edges { node { number subject priority dueAt breached requester { name } activities(first: 1) { edges { node { kind createdAt } } } attachments { totalCount } } } } }";
        let mut counts = Vec::new();
        for size in [3, 30] {
            let have = numbers(&app, &agent, json!(null), None).await.len();
            for i in have..size {
                let data = app.ok(&agent, CREATE, json!({"input": {"subject": format!("Question {i}"), "requesterId": client.to_global()}})).await;
                let id = data["createTicket"]["ticket"]["id"].clone();
                if i % 2 == 0 {
                    app.ok(&agent, NOTE, json!({"id": id, "body": "looked at it"})).await;
                }
            }
            let (mut fewest, mut data) = (u64::MAX, Value::Null);
            for _ in 0..3 {
                let before = statements(&app);
                data = app.ok(&agent, queue, json!({})).await;
                fewest = fewest.min(statements(&app) - before);
            }
            let edges = data["tickets"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), size);
            // The agent sees who asked, and each ticket's latest entry.
            assert!(edges.iter().all(|e| e["node"]["requester"]["name"] == "User one@client.example"), "{data}");
            assert!(edges.iter().any(|e| e["node"]["activities"]["edges"][0]["node"]["kind"] == "INTERNAL_NOTE"));
            assert!(edges.iter().any(|e| e["node"]["activities"]["edges"][0]["node"]["kind"] == "OPENED"));
            counts.push(fewest);
        }
        assert_eq!(counts[0], counts[1], "statements for 3 and 30 tickets: {counts:?}");
        // The caller, the page, requesters, latest entries, attachment counts.
        assert!(counts[1] <= 5, "statements: {counts:?}");
    }
}

const SECRET: &str = "inbound-secret-of-the-mail-provider";

/// Posts an inbound email to the hook as the mail provider would.
async fn inbound(app: &TestApp, token: Option<&str>, message: Value) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("http://{}/hooks/support/email", app.addr))
        .json(&message);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

backend_test! {
    async fn a_reply_by_email_lands_on_its_ticket_by_the_reply_address_only(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.domains.set(switchyard_support::inbound::REPLY_DOMAIN, "reply.acme.example");
        c.domains.set(switchyard_support::inbound::SECRET, SECRET);
    }) {
        let t = app.tenant("acme").await;
        let (_, client) = app.user(&t, "kajsa@client.example", &["client"], &[]).await;
        let (agent_id, agent) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let data = app.ok(&client, CREATE, json!({"input": {"subject": "Scratched piano", "description": "The lid."}})).await;
        let ticket = data["createTicket"]["ticket"]["id"].clone();
        let address = app.ok(&client, "query($id: ID!) { ticket(id: $id) { replyAddress } }", json!({"id": ticket})).await["ticket"]["replyAddress"].as_str().unwrap().to_owned();
        assert!(address.starts_with("ticket+") && address.ends_with("@reply.acme.example"), "{address}");
        app.ok(&agent, ASSIGN, json!({"id": ticket, "agent": agent_id.to_global()})).await;
        app.ok(&agent, REPLY, json!({"id": ticket, "body": "Can you send a photo?"})).await;
        app.ok(&agent, STATUS, json!({"id": ticket, "status": "RESOLVED"})).await;
        let reply = |from: &str, to: &str, text: &str| json!({"from": from, "to": [to], "text": text});

        // The provider must authenticate.
        assert_eq!(inbound(&app, None, reply("kajsa@client.example", &address, "hi")).await.0, 401);
        assert_eq!(inbound(&app, Some("guess"), reply("kajsa@client.example", &address, "hi")).await.0, 401);
        let (status, _) = inbound(&app, Some(SECRET), json!({"from": "x"})).await;
        assert_eq!(status, 400);
        // Nothing lands from a stranger, by subject alone, or by a made-up token.
        let (status, body) = inbound(&app, Some(SECRET), reply("mallory@evil.example", &address, "Give me a refund")).await;
        assert_eq!((status, body["stored"].clone()), (200, json!(false)), "{body}");
        let (status, body) = inbound(&app, Some(SECRET), json!({"from": "kajsa@client.example", "to": ["support@reply.acme.example"], "text": "Re: Scratched piano"})).await;
        assert_eq!((status, body["stored"].clone()), (200, json!(false)), "{body}");
        let (_, body) = inbound(&app, Some(SECRET), reply("kajsa@client.example", "ticket+aaaaaaaaaaaaaaaaaaaaaaaa@reply.acme.example", "hello")).await;
        assert_eq!(body["stored"], false, "{body}");
        let timeline = app.ok(&agent, TIMELINE, json!({"id": ticket})).await;
        assert_eq!(kinds(&timeline).iter().filter(|k| *k == "COMMENT").count(), 1, "{timeline}");

        // The requester's reply lands, without the quoted text, and reopens the ticket.
        let (status, body) = inbound(&app, Some(SECRET), reply("Kajsa <KAJSA@client.example>", &format!("Acme Support <{address}>"), "Photo is attached.\n\nOn Fri, 4 Dec 2026, Acme wrote:\n> Can you send a photo?")).await;
        assert_eq!((status, body["stored"].clone()), (202, json!(true)), "{body}");
        assert_eq!(body["ticketId"], ticket);
        let timeline = app.ok(&agent, TIMELINE, json!({"id": ticket})).await;
        assert_eq!(timeline["ticket"]["status"], "IN_PROGRESS");
        let latest = &timeline["ticket"]["activities"]["edges"];
        let comment = latest.as_array().unwrap().iter().find(|e| e["node"]["kind"] == "COMMENT" && e["node"]["body"] == "Photo is attached.");
        assert!(comment.is_some(), "{timeline}");
        assert_eq!(heard(&app, &agent).await[0].0, "TICKET_REPLIED");
    }
}

backend_test! {
    async fn tickets_sort_by_urgency_and_workflow_and_carry_custom_fields_for_staff(app: TestApp) {
        let t = app.tenant("acme").await;
        let (client, client_token) = app.user(&t, "one@client.example", &["client"], &[]).await;
        let (_, agent) = app.user(&t, "agent@acme.example", &["support_agent"], &[]).await;
        let (_, admin) = app.user(&t, "admin@acme.example", &["admin"], &[]).await;
        let mut ids = Vec::new();
        for priority in ["LOW", "URGENT", "MEDIUM", "HIGH"] {
            let data = app.ok(&agent, CREATE, json!({"input": {"subject": format!("{priority} one"), "priority": priority, "requesterId": client.to_global()}})).await;
            ids.push(data["createTicket"]["ticket"]["id"].as_str().unwrap().to_owned());
        }
        let sorted = |field: &str, direction: &str| {
            let query = format!("{{ tickets(first: 10, orderBy: {{field: {field}, direction: {direction}}}) {{ edges {{ node {{ number }} }} }} }}");
            let (app, admin) = (&app, &admin);
            async move {
                let data = app.ok(admin, &query, json!({})).await;
                data["tickets"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["number"].as_i64().unwrap()).collect::<Vec<_>>()
            }
        };
        // Most urgent first, not alphabetical; pages of two keep the order.
        assert_eq!(sorted("PRIORITY", "DESC").await, vec![1002, 1004, 1003, 1001]);
        let page = app.ok(&admin, "{ tickets(first: 2, orderBy: {field: PRIORITY, direction: DESC}) { pageInfo { endCursor } } }", json!({})).await;
        let after = page["tickets"]["pageInfo"]["endCursor"].clone();
        let rest = app.ok(&admin, "query($after: String) { tickets(first: 2, after: $after, orderBy: {field: PRIORITY, direction: DESC}) { edges { node { number } } } }", json!({"after": after})).await;
        assert_eq!(rest["tickets"]["edges"], json!([{"node": {"number": 1003}}, {"node": {"number": 1001}}]));
        // A priority change moves the ticket (ties go by creation, in the same direction);
        // the workflow order follows status changes.
        app.ok(&agent, PRIORITY, json!({"id": ids[0], "priority": "URGENT"})).await;
        assert_eq!(sorted("PRIORITY", "DESC").await, vec![1002, 1001, 1004, 1003]);
        app.ok(&admin, STATUS, json!({"id": ids[1], "status": "RESOLVED"})).await;
        app.ok(&admin, STATUS, json!({"id": ids[2], "status": "IN_PROGRESS"})).await;
        assert_eq!(sorted("STATUS", "ASC").await, vec![1001, 1004, 1003, 1002]);

        // Custom fields: staff set and find tickets by them; clients neither see nor set them.
        const SET: &str = "mutation($id: ID!, $entries: [TicketMetadataInput!]!) { setTicketMetadata(input: {ticketId: $id, entries: $entries}) { ticket { metadata { key value } } userErrors { field code } } }";
        let data = app.ok(&agent, SET, json!({"id": ids[3], "entries": [{"key": "order-no", "value": "PO-77"}, {"key": "channel", "value": "phone"}]})).await;
        assert_eq!(data["setTicketMetadata"]["ticket"]["metadata"], json!([{"key": "channel", "value": "phone"}, {"key": "order-no", "value": "PO-77"}]));
        let data = app.ok(&agent, SET, json!({"id": ids[3], "entries": [{"key": "channel", "value": null}, {"key": "bad key!", "value": "x"}]})).await;
        assert_eq!(user_errors(&data["setTicketMetadata"]), vec![("input.entries.1.key".to_owned(), "INVALID_FORMAT".to_owned())]);
        let data = app.ok(&agent, SET, json!({"id": ids[3], "entries": [{"key": "channel", "value": null}]})).await;
        assert_eq!(data["setTicketMetadata"]["ticket"]["metadata"], json!([{"key": "order-no", "value": "PO-77"}]));
        let found = numbers(&app, &agent, json!({"metadata": {"key": "order-no", "value": "PO-77"}}), None).await;
        assert_eq!(found, vec![1004]);
        assert_eq!(numbers(&app, &agent, json!({"metadata": {"key": "order-no", "value": "PO-7"}}), None).await, Vec::<i64>::new());
        let timeline = app.ok(&agent, TIMELINE, json!({"id": ids[3]})).await;
        assert_eq!(kinds(&timeline).iter().filter(|k| *k == "METADATA_CHANGED").count(), 2);
        // The client: no fields, no entries, no filter, no setting them.
        let data = app.ok(&client_token, "query($id: ID!) { ticket(id: $id) { metadata { key } activities { edges { node { kind } } } } }", json!({"id": ids[3]})).await;
        assert_eq!(data["ticket"]["metadata"], json!([]));
        assert!(!data.to_string().contains("METADATA_CHANGED"), "{data}");
        let body = app.gql(Some(&client_token), LIST, json!({"filter": {"metadata": {"key": "order-no", "value": "PO-77"}}})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
        let data = app.ok(&client_token, CREATE, json!({"input": {"subject": "Mine", "metadata": [{"key": "vip", "value": "yes"}]}})).await;
        assert_eq!(user_errors(&data["createTicket"]), vec![("input.metadata".to_owned(), "NOT_ALLOWED".to_owned())]);
        let body = app.gql(Some(&client_token), SET, json!({"id": ids[3], "entries": []})).await;
        assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");
    }
}
