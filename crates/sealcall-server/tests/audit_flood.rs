//! Audit flooding: denied attempts are written one by one only up to a limit per actor and
//! window; past it they are counted in one row, so no user can fill the disk with refusals.
//! Every attempt is still refused, and other actors' refusals are still written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::*;

both_stores! {
    #[tokio::test]
    async fn denied_attempts_past_the_limit_are_counted_not_written() {
        let s = TestServer::start().await;
        let ken = s.sign_in(KEN).await;
        let ana = s.sign_in(ANA).await;
        let admin = s.sign_in(ADMIN).await;
        let line = "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Required";
        for _ in 0..120 {
            assert_eq!(
                s.cmdlet(&ken, line).await.0,
                403,
                "every attempt is refused"
            );
        }
        for _ in 0..3 {
            assert_eq!(s.cmdlet(&ana, line).await.0, 403);
        }
        let (_, log) = s.get("/admin/audit?limit=1000", &admin).await;
        let rows = log.as_array().unwrap();
        let by = |actor: &str| {
            rows.iter()
                .filter(|r| r["actor"] == actor)
                .collect::<Vec<_>>()
        };
        let ken_rows = by(KEN);
        let limit = sealcall_server::DENIED_AUDITS_PER_WINDOW as usize;
        eprintln!(
            "120 denied cmdlets by one user: {} audit rows; the count row says: {}",
            ken_rows.len(),
            ken_rows[0]["target"]
        );
        assert_eq!(ken_rows.len(), limit + 1, "{ken_rows:?}");
        assert_eq!(ken_rows[0]["action"], "DeniedAttemptsCounted");
        let counted = ken_rows[0]["target"].as_str().unwrap();
        assert!(
            counted.starts_with(&format!("{} more denied attempts", 120 - limit)),
            "{counted}"
        );
        assert!(ken_rows.iter().all(|r| r["outcome"] == "Denied"));
        assert_eq!(
            by(ANA).len(),
            3,
            "another actor's refusals are still written"
        );
        // Nothing changed.
        let (_, policies) = s.get("/admin/policies", &admin).await;
        assert_eq!(
            policies[0]["calling"], "Disabled",
            "the seeded Global policy: {policies}"
        );
    }
}
