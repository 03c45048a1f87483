#![allow(clippy::unwrap_used)] // test helpers may panic: a failed setup is a failed test
//! The kernel against real databases: a SQLite file always, PostgreSQL when
//! `SWITCHYARD_TEST_DATABASE_URL` is set (each test in its own fresh database).

#[macro_use]
mod support;

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use switchyard_kernel::access::{Caller, Catalog, Principal, UserKind};
use switchyard_kernel::audit::{self, Change};
use switchyard_kernel::db::{Backend, migration_names};
use switchyard_kernel::events::{self, Dispatcher, EventBus};
use switchyard_kernel::schema::outbox;
use switchyard_kernel::{Rejection, Services, TenantId, UserErrorCode, UserId, db_run};

use support::TestDb;

switchyard_kernel::domain_event! {
    /// A thing was made (a test event).
    pub struct ThingCreated = "test.thing.created" v 1 on "Thing" by id {
        pub id: String,
        pub name: String,
    }
}

fn caller() -> Caller {
    Caller::new(
        TenantId::new(),
        Principal::User {
            id: UserId::new(),
            kind: UserKind::Staff,
            session: None,
        },
        vec![],
        [],
    )
}

#[test]
fn both_backends_carry_the_same_migration_names() {
    let pg = migration_names(Backend::Postgres);
    let sqlite = migration_names(Backend::Sqlite);
    assert!(!pg.is_empty());
    assert_eq!(pg, sqlite);
}

db_test! {
    async fn migrations_apply_revert_and_apply_again(db: TestDb) {
        let reverted = db.db.revert_all_migrations().await.unwrap();
        assert_eq!(reverted.len(), migration_names(db.db.backend()).len());
        assert_eq!(
            db.db.pending_migrations().await.unwrap().len(),
            reverted.len()
        );
        db.db.migrate().await.unwrap();
        assert!(db.db.pending_migrations().await.unwrap().is_empty());
    }
}

db_test! {
    async fn every_tenant_table_has_an_index_that_holds_tenant_id(db: TestDb) {
        let missing = db.tables_without_tenant_index().await;
        assert!(
            missing.is_empty(),
            "tables without an index led by tenant_id or including it: {missing:?}"
        );
        let tenant_tables = db.tenant_tables().await;
        assert!(
            tenant_tables.contains(&"outbox".to_owned()),
            "{tenant_tables:?}"
        );
    }
}

db_test! {
    async fn every_id_column_compares_bytewise(db: TestDb) {
        let (not_bytewise, ids) = db.id_columns_not_bytewise().await;
        assert!(ids > 100, "the ID columns are found by name: {ids}");
        assert!(
            not_bytewise.is_empty(),
            "ID columns compared through a collation (declare them TEXT COLLATE \"C\"): {not_bytewise:?}"
        );
    }
}

db_test! {
    async fn a_mutation_writes_change_audit_and_event_together_or_not_at_all(db: TestDb) {
        let services = Services {
            db: db.db.clone(),
            bus: EventBus::default(),
            catalog: std::sync::Arc::new(Catalog::default()),
            settings: Default::default(),
            throttle: Default::default(),
            files: Default::default(),
        };
        let caller = caller();
        let entity = "thing-1".to_owned();

        // Refused: the audit entry and the event written before the refusal are rolled back.
        let refused = services
            .mutate(async |tx| {
                audit::record(
                    tx,
                    &caller,
                    Change {
                        action: "test.thing.created",
                        entity_type: "Thing",
                        entity_id: entity.clone(),
                        before: None,
                        after: Some(json!({"name": "x"})),
                    },
                )
                .await?;
                events::emit(
                    tx,
                    &caller,
                    &ThingCreated {
                        id: entity.clone(),
                        name: "x".into(),
                    },
                )
                .await?;
                Err::<(), _>(Rejection::invalid(
                    "input.name",
                    UserErrorCode::Duplicate,
                    "taken",
                ))
            })
            .await;
        assert!(matches!(refused, Err(Rejection::Invalid(_))));
        let mut pooled = db.db.read().await.unwrap();
        assert!(
            audit::history(&mut pooled.conn(), &caller, "Thing", &entity)
                .await
                .unwrap()
                .is_empty()
        );
        let pending: i64 = {
            let mut conn = pooled.conn();
            db_run!(&mut conn, |c| outbox::table.count().get_result(c).await).unwrap()
        };
        assert_eq!(pending, 0);

        // Accepted: all three are there.
        services
            .mutate(async |tx| {
                audit::record(
                    tx,
                    &caller,
                    Change {
                        action: "test.thing.created",
                        entity_type: "Thing",
                        entity_id: entity.clone(),
                        before: None,
                        after: Some(json!({"name": "x"})),
                    },
                )
                .await?;
                events::emit(
                    tx,
                    &caller,
                    &ThingCreated {
                        id: entity.clone(),
                        name: "x".into(),
                    },
                )
                .await?;
                Ok::<_, Rejection>(())
            })
            .await
            .unwrap();
        let history = audit::history(&mut pooled.conn(), &caller, "Thing", &entity)
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].actor_id, caller.user_id().map(|u| u.to_string()));

        // The dispatcher delivers it to the broker once and marks it delivered.
        let mut listener = services.bus.subscribe();
        let dispatcher = Dispatcher::new(
            db.db.clone(),
            services.bus.clone(),
            Duration::from_secs(3600),
        );
        assert_eq!(dispatcher.deliver_pending().await.unwrap(), 1);
        let event = listener.try_recv().unwrap();
        assert_eq!(event.event_type, "test.thing.created");
        assert_eq!(event.tenant_id, caller.tenant_id);
        assert_eq!(event.payload, json!({"id": "thing-1", "name": "x"}));
        assert_eq!(event.version, 1);
        assert_eq!(
            event.decode::<ThingCreated>().unwrap().unwrap(),
            ThingCreated {
                id: entity.clone(),
                name: "x".into()
            }
        );
        assert_eq!(dispatcher.deliver_pending().await.unwrap(), 0);
    }
}
