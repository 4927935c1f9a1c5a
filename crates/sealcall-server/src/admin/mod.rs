//! The admin center: server-rendered HTML pages under `/admin` for administrators (Teams or
//! global administrator role), with plain forms that redirect after POST and no script.
//!
//! Every change is a typed [`sealcall_policy::Command`] run through the same executor as the
//! cmdlets ([`sealcall_policy::execute`]), so authorisation and audit happen in one place; form
//! fields are validated with the policy crate's types before a command is built.
//!
//! Web security: the session cookie (`__Host-sealcall-admin`, `HttpOnly`, `Secure`,
//! `SameSite=Strict`) holds an ordinary session token, stored only as its hash, so any server
//! node can check it. Every POST passes the stateless cross-origin check (`Sec-Fetch-Site` /
//! `Origin`, tower-http's [`CsrfLayer`]) and, once signed in, carries a form token derived from
//! the session token (HMAC-SHA256), which a page of another origin cannot know. Responses
//! carry a strict Content-Security-Policy, `X-Content-Type-Options`, `Referrer-Policy`,
//! `frame-ancestors 'none'` and `Cache-Control: no-store`; form bodies are limited to
//! [`MAX_FORM_BYTES`].

// A refusal is a page: handlers return `Result<Response, Response>` as axum handlers do; boxing
// a 128-byte response on the error path would buy nothing.
#![allow(clippy::result_large_err)]

mod pages;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use zeroize::Zeroizing;

use crate::AppState;
use crate::http::authenticate;
use crate::store::UserRecord;

/// The session cookie's name. The `__Host-` prefix makes browsers accept it only with
/// `Secure`, `Path=/` and no `Domain`, so no other host can set or shadow it.
pub(crate) const COOKIE: &str = "__Host-sealcall-admin";

/// Largest form body the admin pages accept (the longest real form, a policy with a
/// 1024-character description, is a few KiB).
pub(crate) const MAX_FORM_BYTES: usize = 16 * 1024;

/// The Content-Security-Policy of every admin response: nothing but the server's own
/// stylesheet, forms that post back to it, never framed.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                              form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Where signing in leads.
pub(crate) const HOME: &str = "/admin/enhanced-encryption-policies";

/// The admin center's routes (merged into the server's router).
pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to(HOME) }))
        .route("/admin/", get(|| async { Redirect::to(HOME) }))
        .route("/admin/admin.css", get(stylesheet))
        .route(
            "/admin/sign-in",
            get(pages::sign_in_form).post(pages::sign_in),
        )
        .route("/admin/sign-out", post(pages::sign_out))
        .route("/admin/enhanced-encryption-policies", get(pages::policies))
        .route(
            "/admin/enhanced-encryption-policies/new",
            get(pages::new_policy_form).post(pages::create_policy),
        )
        .route(
            "/admin/enhanced-encryption-policies/{name}/edit",
            get(pages::edit_policy_form).post(pages::save_policy),
        )
        .route(
            "/admin/enhanced-encryption-policies/{name}/delete",
            get(pages::delete_form).post(pages::delete_policy),
        )
        .route("/admin/assignments", get(pages::assignments))
        .route("/admin/assignments/tenant", post(pages::assign_tenant))
        .route("/admin/assignments/users", post(pages::assign_user))
        .route("/admin/assignments/groups", post(pages::assign_group))
        .route(
            "/admin/compliance-recording",
            get(pages::compliance).post(pages::set_compliance),
        )
        .route(
            "/admin/client-requirements",
            get(pages::clients).post(pages::set_clients),
        )
        .route("/admin/audit-log", get(pages::audit))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(CsrfLayer::new().with_rejection_response(cross_origin_refused))
        .layer(axum::middleware::map_response(security_headers))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../assets/admin.css"),
    )
        .into_response()
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Same-origin requests keep their Origin and Referer (the cross-origin check reads
        // them); nothing leaks to other sites.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn cross_origin_refused(_: ProtectionError) -> Response<Body> {
    message(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was sent from another site (its Origin or Sec-Fetch-Site header is not this \
         server's). Nothing was changed.",
    )
}

/// The parts every page shares: its title, the section the navigation marks, who is signed
/// in, the form token, a notice after a change and an error to announce.
pub(crate) struct Chrome {
    pub title: String,
    pub section: &'static str,
    pub signed_in: Option<String>,
    pub form_token: String,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Chrome {
    /// A page for nobody signed in.
    pub fn public(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            section: "",
            signed_in: None,
            form_token: String::new(),
            notice: None,
            error: None,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/message.html")]
struct MessagePage {
    chrome: Chrome,
    message: String,
    link_href: Option<String>,
    link_text: String,
}

/// Renders a page with a status.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page could not be rendered",
        )
            .into_response(),
    }
}

/// A page with a heading and one message.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    message_with_link(status, title, text, None)
}

pub(crate) fn message_with_link(
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let page = MessagePage {
        chrome: Chrome::public(title),
        message: text.to_owned(),
        link_href: link.map(|(href, _)| href.to_owned()),
        link_text: link.map(|(_, t)| t.to_owned()).unwrap_or_default(),
    };
    render(status, &page)
}

