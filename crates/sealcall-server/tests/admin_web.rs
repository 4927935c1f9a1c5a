//! The admin center over plain HTTP (no browser): response headers, the session cookie's
//! attributes, the cross-origin check, form tokens, the body limit, and that a refused request
//! changes nothing. The same page in a real browser is tested in the top-level `tests/` crate
//! (`sealcall-scenarios`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{ADMIN, KEN};
use reqwest::header::{HeaderMap, HeaderValue};
use sealcall_server::testing::{LocalServer, PASSWORD};

/// A cookie-holding client that does not follow redirects.
struct Web {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Web {
    fn new(server: &LocalServer) -> Self {
        // Plain HTTP on loopback; reqwest still wants a TLS provider installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.url.clone(),
            cookie: None,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await.unwrap();
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// A same-origin form POST, as a browser sends it.
    async fn post(&self, path: &str, body: String) -> Reply {
        self.post_from(path, body, &self.base.clone(), "same-origin")
            .await
    }

    async fn post_from(&self, path: &str, body: String, origin: &str, site: &str) -> Reply {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin)
            .header("sec-fetch-site", site)
            .body(body);
        self.send(req).await
    }

    async fn sign_in(&mut self, user: &str) -> Reply {
        let reply = self
            .post(
                "/admin/sign-in",
                form(&[("user", user), ("password", PASSWORD)]),
            )
            .await;
        if let Some(set) = reply.headers.get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        reply
    }

