//! Customers, the pipeline, activities and their call-backs, tasks and queues, leads.

use serde_json::{Value, json};

use crate::backend_test;
use crate::support::*;

const CREATE: &str = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id displayName email phone stage version assignedTo { email } } userErrors { field code message } } }";

async fn count(app: &TestApp, token: &str) -> i64 {
    app.ok(
        token,
        "{ customers(filter: {active: {eq: true}}) { totalCount } }",
        json!({}),
    )
    .await["customers"]["totalCount"]
        .as_i64()
        .unwrap()
}

async fn swedish(app: &TestApp, t: &TestTenant) {
    switchyard_sales::settings::provision(&app.services, t.id, "SEK", 2500, false, "46")
        .await
        .unwrap();
}

backend_test! {
    async fn customers_are_created_normalised_found_and_updated(app: TestApp) {
        let t = app.tenant("acme").await;
        swedish(&app, &t).await;
        let data = app.ok(&t.owner_token, CREATE, json!({"input": {
            "firstName": " Anna ", "lastName": "Lindqvist", "email": " Anna.Lindqvist@Example.SE ",
            "phone": "070-123 45 67", "tags": ["piano"], "leadSource": "Website",
            "address": {"line1": "Storgatan 1", "city": "Uppsala", "postalCode": "753 20", "country": "se"},
            "estimatedValue": {"amountMinor": 4500000, "currency": "sek"}, "idempotencyKey": "c-1"
        }})).await;
        let anna = &data["createCustomer"]["customer"];
        assert_eq!(anna["displayName"], "Anna Lindqvist");
        assert_eq!(anna["email"], "anna.lindqvist@example.se");
        assert_eq!(anna["phone"], "+46701234567");
        assert_eq!(anna["stage"], "PROSPECT");
        let id = anna["id"].as_str().unwrap().to_owned();
        // The same request again: the same customer.
        let again = app.ok(&t.owner_token, CREATE, json!({"input": {"firstName": "Anna", "lastName": "Lindqvist", "idempotencyKey": "c-1"}})).await;
        assert_eq!(again["createCustomer"]["customer"]["id"], id.as_str());
        customer(&app, &t.owner_token, json!({"companyName": "Vasa Tandvård AB", "email": "info@vasatandvard.se", "phone": "+46 8 555 010 00"})).await;

        // Search by a name word, an email word, a phone in national or international form.
        let search = "query($q: String!) { customers(search: $q) { totalCount edges { node { displayName } } } }";
        for (term, expected) in [("lindq", "Anna Lindqvist"), ("vasa", "Vasa Tandvård AB"), ("tandvard", "Vasa Tandvård AB"),
                                 ("0701234567", "Anna Lindqvist"), ("+46 70 123", "Anna Lindqvist"), ("anna.lindqvist@example.se", "Anna Lindqvist")] {
            let data = app.ok(&t.owner_token, search, json!({"q": term})).await;
            assert_eq!(data["customers"]["totalCount"], 1, "{term}: {data}");
            assert_eq!(data["customers"]["edges"][0]["node"]["displayName"], expected, "{term}");
        }
        assert_eq!(app.ok(&t.owner_token, search, json!({"q": "nobody"})).await["customers"]["totalCount"], 0);
        let tagged = app.ok(&t.owner_token, "{ customers(filter: {tag: \"piano\"}) { totalCount } }", json!({})).await;
        assert_eq!(tagged["customers"]["totalCount"], 1);

        // Update with versions; null clears a field.
        let update = "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { displayName phone notes version } userErrors { field code message } } }";
        let data = app.ok(&t.owner_token, update, json!({"input": {"id": id, "expectedVersion": 1, "companyName": "Lindqvist Flytt", "phone": null, "notes": "Prefers mornings"}})).await;
        assert_eq!(data["updateCustomer"]["customer"], json!({"displayName": "Lindqvist Flytt", "phone": null, "notes": "Prefers mornings", "version": 2}));
        let stale = app.gql(Some(&t.owner_token), update, json!({"input": {"id": id, "expectedVersion": 1, "notes": "x"}})).await;
        assert_eq!(error_code(&stale), Some("CONFLICT"));
        // The freed phone can be used by someone else now.
        customer(&app, &t.owner_token, json!({"firstName": "Per", "phone": "0701234567"})).await;
    }
}

