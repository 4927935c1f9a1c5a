//! Chromium through chromedriver, and controls found by accessible name and role.
//!
//! Every lookup asks the browser for the W3C computed label and role of the candidates
//! (`GET /session/{id}/element/{id}/computedlabel` and `…/computedrole`), so a control that has
//! no accessible name, or the wrong role, is not found: the tests double as an accessibility
//! check.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::Value;
use thirtyfour::common::command::{Command as WdCommand, ExtensionCommand};
use thirtyfour::prelude::*;
use thirtyfour::{ChromiumLikeCapabilities, DesiredCapabilities};

/// Debian's Chromium.
pub const BROWSER: &str = "/usr/bin/chromium";
/// Debian's chromium-driver.
pub const DRIVER: &str = "/usr/bin/chromedriver";

/// The flags every browser starts with: headless, no sandbox (tests run as root), and nothing
/// that reaches for the network (which is closed here).
pub const FLAGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--lang=en-US",
];

/// A running chromedriver, stopped on drop.
pub struct Chromedriver {
    child: Child,
    url: String,
    /// Every session opened, so the harness can end them after each test, also after a
    /// panic (a session dropped without `quit` would block the runtime to end itself).
    sessions: std::sync::Mutex<Vec<WebDriver>>,
}

impl Chromedriver {
    /// Starts chromedriver on a free loopback port and waits until it accepts connections;
    /// `Ok(None)` when Chromium or chromedriver is not installed.
    pub fn start() -> Result<Option<Self>, String> {
        // The WebDriver client is reqwest, which (built without a provider of its own in this
        // workspace) needs one installed even for plain HTTP.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if !Path::new(BROWSER).exists() || !Path::new(DRIVER).exists() {
            return Ok(None);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {DRIVER}: {e}"))?;
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            sessions: std::sync::Mutex::new(Vec::new()),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let _ = driver.child.kill();
                return Err(format!(
                    "{DRIVER} did not listen on port {port} within 10 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        driver.url = format!("http://127.0.0.1:{port}");
        Ok(Some(driver))
    }

    /// A fresh browser (its own new profile folder) for a server at `base`.
    pub async fn browser(&self, base: &str) -> WebDriverResult<Browser> {
        let profile = tempfile::tempdir()?;
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(BROWSER)?;
        for flag in FLAGS {
            caps.add_arg(flag)?;
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))?;
        let driver = WebDriver::new(&self.url, caps).await?;
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(driver.clone());
        Ok(Browser {
            driver,
            base: base.trim_end_matches('/').to_owned(),
            _profile: profile,
        })
    }
}

impl Chromedriver {
    /// Ends every session still open (after a test, whatever its outcome).
    pub async fn quit_all(&self) {
        let sessions =
            std::mem::take(&mut *self.sessions.lock().unwrap_or_else(|e| e.into_inner()));
        for session in sessions {
            let _ = session.quit().await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ARIA role a control is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `button`.
    Button,
    /// `link`.
    Link,
    /// `textbox` (text and password inputs, text areas).
    Textbox,
    /// `searchbox`.
    Searchbox,
    /// `radio`.
    Radio,
    /// `checkbox`.
    Checkbox,
    /// `combobox` (a `select`).
    Combobox,
    /// `spinbutton` (a number input).
    Spinbutton,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Button => "button",
            Role::Link => "link",
            Role::Textbox => "textbox",
            Role::Searchbox => "searchbox",
            Role::Radio => "radio",
            Role::Checkbox => "checkbox",
            Role::Combobox => "combobox",
            Role::Spinbutton => "spinbutton",
        }
    }

    /// Elements that may have the role (narrowed so a lookup asks about few elements).
    fn candidates(self) -> &'static str {
        match self {
            Role::Button => "button, input[type=submit], input[type=button]",
            Role::Link => "a[href]",
            Role::Textbox => "input[type=text], input[type=password], input:not([type]), textarea",
            Role::Searchbox => "input[type=search]",
            Role::Radio => "input[type=radio]",
            Role::Checkbox => "input[type=checkbox]",
            Role::Combobox => "select",
            Role::Spinbutton => "input[type=number]",
        }
    }
}

