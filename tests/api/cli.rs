//! The `switchyard` binary's commands, run as a user would run them.

use std::process::Command;

fn switchyard(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .current_dir(dir)
        .env(
            "SWITCHYARD_DATABASE_URL",
            format!("sqlite://{}/cli.db", dir.display()),
        )
        .env("SWITCHYARD_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_plain_mistake_is_one_line_of_error_without_a_backtrace() {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args([
            "tenant",
            "create",
            "--name",
            "A",
            "--slug",
            "a",
            "--owner-email",
            "not-an-email",
        ])
        .current_dir(&dir)
        .env(
            "SWITCHYARD_DATABASE_URL",
            format!("sqlite://{}/cli.db", dir.display()),
        )
        .env("SWITCHYARD_LOG", "warn")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        err.trim(),
        "error: \"not-an-email\" is not an email address",
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn operator_commands_work_end_to_end() {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();

    let (ok, out, err) = switchyard(&dir, &["migrate"]);
    assert!(ok, "{err}");
    assert!(out.contains("applied"), "{out}");
    let (ok, out, _) = switchyard(&dir, &["migrate"]);
    assert!(ok);
    assert!(out.contains("applied 0"), "{out}");

    let (ok, out, err) = switchyard(&dir, &["seed", "--demo"]);
    assert!(ok, "{err}");
    for role in [
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
    ] {
        assert!(out.contains(role), "{role} missing from:\n{out}");
    }
    assert!(out.contains("200 customers"), "{out}");
    assert!(out.contains("Operations: 20 jobs"), "{out}");
    assert!(out.contains("2 bookings from the booking form"), "{out}");
    // Three notifications for each of the 14 staff; reminders before the staffed jobs ahead.
    assert!(out.contains("Notifications: 42 (read and unread)"), "{out}");
    let reminders: usize = out
        .split("for the staff; ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(reminders >= 6, "{out}");
    assert!(out.contains("Support desk: 8 tickets"), "{out}");
    assert!(out.contains("client3@nordicmovers.example"), "{out}");
    // The demo's two attachments are files in the data directory, named by their IDs.
    let files: Vec<_> = std::fs::read_dir(dir.join("files/attachments"))
        .unwrap()
        .flat_map(|tenant| std::fs::read_dir(tenant.unwrap().path()).unwrap())
        .map(|f| f.unwrap().metadata().unwrap().len())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let (ok, _, err) = switchyard(&dir, &["seed", "--demo"]);
    assert!(!ok && err.contains("already exists"), "{err}");

    let (ok, out, err) = switchyard(&dir, &["token", "--user", "sales@nordicmovers.example"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim().split('.').count(), 3, "a JWT: {out}");

    let (ok, out, err) = switchyard(
        &dir,
        &[
            "tenant",
            "create",
            "--name",
            "Fjord Freight",
            "--slug",
            "fjord",
            "--owner-email",
            "boss@fjord.example",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("boss@fjord.example"), "{out}");
    let (ok, _, err) = switchyard(
        &dir,
        &[
            "user",
            "create",
            "--tenant",
            "fjord",
            "--email",
            "rep@fjord.example",
            "--name",
            "Rep",
            "--role",
            "sales_rep",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = switchyard(
        &dir,
        &[
            "user",
            "create",
            "--tenant",
            "fjord",
            "--email",
            "x@fjord.example",
            "--name",
            "X",
            "--password",
            "weak",
        ],
    );
    assert!(!ok && err.contains("password"), "{err}");
    let (ok, out, err) = switchyard(
        &dir,
        &[
            "api-key",
            "create",
            "--tenant",
            "fjord",
            "--user",
            "boss@fjord.example",
            "--name",
            "partner",
            "--permission",
            "identity.location:read",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.trim().starts_with("sy_"), "{out}");

    let (ok, out, _) = switchyard(&dir, &["schema"]);
    assert!(ok);
    assert!(
        out.contains("type Query") && out.contains("directive @access"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_readme_documents_every_setting_and_role() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let keys = switchyard_gateway::Config::keys();
    for (key, _, _) in &keys {
        let var = format!("`SWITCHYARD_{}`", key.to_uppercase());
        assert!(readme.contains(&var), "README.md does not document {var}");
    }
    let rows = readme
        .lines()
        .filter(|l| l.starts_with("| `SWITCHYARD_"))
        .count();
    assert_eq!(rows, keys.len(), "README lists settings that do not exist");
    for role in switchyard_kernel::BuiltinRole::ALL {
        assert!(
            readme.contains(&format!("| `{}` |", role.key())),
            "README.md does not describe role {}",
            role.key()
        );
    }
    assert!(readme.contains("cargo run --release") && readme.contains("cargo test --workspace"));
}