backend_test! {
    async fn bad_customer_input_is_refused_and_nothing_is_written(app: TestApp) {
        let t = app.tenant("acme").await;
        swedish(&app, &t).await;
        customer(&app, &t.owner_token, json!({"firstName": "Eva", "email": "eva@example.se", "phone": "+46701112233"})).await;
        let before = count(&app, &t.owner_token).await;
        let data = app.ok(&t.owner_token, CREATE, json!({"input": {
            "email": "not-an-email", "phone": "call me maybe", "tags": ["x".repeat(41)],
            "estimatedValue": {"amountMinor": -5, "currency": "XXX"},
            "assignedToId": switchyard_kernel::UserId::new().to_global(),
        }})).await;
        let errors = user_errors(&data["createCustomer"]);
        assert_eq!(errors, vec![
            ("input.lastName".to_owned(), "REQUIRED".to_owned()),
            ("input.email".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.phone".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.tags.0".to_owned(), "TOO_LONG".to_owned()),
            ("input.estimatedValue.amountMinor".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.estimatedValue.currency".to_owned(), "INVALID_FORMAT".to_owned()),
            ("input.assignedToId".to_owned(), "UNKNOWN_REFERENCE".to_owned()),
        ]);
        // Duplicates, compared after normalising.
        let data = app.ok(&t.owner_token, CREATE, json!({"input": {"firstName": "Eva", "lastName": "Again", "email": "EVA@example.se", "phone": "070-111 22 33"}})).await;
        assert_eq!(user_errors(&data["createCustomer"]), vec![
            ("input.email".to_owned(), "DUPLICATE".to_owned()),
            ("input.phone".to_owned(), "DUPLICATE".to_owned()),
        ]);
        let data = app.ok(&t.owner_token, CREATE, json!({"input": {"lastName": "x".repeat(101)}})).await;
        assert_eq!(user_errors(&data["createCustomer"]), vec![("input.lastName".to_owned(), "TOO_LONG".to_owned())]);
        // An unknown enum is a request error.
        let (status, _) = app.post(Some(&t.owner_token), "{ customers(filter: {stage: {eq: RICH}}) { totalCount } }", json!({})).await;
        assert_eq!(status, 400);
        assert_eq!(count(&app, &t.owner_token).await, before);
    }
}

backend_test! {
    async fn the_pipeline_allows_only_guarded_moves_and_keeps_history(app: TestApp) {
        let t = app.tenant("acme").await;
        let id = customer(&app, &t.owner_token, json!({"firstName": "Ola", "lastName": "Nord"})).await;
        let mv = "mutation($id: ID!, $s: CustomerStage!, $r: String) { changeCustomerStage(input: {id: $id, stage: $s, reason: $r}) { customer { stage } userErrors { field code message } } }";
        let refused = |data: &Value| (user_errors(&data["changeCustomerStage"]), data["changeCustomerStage"]["userErrors"][0]["message"].as_str().unwrap_or_default().to_owned());

        let data = app.ok(&t.owner_token, mv, json!({"id": id, "s": "WON"})).await;
        let (errors, message) = refused(&data);
        assert_eq!(errors, vec![("input.stage".to_owned(), "INVALID_TRANSITION".to_owned())]);
        assert!(message.contains("from PROSPECT to WON") && message.contains("CONTACTED, QUALIFIED, DISQUALIFIED or DORMANT"), "{message}");

        let data = app.ok(&t.owner_token, mv, json!({"id": id, "s": "QUALIFIED"})).await;
        let (errors, message) = refused(&data);
        assert_eq!(errors, vec![("input.stage".to_owned(), "PRECONDITION_FAILED".to_owned())]);
        assert!(message.contains("qualified_needs_activity"), "{message}");
        app.ok(&t.owner_token, "mutation($c: ID!) { logActivity(input: {customerId: $c, kind: CALL, subject: \"Intro call\"}) { activity { id } } }", json!({"c": id})).await;
        let data = app.ok(&t.owner_token, mv, json!({"id": id, "s": "QUALIFIED"})).await;
        assert_eq!(data["changeCustomerStage"]["customer"]["stage"], "QUALIFIED");
        app.ok(&t.owner_token, mv, json!({"id": id, "s": "PROPOSAL"})).await;
        let data = app.ok(&t.owner_token, mv, json!({"id": id, "s": "WON"})).await;
        assert!(refused(&data).1.contains("won_needs_accepted_quote"));
        let data = app.ok(&t.owner_token, mv, json!({"id": id, "s": "LOST"})).await;
        assert_eq!(data["changeCustomerStage"]["customer"]["stage"], "LOST");
        app.ok(&t.owner_token, mv, json!({"id": id, "s": "PROSPECT"})).await;
        let data = app.ok(&t.owner_token, mv, json!({"id": id, "s": "DISQUALIFIED"})).await;
        let (errors, message) = refused(&data);
        assert_eq!(errors, vec![("input.reason".to_owned(), "PRECONDITION_FAILED".to_owned())]);
        assert!(message.contains("disqualified_needs_reason"));
        app.ok(&t.owner_token, mv, json!({"id": id, "s": "DISQUALIFIED", "r": "Outside our area"})).await;

        let data = app.ok(&t.owner_token, "query($id: ID!) { customer(id: $id) { stage stageHistory { from to reason changedBy } } }", json!({"id": id})).await;
        let history: Vec<(Value, Value)> = data["customer"]["stageHistory"].as_array().unwrap().iter().map(|h| (h["from"].clone(), h["to"].clone())).collect();
        assert_eq!(history, vec![
            (Value::Null, json!("PROSPECT")), (json!("PROSPECT"), json!("QUALIFIED")), (json!("QUALIFIED"), json!("PROPOSAL")),
            (json!("PROPOSAL"), json!("LOST")), (json!("LOST"), json!("PROSPECT")), (json!("PROSPECT"), json!("DISQUALIFIED")),
        ]);
        let last = data["customer"]["stageHistory"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["reason"], "Outside our area");
        assert_eq!(last["changedBy"], t.owner.to_global().to_string());
    }
}

backend_test! {
    async fn an_activity_follow_up_is_a_call_back_task(app: TestApp) {
        let t = app.tenant("acme").await;
        let (rep, rep_token) = app.user(&t, "rep@acme.example", &["sales_rep"], &[t.location]).await;
        let id = customer(&app, &rep_token, json!({"firstName": "Kim", "lastName": "Berg"})).await;
        let due = "2031-05-04T09:30:00+00:00";
        let data = app.ok(&rep_token, "mutation($c: ID!, $at: DateTime!) { logActivity(input: {customerId: $c, kind: MEETING, subject: \"Site survey\", outcome: \"Two-room flat\", durationMinutes: 45, followUpAt: $at}) {
            activity { id followUpAt followUpTask { id kind status dueAt title assignee { id } } } userErrors { field code } } }",
            json!({"c": id, "at": due})).await;
        let activity = &data["logActivity"]["activity"];
        let task = &activity["followUpTask"];
        assert_eq!(task["kind"], "CALL_BACK");
        assert_eq!(task["status"], "OPEN");
        assert_eq!(task["dueAt"], due);
        assert_eq!(task["assignee"]["id"], rep.to_global().to_string());
        let (activity_id, task_id) = (activity["id"].clone(), task["id"].clone());

        let update = "mutation($id: ID!, $at: DateTime) { updateActivity(input: {id: $id, followUpAt: $at}) { activity { followUpAt followUpTask { id status dueAt } } userErrors { code } } }";
        let moved = "2031-05-06T13:00:00+00:00";
        let data = app.ok(&rep_token, update, json!({"id": activity_id, "at": moved})).await;
        assert_eq!(data["updateActivity"]["activity"]["followUpTask"], json!({"id": task_id, "status": "OPEN", "dueAt": moved}));
        let data = app.ok(&rep_token, update, json!({"id": activity_id, "at": null})).await;
        assert!(data["updateActivity"]["activity"]["followUpTask"].is_null());
        let data = app.ok(&rep_token, "query($id: ID!) { task(id: $id) { status history { action } } }", json!({"id": task_id})).await;
        assert_eq!(data["task"]["status"], "CANCELLED");
        let actions: Vec<&str> = data["task"]["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["created", "rescheduled", "cancelled"]);
        // Setting a follow-up again makes a new task.
        let data = app.ok(&rep_token, update, json!({"id": activity_id, "at": due})).await;
        let new_task = &data["updateActivity"]["activity"]["followUpTask"];
        assert_eq!(new_task["status"], "OPEN");
        assert_ne!(new_task["id"], task_id);
    }
}

