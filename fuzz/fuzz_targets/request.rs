//! The request entry point under libFuzzer: bytes become an HTTP request to `/graphql` (a POST
//! body, a GET query string, or a GraphQL document wrapped in JSON; anonymous or signed in as
//! an owner), which goes through everything a real request does (negotiation, JSON, the
//! request checks, parsing, validation, the access policy, execution against a real SQLite
//! database). The server must never panic, and every answer must be one the specification
//! allows, in JSON, each error with a code.
//!
//! `cargo +nightly fuzz run -s none request -- -dict=fuzz/graphql.dict` (see the README).

#![no_main]

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use switchyard_gateway::{App, Config};
use switchyard_identity::tenants::provision::{self, NewUser};
use switchyard_kernel::access::UserKind;
use tower::ServiceExt;

struct Target {
    runtime: tokio::runtime::Runtime,
    router: Router,
    token: String,
}

static TARGET: LazyLock<Target> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = std::env::temp_dir().join(format!("switchyard-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let (router, token) = runtime.block_on(async {
        let config = Config {
            database_url: format!("sqlite://{}/fuzz.db", dir.display()),
            auto_migrate: "true".into(),
            jwt_secret: "fuzz-secret-fuzz-secret-fuzz-secret-0123456789".into(),
            outbox_poll_ms: 3_600_000,
            ..Config::default()
        };
        let app = App::build(config).await.expect("the app builds");
        let (tenant, owner) = provision::create_tenant(
            app.services(),
            "Fuzz",
            "fuzz",
            NewUser {
                email: "owner@fuzz.example".into(),
                name: "Owner".into(),
                password: "Correct-Horse-42".into(),
                kind: UserKind::Staff,
                roles: vec![],
                locations: vec![],
            },
        )
        .await
        .expect("a tenant");
        let (token, _) = app
            .authenticator()
            .open_session(app.services(), tenant, owner)
            .await
            .expect("a session");
        (app.router(), token)
    });
    Target {
        runtime,
        router,
        token,
    }
});

/// Percent-encodes every byte that is not unreserved.
fn encode(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(b) {
            out.push(*b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let target = &*TARGET;
    let mut builder = Request::builder().uri("/graphql");
    if mode & 0x80 != 0 {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", target.token));
    }
    let request = match mode % 3 {
        // The body as sent.
        0 => builder
            .method("POST")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(rest.to_vec())),
        // A GET with the bytes as the query string's `query`.
        1 => builder
            .method("GET")
            .uri(format!("/graphql?query={}", encode(rest)))
            .body(Body::empty()),
        // A GraphQL document (mutations too) in a well-formed JSON body.
        _ => {
            let query = String::from_utf8_lossy(rest);
            let body = serde_json::json!({ "query": query }).to_string();
            builder
                .method("POST")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/graphql-response+json")
                .body(Body::from(body))
        }
    };
    let Ok(request) = request else {
        return;
    };
    target.runtime.block_on(async {
        let response = target
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status().as_u16();
        assert!(
            matches!(status, 200 | 400 | 401 | 405 | 413 | 415),
            "unexpected status {status}"
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
        if let Some(errors) = body.get("errors").and_then(Value::as_array) {
            for error in errors {
                assert!(
                    error["extensions"]["code"].is_string(),
                    "an error without a code: {error}"
                );
            }
        }
    });
});
