//! The stores themselves: two handles on one store (two server nodes on one database) never lose
//! a policy commit, and on PostgreSQL a bad configuration fails at start-up with a message that
//! names the problem and never the password.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::sync::Arc;

use common::*;
use sealcall_policy::{
    AuditAction, AuditOutcome, AuditRecord, Change, EnhancedEncryptionPolicy, PolicyIdentity,
    PolicyName, Timestamp, UserId,
};
use sealcall_server::testing::postgres as pg;
use sealcall_server::{PostgresStore, Server, ServerError, Storage, StoreLocation, policy};

/// One read-modify-write policy operation: reads how many policies exist and adds `P<count>`.
/// Two operations that saw the same count would write the same name, and one would be lost.
fn add_next_policy(store: &dyn Storage) {
    policy(store, |p| {
        let n = p.policies().unwrap().len();
        let name = PolicyName::new(&format!("P{n}")).unwrap();
        let audit = AuditRecord {
            actor: UserId::new(ADMIN).unwrap(),
            at: Timestamp(1),
            action: AuditAction::NewPolicy,
            target: format!("Tag:{name}"),
            before: None,
            after: None,
            outcome: AuditOutcome::Applied,
        };
        p.commit(
            &[Change::PutPolicy(EnhancedEncryptionPolicy::new(
                PolicyIdentity::Tag(name),
            ))],
            &audit,
        )
        .unwrap();
    })
    .unwrap();
}

both_stores! {
    #[tokio::test]
    async fn two_nodes_on_one_store_never_lose_a_policy_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = fresh_store(dir.path());
        blocking(move || {
            db.migrate().unwrap();
            let nodes: Vec<Arc<dyn Storage>> = vec![db.open().unwrap(), db.open().unwrap()];
            std::thread::scope(|s| {
                for t in 0..6 {
                    let node = Arc::clone(&nodes[t % 2]);
                    s.spawn(move || {
                        for _ in 0..5 {
                            add_next_policy(node.as_ref());
                        }
                    });
                }
            });
            let names: Vec<String> = policy(nodes[0].as_ref(), |p| p.policies().unwrap())
                .unwrap()
                .iter()
                .map(|p| format!("{:?}", p.identity))
                .collect();
            assert_eq!(names.len(), 31, "Global and P1..P30: {names:?}");
            assert_eq!(nodes[1].audit_log(100).unwrap().len(), 30);
        })
        .await;
    }
}

/// The test PostgreSQL, or `None` (skipping, outside CI).
fn cluster() -> Option<&'static pg::Cluster> {
    pg::database()?;
    pg::cluster().ok()
}

/// Starts a server on `db` and returns its start-up error.
async fn start_error(db: &str) -> ServerError {
    let location = StoreLocation::parse(db).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::start(config(&location), listener)
        .await
        .expect_err("the server must not start")
}

#[tokio::test]
async fn unreachable_wrong_password_and_missing_database_fail_at_start_naming_the_problem() {
    let Some(cluster) = cluster() else { return };
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = free.local_addr().unwrap().port();
    drop(free);
    let secret = "n0t-the-Passw0rd";
    let cases = [
        (
            format!("postgres://postgres:{secret}@127.0.0.1:{closed_port}/x"),
            "cannot connect to PostgreSQL",
        ),
        (
            cluster.url_with_password("postgres", secret),
            "password authentication failed",
        ),
        (
            cluster.url("no_such_database"),
            "database \"no_such_database\" does not exist",
        ),
    ];
    for (url, expected) in cases {
        let err = start_error(&url).await.to_string();
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("postgres://postgres:***@127.0.0.1:"), "{err}");
        assert!(!err.contains(secret), "the password leaked: {err}");
        assert!(
            !err.contains(cluster.password()),
            "the password leaked: {err}"
        );
    }
    let err = StoreLocation::parse("postgres://u:secret@host:notaport/db").unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(err.to_string().contains("PostgreSQL URL"), "{err}");
}

#[tokio::test]
async fn an_empty_an_older_and_a_newer_schema_are_refused_and_migrate_upgrades() {
    let Some(cluster) = cluster() else { return };
    let url = cluster.create_database().unwrap();
    let text = cluster.url(url.database());
    let err = start_error(&text).await;
    assert!(matches!(err, ServerError::NotInitialised), "{err}");

    // Version 1 by hand, as a server of that version left it.
    let v1 = include_str!("../migrations/postgres/0001_initial.sql");
    cluster
        .execute(
            url.database(),
            &format!(
                "{v1}; CREATE TABLE schema_version (version INTEGER NOT NULL);
                 INSERT INTO schema_version VALUES (1);"
            ),
        )
        .unwrap();
    let err = start_error(&text).await;
    assert!(
        matches!(
            err,
            ServerError::SchemaTooOld {
                found: 1,
                supported: 2
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("sealcall server migrate"), "{err}");

    // `sealcall server migrate` brings it up to date; then `init` and the server work.
    let location = StoreLocation::Postgres(url.clone());
    let db = location.clone();
    blocking(move || {
        sealcall_server::cli::server_migrate(&db).unwrap();
        seed(&db);
    })
    .await;
    let check = url.clone();
    let version = blocking(move || PostgresStore::open(&check).unwrap().schema_version())
        .await
        .unwrap();
    assert_eq!(version, 2);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = Server::start(config(&location), listener).await.unwrap();
    handle.shutdown().await.unwrap();

    // A newer server's schema: refused by the server and by migrate alike.
    cluster
        .execute(url.database(), "UPDATE schema_version SET version = 99")
        .unwrap();
    let err = start_error(&text).await;
    assert!(
        matches!(
            err,
            ServerError::SchemaTooNew {
                found: 99,
                supported: 2
            }
        ),
        "{err}"
    );
    let err = blocking(move || sealcall_server::cli::server_migrate(&location))
        .await
        .unwrap_err();
    assert!(matches!(err, ServerError::SchemaTooNew { .. }), "{err}");
}