backend_test! {
    async fn tasks_move_between_queues_and_people_with_history(app: TestApp) {
        let t = app.tenant("acme").await;
        let (ann, ann_token) = app.user(&t, "ann@acme.example", &["sales_rep"], &[t.location]).await;
        let (bob, bob_token) = app.user(&t, "bob@acme.example", &["sales_rep"], &[t.location]).await;
        let data = app.ok(&t.owner_token, "mutation { createTask(input: {kind: FOLLOW_UP, title: \"Call new web leads\", queue: INSIDE_SALES}) { task { id assignee { id } queue } } }", json!({})).await;
        let id = data["createTask"]["task"]["id"].clone();
        assert_eq!(data["createTask"]["task"]["queue"], "INSIDE_SALES");
        // Everyone who works tasks sees the queue.
        let queue = "{ tasks(filter: {queue: {eq: INSIDE_SALES}, assigneeId: {isNull: true}}) { totalCount } }";
        assert_eq!(app.ok(&ann_token, queue, json!({})).await["tasks"]["totalCount"], 1);
        // Seeing a queued task lets a rep claim it, not cancel, complete, edit or reroute it.
        for (field, mutation) in [
            ("cancelTask", "mutation($id: ID!) { cancelTask(input: {id: $id}) { task { id } } }"),
            ("completeTask", "mutation($id: ID!) { completeTask(input: {id: $id}) { task { id } } }"),
            ("updateTask", "mutation($id: ID!) { updateTask(input: {id: $id, title: \"Mine now\"}) { task { id } } }"),
            ("handOverTask", "mutation($id: ID!) { handOverTask(input: {id: $id, toQueue: SALES_OPS}) { task { id } } }"),
        ] {
            assert_eq!(error_code(&app.gql(Some(&bob_token), mutation, json!({"id": id})).await), Some("NOT_FOUND"), "{field}");
        }
        let claim = "mutation($id: ID!) { claimTask(input: {id: $id}) { task { assignee { email } } userErrors { code message } } }";
        let data = app.ok(&ann_token, claim, json!({"id": id})).await;
        assert_eq!(data["claimTask"]["task"]["assignee"]["email"], "ann@acme.example");
        // Once Ann holds it, the task is hers: Bob no longer sees it at all.
        assert_eq!(error_code(&app.gql(Some(&bob_token), claim, json!({"id": id})).await), Some("NOT_FOUND"));
        // Ann hands it to Bob, Bob returns it to the queue, Ann claims it and completes it.
        app.ok(&ann_token, "mutation($id: ID!, $to: ID!) { handOverTask(input: {id: $id, toUserId: $to, note: \"You know them\"}) { task { id } } }", json!({"id": id, "to": bob.to_global()})).await;
        assert_eq!(app.ok(&bob_token, "{ tasks(filter: {mine: true}) { totalCount } }", json!({})).await["tasks"]["totalCount"], 1);
        app.ok(&bob_token, "mutation($id: ID!) { handOverTask(input: {id: $id}) { task { id } } }", json!({"id": id})).await;
        app.ok(&ann_token, claim, json!({"id": id})).await;
        let data = app.ok(&ann_token, "mutation($id: ID!) { completeTask(input: {id: $id}) { task { status completedAt } } }", json!({"id": id})).await;
        assert_eq!(data["completeTask"]["task"]["status"], "DONE");
        let data = app.ok(&t.owner_token, "query($id: ID!) { task(id: $id) { history { action fromAssignee toAssignee fromQueue toQueue by note } } }", json!({"id": id})).await;
        let history = data["task"]["history"].as_array().unwrap();
        let steps: Vec<(&str, Value, Value)> = history.iter().map(|h| (h["action"].as_str().unwrap(), h["toAssignee"].clone(), h["by"].clone())).collect();
        let (a, b) = (json!(ann.to_global().to_string()), json!(bob.to_global().to_string()));
        assert_eq!(steps, vec![
            ("created", Value::Null, json!(t.owner.to_global().to_string())),
            ("claimed", a.clone(), a.clone()),
            ("handed_over", b.clone(), a.clone()),
            ("returned_to_queue", Value::Null, b.clone()),
            ("claimed", a.clone(), a.clone()),
            ("completed", a.clone(), a.clone()),
        ]);
        assert_eq!(history[2]["note"], "You know them");
        assert_eq!(history[3]["toQueue"], "INSIDE_SALES");
        // A finished task cannot be claimed or handed over.
        let data = app.ok(&ann_token, "mutation($id: ID!) { cancelTask(input: {id: $id}) { task { id } userErrors { field code } } }", json!({"id": id})).await;
        assert_eq!(user_errors(&data["cancelTask"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
    }
}

backend_test! {
    async fn two_reps_claiming_one_task_at_once_leave_one_holder(app: TestApp) {
        let t = app.tenant("acme").await;
        let mut reps = Vec::new();
        for i in 0..4 {
            reps.push(app.user(&t, &format!("rep{i}@acme.example"), &["sales_rep"], &[t.location]).await);
        }
        let claim = "mutation($id: ID!) { claimTask(input: {id: $id}) { task { assignee { id } } userErrors { code } } }";
        for round in 0..5 {
            let data = app.ok(&t.owner_token, "mutation { createTask(input: {kind: FOLLOW_UP, title: \"Web lead\", queue: INSIDE_SALES}) { task { id } } }", json!({})).await;
            let id = data["createTask"]["task"]["id"].clone();
            let answers = futures_util::future::join_all(reps.iter().map(|(_, token)| app.gql(Some(token), claim, json!({"id": id})))).await;
            let winners: Vec<Value> = answers.iter().filter_map(|a| a["data"]["claimTask"]["task"]["assignee"]["id"].as_str().map(|s| json!(s))).collect();
            assert_eq!(winners.len(), 1, "round {round}: exactly one claim wins: {answers:?}");
            // The others are told why: it was taken first (a user error) or meanwhile (CONFLICT).
            for answer in answers.iter().filter(|a| a["data"]["claimTask"]["task"].is_null()) {
                let user_error = answer["data"]["claimTask"]["userErrors"][0]["code"].as_str();
                assert!(user_error == Some("INVALID_STATE") || error_code(answer) == Some("CONFLICT") || error_code(answer) == Some("NOT_FOUND"), "{answer}");
            }
            let data = app.ok(&t.owner_token, "query($id: ID!) { task(id: $id) { assignee { id } history { action } } }", json!({"id": id})).await;
            assert_eq!(data["task"]["assignee"]["id"], winners[0]);
            assert_eq!(data["task"]["history"], json!([{"action": "created"}, {"action": "claimed"}]), "round {round}");
        }
    }
}

backend_test! {
    async fn leads_are_created_filtered_and_updated(app: TestApp) {
        let t = app.tenant("acme").await;
        let id = customer(&app, &t.owner_token, json!({"firstName": "Lea", "lastName": "Ström"})).await;
        let create = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id status priority score estimatedMoveDate estimatedValue { amountMinor currency } customer { displayName } } userErrors { field code } } }";
        let data = app.ok(&t.owner_token, create, json!({"input": {"customerId": id, "priority": "HIGH", "score": 70, "estimatedMoveDate": "2031-06-01", "estimatedValue": {"amountMinor": 2500000, "currency": "SEK"}, "source": "Referral"}})).await;
        let lead = &data["createLead"]["lead"];
        assert_eq!(lead["status"], "NEW");
        assert_eq!(lead["estimatedMoveDate"], "2031-06-01");
        assert_eq!(lead["customer"]["displayName"], "Lea Ström");
        let bad = app.ok(&t.owner_token, create, json!({"input": {"customerId": id, "score": 101, "estimatedValue": {"amountMinor": 1, "currency": "ABC"}}})).await;
        assert_eq!(user_errors(&bad["createLead"]), vec![
            ("input.score".to_owned(), "OUT_OF_RANGE".to_owned()),
            ("input.estimatedValue.currency".to_owned(), "INVALID_FORMAT".to_owned()),
        ]);
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { updateLead(input: {id: $id, expectedVersion: 1, status: QUALIFIED, estimatedValue: null}) { lead { status estimatedValue { amountMinor } version } } }", json!({"id": lead["id"]})).await;
        assert_eq!(data["updateLead"]["lead"], json!({"status": "QUALIFIED", "estimatedValue": null, "version": 2}));
        // A stale version is a conflict; a bad change names its field; neither writes.
        let stale = app.gql(Some(&t.owner_token), "mutation($id: ID!) { updateLead(input: {id: $id, expectedVersion: 1, score: 5}) { lead { id } } }", json!({"id": lead["id"]})).await;
        assert_eq!(error_code(&stale), Some("CONFLICT"));
        let bad = app.ok(&t.owner_token, "mutation($id: ID!) { updateLead(input: {id: $id, score: -1, source: \"  \", notes: \" kept \"}) { lead { id } userErrors { field code } } }", json!({"id": lead["id"]})).await;
        assert_eq!(user_errors(&bad["updateLead"]), vec![("input.score".to_owned(), "OUT_OF_RANGE".to_owned())]);
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { updateLead(input: {id: $id, source: \"  \", notes: \" Call after six \"}) { lead { source notes score version } } }", json!({"id": lead["id"]})).await;
        assert_eq!(data["updateLead"]["lead"], json!({"source": null, "notes": "Call after six", "score": 70, "version": 3}));
        // Texts are stored trimmed, a blank optional one as null; a malformed customer ID names no customer.
        let data = app.ok(&t.owner_token, "mutation($c: ID!) { createLead(input: {customerId: $c, source: \"   \", notes: \"  Two rooms  \"}) { lead { source notes status priority score } } }", json!({"c": id})).await;
        assert_eq!(data["createLead"]["lead"], json!({"source": null, "notes": "Two rooms", "status": "NEW", "priority": "MEDIUM", "score": 0}));
        let missing = app.gql(Some(&t.owner_token), "mutation { createLead(input: {customerId: \"nonsense\"}) { lead { id } } }", json!({})).await;
        assert_eq!(error_code(&missing), Some("NOT_FOUND"));
        // A retried create with the same key answers the first lead.
        let again = "mutation($c: ID!) { createLead(input: {customerId: $c, idempotencyKey: \"form-1\"}) { lead { id } } }";
        let first = app.ok(&t.owner_token, again, json!({"c": id})).await;
        let second = app.ok(&t.owner_token, again, json!({"c": id})).await;
        assert_eq!(first, second);
        let data = app.ok(&t.owner_token, "{ high: leads(filter: {status: {eq: QUALIFIED}}) { totalCount } none: leads(filter: {status: {eq: WON}}) { totalCount } }", json!({})).await;
        assert_eq!((data["high"]["totalCount"].clone(), data["none"]["totalCount"].clone()), (json!(1), json!(0)));
        let nested = app.ok(&t.owner_token, "query($id: ID!) { customer(id: $id) { leads(first: 5) { totalCount edges { node { status } } } } }", json!({"id": id})).await;
        assert_eq!(nested["customer"]["leads"]["totalCount"], 3);
    }
}

backend_test! {
    async fn duplicates_are_found_and_merged_with_everything_they_own(app: TestApp) {
        let t = app.tenant("acme").await;
        swedish(&app, &t).await;
        let keep = customer(&app, &t.owner_token, json!({"firstName": "Jonas", "lastName": "Ek", "phone": "0708887766", "tags": ["moving"]})).await;
        let dupe = customer(&app, &t.owner_token, json!({"firstName": "jonas", "lastName": "EK", "email": "jonas.ek@example.se", "tags": ["piano"], "notes": "Has a piano"})).await;
        let data = app.ok(&t.owner_token, "query($id: ID!) { possibleDuplicates(customerId: $id) { id } }", json!({"id": keep})).await;
        assert_eq!(data["possibleDuplicates"], json!([{"id": dupe}]));
        // The duplicate owns a lead, an activity (with its call-back task) and a quote.
        app.ok(&t.owner_token, "mutation($c: ID!) { createLead(input: {customerId: $c}) { lead { id } } }", json!({"c": dupe})).await;
        app.ok(&t.owner_token, "mutation($c: ID!) { logActivity(input: {customerId: $c, kind: CALL, subject: \"Piano\", followUpAt: \"2031-01-01T10:00:00Z\"}) { activity { id } } }", json!({"c": dupe})).await;
        app.ok(&t.owner_token, "mutation($c: ID!) { createQuote(input: {customerId: $c, items: [{description: \"Piano transport\", quantity: 1, unitPriceMinor: 250000, category: SPECIALTY_SERVICES}]}) { quote { id } } }", json!({"c": dupe})).await;
        let merge = "mutation($s: ID!, $d: ID!) { mergeCustomers(input: {survivorId: $s, duplicateId: $d}) {
            survivor { email phone tags notes leads { totalCount } activities { totalCount } quotes { totalCount } tasks { totalCount } }
            merged { active mergedInto email } userErrors { field code } } }";
        let data = app.ok(&t.owner_token, merge, json!({"s": keep, "d": dupe})).await;
        let survivor = &data["mergeCustomers"]["survivor"];
        assert_eq!(survivor["email"], "jonas.ek@example.se");
        assert_eq!(survivor["phone"], "+46708887766");
        assert_eq!(survivor["tags"], json!(["moving", "piano"]));
        assert_eq!(survivor["notes"], "Has a piano");
        for list in ["leads", "activities", "quotes", "tasks"] {
            assert_eq!(survivor[list]["totalCount"], 1, "{list}: {data}");
        }
        assert_eq!(data["mergeCustomers"]["merged"], json!({"active": false, "mergedInto": keep, "email": null}));
        let again = app.ok(&t.owner_token, merge, json!({"s": keep, "d": dupe})).await;
        assert_eq!(user_errors(&again["mergeCustomers"]), vec![("input.duplicateId".to_owned(), "INVALID_STATE".to_owned())]);
        assert_eq!(app.ok(&t.owner_token, "{ customers { totalCount } }", json!({})).await["customers"]["totalCount"], 1);
        // The merged-away record stays merged: nothing merges into it and it cannot come back.
        let third = customer(&app, &t.owner_token, json!({"firstName": "Third", "lastName": "Ek"})).await;
        let data = app.ok(&t.owner_token, merge, json!({"s": dupe, "d": third})).await;
        assert_eq!(user_errors(&data["mergeCustomers"]), vec![("input.survivorId".to_owned(), "INVALID_STATE".to_owned())]);
        let data = app.ok(&t.owner_token, "mutation($id: ID!) { updateCustomer(input: {id: $id, active: true}) { customer { active } userErrors { field code } } }", json!({"id": dupe})).await;
        assert_eq!(user_errors(&data["updateCustomer"]), vec![("input.active".to_owned(), "INVALID_STATE".to_owned())]);
        // New work goes to the survivor, not to the merged-away record.
        let data = app.ok(&t.owner_token, "mutation($c: ID!) { createLead(input: {customerId: $c}) { lead { id } userErrors { field code message } } }", json!({"c": dupe})).await;
        assert_eq!(user_errors(&data["createLead"]), vec![("input.customerId".to_owned(), "INVALID_STATE".to_owned())]);
        assert!(data["createLead"]["userErrors"][0]["message"].as_str().unwrap().contains("merged"), "{data}");
        let data = app.ok(&t.owner_token, "mutation($c: ID!) { changeCustomerStage(input: {id: $c, stage: CONTACTED}) { userErrors { field code } } }", json!({"c": dupe})).await;
        assert_eq!(user_errors(&data["changeCustomerStage"]), vec![("input.id".to_owned(), "INVALID_STATE".to_owned())]);
        assert_eq!(app.ok(&t.owner_token, "{ customers { totalCount } }", json!({})).await["customers"]["totalCount"], 2);
    }
}

