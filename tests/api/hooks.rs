//! The after-commit hook: every committed change, in order, and nothing for
//! a refused mutation.

use std::sync::{Arc, Mutex};

use mesh_catalog::auth::{Caller, Identity};
use mesh_catalog::catalog::{Catalog, Change, ChangeHook, ChangeKind, NewDomain, NewTeam};
use mesh_catalog::store::Store;

use crate::helpers::{fresh_postgres_url, temp_dir};

#[derive(Default)]
struct Recorder(Mutex<Vec<Change>>);

impl ChangeHook for Recorder {
    fn after_commit(&self, change: &Change) {
        self.0.lock().unwrap().push(change.clone());
    }
}

async fn hooks_see_committed_changes_only(url: String) {
    let recorder = Arc::new(Recorder::default());
    let catalog = Catalog::new(Store::open(&url).await.unwrap()).with_hook(recorder.clone());
    let alice = Caller::User(Identity {
        subject: "alice".into(),
        teams: vec![],
        roles: vec!["admin".into()],
    });
    catalog
        .create_team(
            &alice,
            NewTeam {
                name: "orders-team".into(),
                description: String::new(),
                members: vec![],
            },
        )
        .await
        .unwrap();
    let domain = NewDomain {
        name: "orders".into(),
        description: String::new(),
        owner_team: "orders-team".into(),
    };
    catalog.create_domain(&alice, domain.clone()).await.unwrap();
    // Refused: duplicate, and anonymous.
    assert!(catalog.create_domain(&alice, domain.clone()).await.is_err());
    assert!(catalog.create_domain(&Caller::Anonymous, domain.clone()).await.is_err());
    let mallory = Caller::User(Identity {
        subject: "mallory".into(),
        teams: vec![],
        roles: vec![],
    });
    assert!(catalog.create_domain(&mallory, domain).await.is_err());

    let changes = recorder.0.lock().unwrap().clone();
    let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::TeamCreated, ChangeKind::DomainCreated]);
    assert!(changes.iter().all(|c| c.actor == "alice"));
    assert!(changes[0].id < changes[1].id, "ids are time-ordered");
    assert_eq!(changes[1].entity_name, "orders");
    // What the hook saw is committed.
    let view = catalog.principal(&alice).await.unwrap();
    assert!(catalog.domain(&view, &changes[1].entity_id).await.unwrap().is_some());
}

#[tokio::test]
async fn hooks_on_sqlite() {
    let dir = temp_dir();
    hooks_see_committed_changes_only(format!("sqlite://{}", dir.join("c.db").display())).await;
}

#[tokio::test]
async fn hooks_on_postgres() {
    hooks_see_committed_changes_only(fresh_postgres_url().await).await;
}