/// The refusal for a signed-in account without an administrator role.
pub(crate) fn not_an_administrator(user: &UserRecord) -> Response {
    message_with_link(
        StatusCode::FORBIDDEN,
        "Administrators only",
        &format!(
            "{} ({}) doesn't have the Teams administrator or global administrator role, which \
             the admin center needs. Ask a global administrator to grant you one \
             (sealcall role grant). Nothing was changed.",
            user.display_name, user.id
        ),
        Some(("/admin/sign-in", "Sign in with another account")),
    )
}

/// A signed-in administrator, from the session cookie. Holds the session token (to derive the
/// form token); deliberately not `Debug`.
pub(crate) struct Admin {
    pub user: UserRecord,
    pub token_hash: [u8; 32],
    form_token: String,
}

impl Admin {
    /// The actor the policy executor authorises and audits.
    pub fn actor(&self) -> sealcall_policy::Actor {
        sealcall_policy::Actor::new(self.user.id.clone(), self.user.roles)
    }

    /// The page chrome for this administrator.
    pub fn chrome(&self, title: &str, section: &'static str) -> Chrome {
        Chrome {
            title: title.to_owned(),
            section,
            signed_in: Some(format!("{} ({})", self.user.display_name, self.user.id)),
            form_token: self.form_token.clone(),
            notice: None,
            error: None,
        }
    }

    /// Checks a submitted form token against this session's, in constant time.
    pub fn check_form_token(&self, submitted: &str) -> Result<(), Response> {
        let matches = !self.form_token.is_empty()
            && bool::from(submitted.as_bytes().ct_eq(self.form_token.as_bytes()));
        if matches {
            Ok(())
        } else {
            Err(message_with_link(
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form's token doesn't belong to your current session (the form came from \
                 an earlier session, or from somewhere else). Nothing was changed.",
                Some((HOME, "Back to the admin center")),
            ))
        }
    }
}

/// The form token of a session: HMAC-SHA256 keyed with the session token. Only a holder of
/// the cookie can compute it; any server node can check it.
pub(crate) fn form_token(session_token: &str) -> String {
    let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(session_token.as_bytes())
    else {
        return String::new();
    };
    mac.update(b"sealcall admin form token v1");
    hex::encode(mac.finalize().into_bytes())
}

/// The session token in the request's admin cookie.
pub(crate) fn cookie_token(parts: &Parts) -> Option<Zeroizing<String>> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| Zeroizing::new(value.trim().to_owned()))
}

/// The `Set-Cookie` value holding a new session token.
pub(crate) fn session_cookie(token: &str, max_age_secs: u64) -> String {
    format!("{COOKIE}={token}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the cookie.
pub(crate) fn expired_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
}

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        let signed_out = |method: &Method| {
            if method == Method::GET || method == Method::HEAD {
                Redirect::to("/admin/sign-in").into_response()
            } else {
                message_with_link(
                    StatusCode::UNAUTHORIZED,
                    "Signed out",
                    "You are not signed in (or your session ended). Nothing was changed.",
                    Some(("/admin/sign-in", "Sign in")),
                )
            }
        };
        let Some(token) = cookie_token(parts) else {
            return Err(signed_out(&parts.method));
        };
        let Ok(authed) = authenticate(state, &token).await else {
            return Err(signed_out(&parts.method));
        };
        if !authed.user.roles.can_administer_policies() {
            return Err(not_an_administrator(&authed.user));
        }
        Ok(Admin {
            user: authed.user,
            token_hash: authed.token_hash,
            form_token: form_token(&token),
        })
    }
}

/// A form body, read within [`MAX_FORM_BYTES`]; a body that is too large or malformed gets a
/// page saying so, and nothing changes.
pub(crate) struct AdminForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AdminForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(AdminForm(value)),
            Err(rejection) => {
                let status = rejection.status();
                let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    format!(
                        "The form is larger than {} KiB, more than any form of this page \
                         sends. Nothing was changed.",
                        MAX_FORM_BYTES / 1024
                    )
                } else {
                    "The form could not be read (a field is missing or malformed). Nothing was \
                     changed."
                        .to_owned()
                };
                Err(message(status, "Form refused", &text))
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) for Unix seconds.
pub(crate) fn utc(secs: u64) -> String {
    let Ok(t) = i64::try_from(secs).map_or(Err(()), |s| {
        time::OffsetDateTime::from_unix_timestamp(s).map_err(|_| ())
    }) else {
        return format!("{secs} (Unix seconds)");
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59:59");
    }

    #[test]
    fn form_tokens_depend_on_the_session() {
        let a = form_token("a".repeat(64).as_str());
        assert_eq!(a.len(), 64);
        assert_eq!(a, form_token("a".repeat(64).as_str()));
        assert_ne!(a, form_token("b".repeat(64).as_str()));
    }

    #[test]
    fn the_cookie_has_every_attribute() {
        let c = session_cookie("t", 60);
        for part in [
            "__Host-sealcall-admin=t",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Domain"));
    }
}