/// `GET /session/{id}/element/{id}/computedlabel|computedrole`.
#[derive(Debug)]
struct Computed {
    element: String,
    what: &'static str,
}

impl ExtensionCommand for Computed {
    fn parameters_json(&self) -> Option<Value> {
        None
    }
    fn method(&self) -> Method {
        Method::GET
    }
    fn endpoint(&self) -> Arc<str> {
        format!("/element/{}/{}", self.element, self.what).into()
    }
}

/// One browser window on a server.
pub struct Browser {
    /// The WebDriver session.
    pub driver: WebDriver,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Opens `path` on the server.
    pub async fn open(&self, path: &str) -> WebDriverResult<()> {
        self.driver.goto(format!("{}{path}", self.base)).await
    }

    /// Opens an absolute URL.
    pub async fn open_url(&self, url: &str) -> WebDriverResult<()> {
        self.driver.goto(url).await
    }

    /// The path of the current page (without the server's origin).
    pub async fn path(&self) -> WebDriverResult<String> {
        let url = self.driver.current_url().await?;
        let full = url.as_str();
        Ok(full.strip_prefix(&self.base).unwrap_or(full).to_owned())
    }

    async fn computed(&self, element: &WebElement, what: &'static str) -> WebDriverResult<String> {
        let command = Computed {
            element: element.element_id().to_string(),
            what,
        };
        self.driver
            .cmd(WdCommand::ExtensionCommand(Box::new(command)))
            .await?
            .value::<String>()
    }

    /// The accessible name the browser computes for `element`.
    pub async fn label_of(&self, element: &WebElement) -> WebDriverResult<String> {
        self.computed(element, "computedlabel").await
    }