    /// The form token on a page.
    async fn form_token(&self) -> String {
        let page = self.get("/admin/enhanced-encryption-policies").await;
        let marker = "name=\"form_token\" value=\"";
        let start = page.body.find(marker).expect("a form token on the page") + marker.len();
        page.body[start..start + 64].to_owned()
    }
}

async fn server() -> LocalServer {
    LocalServer::start_on(
        common::current_store(),
        ADMIN,
        &[(KEN, "Ken Meyer")],
        false,
        |_| {},
    )
    .await
    .unwrap()
}

async fn policies(server: &LocalServer) -> String {
    server
        .cmdlet_output("Get-CsTeamsEnhancedEncryptionPolicy")
        .await
        .unwrap()
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .map_or("", |v: &HeaderValue| v.to_str().unwrap())
}

both_stores! {
    #[tokio::test]
    async fn every_admin_response_carries_the_security_headers() {
        let server = server().await;
        let mut web = Web::new(&server);
        for reply in [
            web.get("/admin/sign-in").await,
            web.get("/admin/enhanced-encryption-policies").await,
            web.post("/admin/enhanced-encryption-policies/new", String::new())
                .await,
            web.sign_in(ADMIN).await,
            web.get("/admin/audit-log").await,
        ] {
            let csp = header(&reply, "content-security-policy");
            assert!(csp.starts_with("default-src 'none'"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"));
            assert!(!csp.contains("script-src"), "no script is allowed: {csp}");
            assert_eq!(header(&reply, "x-content-type-options"), "nosniff");
            assert_eq!(header(&reply, "referrer-policy"), "same-origin");
            assert_eq!(header(&reply, "cache-control"), "no-store");
            assert_eq!(header(&reply, "x-frame-options"), "DENY");
        }
        let css = web.get("/admin/admin.css").await;
        assert_eq!(css.status, 200);
        assert!(header(&css, "content-type").starts_with("text/css"));
    }

    #[tokio::test]
    async fn sign_in_sets_a_host_only_secure_strict_cookie_with_a_session_token() {
        let server = server().await;
        let mut web = Web::new(&server);
        let reply = web.sign_in(ADMIN).await;
        assert_eq!(reply.status, 303);
        assert_eq!(
            header(&reply, "location"),
            "/admin/enhanced-encryption-policies"
        );
        let cookie = header(&reply, "set-cookie");
        assert!(cookie.starts_with("__Host-sealcall-admin="), "{cookie}");
        for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Domain"));
        // The cookie holds an ordinary session token: it works as a bearer token too, so any
        // server node (which stores only its hash) can check it.
        let token = web.cookie.as_ref().unwrap().split_once('=').unwrap().1;
        let me = server
            .client()
            .unwrap()
            .request("GET", "/me", Some(token), None)
            .await
            .unwrap();
        assert_eq!(me.status, 200);
        assert_eq!(me.body["user"], ADMIN);
        let page = web.get("/admin/enhanced-encryption-policies").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Global (Org-wide default)"));
    }

    #[tokio::test]
    async fn a_wrong_password_and_a_non_administrator_get_no_session() {
        let server = server().await;
        let mut web = Web::new(&server);
        let wrong = web
            .post(
                "/admin/sign-in",
                form(&[("user", ADMIN), ("password", "not the password")]),
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("role=\"alert\""));
        assert!(wrong.body.contains("wrong user name or password"));
        assert!(wrong.headers.get("set-cookie").is_none());
        let ken = web.sign_in(KEN).await;
        assert_eq!(ken.status, 403);
        assert!(
            ken.body
                .contains("doesn&#39;t have the Teams administrator or global administrator role"),
            "{}",
            ken.body
        );
        assert!(ken.headers.get("set-cookie").is_none());
        assert_eq!(web.get("/admin/audit-log").await.status, 303);
    }

    #[tokio::test]
    async fn cross_origin_posts_and_foreign_form_tokens_are_refused_and_change_nothing() {
        let server = server().await;
        let mut web = Web::new(&server);
        web.sign_in(ADMIN).await;
        let token = web.form_token().await;
        let before = policies(&server).await;
        let add = |token: &str| {
            form(&[
                ("form_token", token),
                ("name", "Sneaky"),
                ("calling", "DisabledUserOverride"),
                ("description", ""),
            ])
        };
        // A page on another origin (even with the right token, which it could not know).
        let cross = web
            .post_from(
                "/admin/enhanced-encryption-policies/new",
                add(&token),
                "http://127.0.0.1:1",
                "same-site",
            )
            .await;
        assert_eq!(cross.status, 403);
        assert!(cross.body.contains("sent from another site"));
        let no_site = web
            .post_from(
                "/admin/enhanced-encryption-policies/new",
                add(&token),
                "http://evil.example",
                "cross-site",
            )
            .await;
        assert_eq!(no_site.status, 403);
        // Same origin, but a token of no session, or none.
        for bad in ["0".repeat(64), String::new()] {
            let reply = web
                .post("/admin/enhanced-encryption-policies/new", add(&bad))
                .await;
            assert_eq!(reply.status, 403);
            assert!(
                reply
                    .body
                    .contains("doesn&#39;t belong to your current session")
            );
        }
        // A token from an ended session, replayed in a new one.
        web.post("/admin/sign-out", form(&[("form_token", &token)]))
            .await;
        let gone = web
            .post("/admin/enhanced-encryption-policies/new", add(&token))
            .await;
        assert_eq!(gone.status, 401, "the old cookie's session has ended");
        web.sign_in(ADMIN).await;
        let replay = web
            .post("/admin/enhanced-encryption-policies/new", add(&token))
            .await;
        assert_eq!(replay.status, 403);
        assert_eq!(policies(&server).await, before);
        // With the new session's token it works.
        let fresh = web.form_token().await;
        let ok = web
            .post("/admin/enhanced-encryption-policies/new", add(&fresh))
            .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        assert!(policies(&server).await.contains("Tag:Sneaky"));
    }

    #[tokio::test]
    async fn a_one_megabyte_form_is_refused_before_it_is_read() {
        let server = server().await;
        let mut web = Web::new(&server);
        web.sign_in(ADMIN).await;
        let token = web.form_token().await;
        let before = policies(&server).await;
        let huge = form(&[
            ("form_token", &token),
            ("name", "Big"),
            ("calling", "Disabled"),
            ("description", &"x".repeat(1024 * 1024)),
        ]);
        let reply = web
            .post("/admin/enhanced-encryption-policies/new", huge)
            .await;
        assert_eq!(reply.status, 413);
        assert!(reply.body.contains("larger than 16 KiB"));
        assert_eq!(policies(&server).await, before);
    }

    #[tokio::test]
    async fn form_fields_are_validated_with_the_policy_types() {
        let server = server().await;
        let mut web = Web::new(&server);
        web.sign_in(ADMIN).await;
        let token = web.form_token().await;
        let before = policies(&server).await;
        let audit_before = server.admin_get("/admin/audit?limit=1000").await.unwrap();
        for (path, fields, expect) in [
            (
                "/admin/enhanced-encryption-policies/new",
                vec![("name", "Contoso Policy"), ("calling", "Disabled")],
                "names can&#39;t contain spaces",
            ),
            (
                "/admin/enhanced-encryption-policies/new",
                vec![("name", "Ok"), ("calling", "Sometimes")],
                "End-to-end call encryption",
            ),
            (
                "/admin/enhanced-encryption-policies/new",
                vec![
                    ("name", "Ok"),
                    ("calling", "Disabled"),
                    ("description", "a\u{7}b"),
                ],
                "Description",
            ),
            (
                "/admin/assignments/groups",
                vec![("group", "sales"), ("policy", "Nope"), ("rank", "0")],
                "Rank",
            ),
            (
                "/admin/assignments/users",
                vec![("user", KEN), ("policy", "NoSuchPolicy")],
                "NoSuchPolicy",
            ),
            (
                "/admin/client-requirements",
                vec![("default", "1.x")],
                "is not a version",
            ),
            (
                "/admin/compliance-recording",
                vec![
                    ("scope", "user"),
                    ("user", "ghost@contoso.com"),
                    ("enabled", "true"),
                ],
                "ghost@contoso.com",
            ),
        ] {
            let mut fields = fields;
            fields.push(("form_token", &token));
            let reply = web.post(path, form(&fields)).await;
            assert!(
                (400..500).contains(&reply.status),
                "{path}: {}",
                reply.status
            );
            assert!(reply.body.contains("role=\"alert\""), "{path}");
            assert!(
                reply.body.contains(expect),
                "{path}: {expect}\n{}",
                reply.body
            );
        }
        assert_eq!(policies(&server).await, before);
        let audit_after = server.admin_get("/admin/audit?limit=1000").await.unwrap();
        assert_eq!(audit_after, audit_before, "a refused form is not a change");
    }
}