backend_test! {
    async fn a_retried_create_answers_the_first_object_and_keys_are_per_user(app: TestApp) {
        let t = app.tenant("acme").await;
        let (maja, manager) = app.user(&t, "maja@acme.example", &["manager"], &[t.location]).await;
        let (_, rep) = app.user(&t, "rob@acme.example", &["sales_rep"], &[t.location]).await;
        let c = customer(&app, &t.owner_token, json!({"firstName": "Retry", "lastName": "Person", "locationId": t.location.to_global(), "tags": ["long_distance"]})).await;
        let creates = [
            ("createLead", "lead", "mutation($c: ID!, $k: String) { createLead(input: {customerId: $c, idempotencyKey: $k}) { lead { id } } }", "{ leads { totalCount } }", "leads"),
            ("logActivity", "activity", "mutation($c: ID!, $k: String) { logActivity(input: {customerId: $c, kind: CALL, subject: \"Call\", idempotencyKey: $k}) { activity { id } } }", "{ activities { totalCount } }", "activities"),
            ("createTask", "task", "mutation($c: ID!, $k: String) { createTask(input: {customerId: $c, kind: OTHER, title: \"Do\", queue: INSIDE_SALES, idempotencyKey: $k}) { task { id } } }", "{ tasks { totalCount } }", "tasks"),
        ];
        for (field, object, mutation, count, list) in creates {
            let first = app.ok(&t.owner_token, mutation, json!({"c": c, "k": "retry-1"})).await[field][object]["id"].clone();
            let retry = app.ok(&t.owner_token, mutation, json!({"c": c, "k": "retry-1"})).await[field][object]["id"].clone();
            assert_eq!(first, retry, "{field}: a retry answers the first object");
            assert_eq!(app.ok(&t.owner_token, count, json!({})).await[list]["totalCount"], 1, "{field}");
            // Someone else's request with the same key is another request.
            let theirs = app.ok(&manager, mutation, json!({"c": c, "k": "retry-1"})).await[field][object]["id"].clone();
            assert!(theirs.is_string() && theirs != first, "{field}: {theirs}");
            assert_eq!(app.ok(&t.owner_token, count, json!({})).await[list]["totalCount"], 2, "{field}");
        }
        // A rep who gives a new task to a colleague no longer holds it, but a retry still
        // answers the task their first attempt created.
        let give = "mutation($u: ID!) { createTask(input: {kind: OTHER, title: \"For Maja\", assigneeId: $u, idempotencyKey: \"give-1\"}) { task { id } } }";
        let first = app.ok(&rep, give, json!({"u": maja.to_global()})).await["createTask"]["task"]["id"].clone();
        let retry = app.ok(&rep, give, json!({"u": maja.to_global()})).await["createTask"]["task"]["id"].clone();
        assert!(first.is_string() && first == retry, "{first} {retry}");
        let long = "x".repeat(201);
        let body = app.gql(Some(&t.owner_token), creates[0].2, json!({"c": c, "k": long})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        // Tags with LIKE's wildcard characters are matched literally.
        let tagged = "query($t: String!) { customers(filter: {tag: $t}) { totalCount } }";
        assert_eq!(app.ok(&t.owner_token, tagged, json!({"t": "long_distance"})).await["customers"]["totalCount"], 1);
        assert_eq!(app.ok(&t.owner_token, tagged, json!({"t": "long%"})).await["customers"]["totalCount"], 0);
    }
}

backend_test! {
    async fn customer_pages_walk_every_order_both_ways_without_gaps_or_repeats(app: TestApp) {
        let t = app.tenant("acme").await;
        // Ties on the name: the ID breaks them, and no page boundary loses or repeats a row.
        for i in 0..23 {
            customer(&app, &t.owner_token, json!({"lastName": format!("Name {}", i % 6)})).await;
        }
        let page = "query($first: Int, $after: String, $last: Int, $before: String, $order: CustomerOrder) {
            customers(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
                edges { cursor node { id displayName } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
        for (field, direction) in [("NAME", "ASC"), ("NAME", "DESC"), ("CREATED_AT", "ASC"), ("CREATED_AT", "DESC")] {
            let order = json!({"field": field, "direction": direction});
            let all = app.ok(&t.owner_token, page, json!({"first": 100, "order": order})).await;
            let all: Vec<Value> = all["customers"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
            assert_eq!(all.len(), 23);
            if field == "NAME" {
                let names: Vec<&str> = all.iter().map(|n| n["displayName"].as_str().unwrap()).collect();
                let mut sorted = names.clone();
                sorted.sort();
                if direction == "DESC" {
                    sorted.reverse();
                }
                assert_eq!(names, sorted, "{field} {direction}");
            }
            // Forward in pages of 5.
            let (mut seen, mut after) = (Vec::new(), Value::Null);
            loop {
                let data = app.ok(&t.owner_token, page, json!({"first": 5, "after": after, "order": order})).await;
                let c = &data["customers"];
                seen.extend(c["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
                if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                    break;
                }
                after = c["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(seen, all, "forward {field} {direction}");
            // Backward in pages of 4 from the end.
            let (mut seen, mut before) = (Vec::new(), Value::Null);
            loop {
                let data = app.ok(&t.owner_token, page, json!({"last": 4, "before": before, "order": order})).await;
                let c = &data["customers"];
                let mut chunk: Vec<Value> = c["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
                chunk.extend(seen);
                seen = chunk;
                if !c["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
                    break;
                }
                before = c["pageInfo"]["startCursor"].clone();
            }
            assert_eq!(seen, all, "backward {field} {direction}");
        }
    }
}

backend_test! {
    async fn concurrent_creates_with_one_key_all_answer_the_one_object(app: TestApp) {
        let t = app.tenant("race").await;
        let c = customer(&app, &t.owner_token, json!({"firstName": "Race", "lastName": "Key"})).await;
        let creates = [
            ("createCustomer", "customer", "mutation($c: String!, $k: String) { createCustomer(input: {firstName: \"Ten\", lastName: \"At Once\", notes: $c, email: \"ten@race.example\", idempotencyKey: $k}) { customer { id } userErrors { code } } }"),
            ("createLead", "lead", "mutation($c: ID!, $k: String) { createLead(input: {customerId: $c, idempotencyKey: $k}) { lead { id } userErrors { code } } }"),
            ("createQuote", "quote", "mutation($c: ID!, $k: String) { createQuote(input: {customerId: $c, idempotencyKey: $k}) { quote { id } userErrors { code } } }"),
        ];
        for (field, object, mutation) in creates {
            let mut racers = Vec::new();
            for _ in 0..10 {
                let (client, url, token, c) = (app.client.clone(), app.url.clone(), t.owner_token.clone(), c.clone());
                racers.push(tokio::spawn(async move {
                    let response = client.post(&url).bearer_auth(token).header("content-type", "application/json")
                        .json(&json!({"query": mutation, "variables": {"c": c, "k": "same-key"}})).send().await.unwrap();
                    response.json::<Value>().await.unwrap()
                }));
            }
            let mut ids = Vec::new();
            for racer in racers {
                let body = racer.await.unwrap();
                assert!(body.get("errors").is_none(), "{field}: {body}");
                ids.push(body["data"][field][object]["id"].as_str().expect("an object").to_owned());
            }
            ids.dedup();
            assert_eq!(ids.len(), 1, "{field}: every request answers the one object");
        }
        let data = app.ok(&t.owner_token, "{ customers { totalCount } leads { totalCount } quotes { totalCount } }", json!({})).await;
        assert_eq!(data, json!({"customers": {"totalCount": 2}, "leads": {"totalCount": 1}, "quotes": {"totalCount": 1}}));
    }
}

backend_test! {
    async fn a_tag_is_stored_once(app: TestApp) {
        let t = app.tenant("tags").await;
        let c = customer(&app, &t.owner_token, json!({"lastName": "Tagged", "tags": ["Piano", "stairs", " piano ", "STAIRS", "piano"]})).await;
        let data = app.ok(&t.owner_token, "query($c: ID!) { customer(id: $c) { tags } }", json!({"c": c})).await;
        assert_eq!(data["customer"]["tags"], json!(["piano", "stairs"]));
        let data = app.ok(&t.owner_token, "mutation($c: ID!) { updateCustomer(input: {id: $c, tags: [\"x\", \"y\", \"X\"]}) { customer { tags } } }", json!({"c": c})).await;
        assert_eq!(data["updateCustomer"]["customer"]["tags"], json!(["x", "y"]));
    }
}