    /// The one control with this role and accessible name.
    pub async fn control(&self, role: Role, name: &str) -> WebDriverResult<WebElement> {
        let mut seen = Vec::new();
        let mut found = Vec::new();
        for element in self.driver.find_all(By::Css(role.candidates())).await? {
            let label = self.label_of(&element).await?;
            if label == name {
                let actual = self.computed(&element, "computedrole").await?;
                if actual == role.name() {
                    found.push(element);
                    continue;
                }
                seen.push(format!("{label:?} (role {actual})"));
            } else {
                seen.push(format!("{label:?}"));
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            n => Err(WebDriverError::ParseError(format!(
                "{n} {} controls named {name:?} on {}; {} has: {}",
                role.name(),
                self.path().await.unwrap_or_default(),
                role.name(),
                seen.join(", ")
            ))),
        }
    }

    /// Clicks the control with this role and accessible name. Buttons and links (every one
    /// of this site's submits a form or follows a link) also wait until the next page has
    /// replaced this one.
    pub async fn click(&self, role: Role, name: &str) -> WebDriverResult<()> {
        let control = self.control(role, name).await?;
        if !matches!(role, Role::Button | Role::Link) {
            return control.click().await;
        }
        let mut page = self.driver.find(By::Tag("html")).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Err(e) = control.click().await {
            if !is_stale(&e) {
                return Err(e);
            }
            // The document was still being replaced when the control was found (a click on a
            // stale node does nothing): find it once more in the loaded page and click that.
            self.loaded(deadline).await?;
            let control = self.control(role, name).await?;
            page = self.driver.find(By::Tag("html")).await?;
            control.click().await?;
        }
        loop {
            match page.tag_name().await {
                Err(e) if is_stale(&e) => {
                    return self.loaded(deadline).await;
                }
                Err(e) => return Err(e),
                Ok(_) if Instant::now() > deadline => {
                    return Err(WebDriverError::ParseError(format!(
                        "clicking {name:?} did not lead to another page within 10 s"
                    )));
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// Waits until the current document has loaded.
    async fn loaded(&self, deadline: Instant) -> WebDriverResult<()> {
        loop {
            let state = self
                .driver
                .execute("return document.readyState;", Vec::new())
                .await?;
            if state.json().as_str() == Some("complete") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(WebDriverError::ParseError(
                    "the page did not finish loading within 10 s".to_owned(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Replaces the text of the text box with this accessible name.
    pub async fn fill(&self, name: &str, text: &str) -> WebDriverResult<()> {
        let field = match self.control(Role::Textbox, name).await {
            Ok(field) => field,
            Err(_) => match self.control(Role::Searchbox, name).await {
                Ok(field) => field,
                Err(_) => self.control(Role::Spinbutton, name).await?,
            },
        };
        field.clear().await?;
        field.send_keys(text).await
    }

    /// Picks the option with visible text `option` in the select named `name`.
    pub async fn select(&self, name: &str, option: &str) -> WebDriverResult<()> {
        let select = self.control(Role::Combobox, name).await?;
        for candidate in select.find_all(By::Tag("option")).await? {
            if candidate.text().await?.trim() == option {
                return candidate.click().await;
            }
        }
        Err(WebDriverError::ParseError(format!(
            "no option {option:?} in {name:?}"
        )))
    }

    /// The text of the element matching `css`, if there is one.
    async fn text_of(&self, css: &str) -> WebDriverResult<Option<String>> {
        match self.driver.find_all(By::Css(css)).await?.first() {
            Some(e) => Ok(Some(e.text().await?)),
            None => Ok(None),
        }
    }

    /// The announced error (`role="alert"`), if any.
    pub async fn alert(&self) -> WebDriverResult<Option<String>> {
        self.text_of("[role=alert]").await
    }

    /// The notice after a change (`role="status"`), if any.
    pub async fn notice(&self) -> WebDriverResult<Option<String>> {
        self.text_of("[role=status]").await
    }

    /// The page's main heading.
    pub async fn heading(&self) -> WebDriverResult<String> {
        Ok(self.text_of("h1").await?.unwrap_or_default())
    }

    /// The visible text of the page's main region.
    pub async fn main_text(&self) -> WebDriverResult<String> {
        Ok(self.text_of("main").await?.unwrap_or_default())
    }

    /// The cells of each row of the table with this caption (header cells included).
    pub async fn table(&self, caption: &str) -> WebDriverResult<Vec<Vec<String>>> {
        for table in self.driver.find_all(By::Tag("table")).await? {
            let Some(cap) = table.find_all(By::Tag("caption")).await?.into_iter().next() else {
                continue;
            };
            if cap.text().await?.trim() != caption {
                continue;
            }
            let mut rows = Vec::new();
            for row in table.find_all(By::Css("tbody tr")).await? {
                let mut cells = Vec::new();
                for cell in row.find_all(By::Css("th, td")).await? {
                    cells.push(cell.text().await?.trim().to_owned());
                }
                rows.push(cells);
            }
            return Ok(rows);
        }
        Err(WebDriverError::ParseError(format!(
            "no table captioned {caption:?}"
        )))
    }

    /// The value of the first hidden form token on the page.
    pub async fn form_token(&self) -> WebDriverResult<String> {
        let input = self.driver.find(By::Css("input[name=form_token]")).await?;
        Ok(input.attr("value").await?.unwrap_or_default())
    }

    /// Signs in on the admin center's sign-in page.
    pub async fn sign_in(&self, user: &str, password: &str) -> WebDriverResult<()> {
        self.open("/admin/sign-in").await?;
        self.fill("User name", user).await?;
        self.fill("Password", password).await?;
        self.click(Role::Button, "Sign in").await
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> WebDriverResult<Vec<u8>> {
        self.driver.screenshot_as_png().await
    }

    /// Ends the session (closes the browser).
    pub async fn quit(self) -> WebDriverResult<()> {
        self.driver.clone().quit().await
    }
}

/// Whether a WebDriver error says the element belongs to a document that is gone: Chromium
/// reports it as a stale element reference, or, when the old document is torn down while it
/// answers, as an "unknown error" naming a node that "does not belong to the document".
fn is_stale(e: &WebDriverError) -> bool {
    match e.as_inner() {
        thirtyfour::error::WebDriverErrorInner::StaleElementReference(_) => true,
        thirtyfour::error::WebDriverErrorInner::UnknownError(info) => info
            .value
            .message
            .contains("does not belong to the document"),
        _ => false,
    }
}
