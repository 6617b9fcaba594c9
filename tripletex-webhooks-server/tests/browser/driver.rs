//! Headless Chromium under chromedriver (Debian's `chromium` and
//! `chromium-driver`), one browser with a fresh profile per test, driven
//! through WebDriver by fantoccini; waits poll the page with a bound.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Where Debian puts the browser and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a page may take to show what a test waits for.
pub const WITHIN: Duration = Duration::from_secs(20);

/// The width the screenshots and the wide layout are taken at.
pub const WIDE: (u32, u32) = (1280, 1000);

/// One browser, closed (and its driver killed) when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser, or `None` after printing why there is none (a failure
    /// instead under `REQUIRE_SERVICES=1`).
    pub async fn start() -> Option<Self> {
        for program in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(program).exists() {
                test_support::services::skip(&format!(
                    "{program} is missing (apt-get install chromium chromium-driver)"
                ));
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
        tokio::time::timeout(WITHIN, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("started successfully") {
                    return;
                }
            }
            panic!("chromedriver ended before it was ready");
        })
        .await
        .expect("chromedriver is ready within the bound");
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={},{}", WIDE.0, WIDE.1),
                ],
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a browser session");
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The first element `css` selects, once there is one.
    pub async fn element(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WITHIN)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} within {WITHIN:?}: {e}"))
    }

    /// Waits until the text of the first element `css` selects contains
    /// `needle`; returns that text.
    pub async fn text_of(&self, css: &str, needle: &str) -> String {
        let client = &self.client;
        test_support::eventually_within(
            WITHIN,
            &format!("{css} to show {needle:?}"),
            || async move {
                let element = client.find(Locator::Css(css)).await.ok()?;
                let text = element.text().await.ok()?;
                text.contains(needle).then_some(text)
            },
        )
        .await
    }

    /// Types `text` into the field `css`, replacing what it had. Found again
    /// if the page replaced it meanwhile (live regions are swapped whole).
    pub async fn fill(&self, css: &str, text: &str) {
        let client = &self.client;
        test_support::eventually_within(WITHIN, &format!("typing into {css}"), || async move {
            let field = client.find(Locator::Css(css)).await.ok()?;
            field.clear().await.ok()?;
            field.send_keys(text).await.ok()
        })
        .await;
    }

    /// Clicks the element `css` (found again if the page replaced it).
    pub async fn click(&self, css: &str) {
        let client = &self.client;
        test_support::eventually_within(WITHIN, &format!("clicking {css}"), || async move {
            client
                .find(Locator::Css(css))
                .await
                .ok()?
                .click()
                .await
                .ok()
        })
        .await;
    }

    /// Waits for the page titled `title` (after a click that navigates).
    pub async fn page_titled(&self, title: &str) {
        let client = &self.client;
        let full = format!("{title} · Tripletex emulator");
        test_support::eventually_within(WITHIN, &format!("the page {full:?}"), || {
            let full = full.clone();
            async move { (client.title().await.ok()? == full).then_some(()) }
        })
        .await;
    }

    /// Runs `script` in the page and returns its value.
    pub async fn run(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// A PNG of the window, written to `docs/screenshots/{name}.png` when
    /// `UPDATE_SCREENSHOTS=1` (so that ordinary runs leave the tree alone).
    pub async fn screenshot(&self, name: &str) {
        if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let png = self.client.screenshot().await.unwrap();
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }

    /// Ends the browser session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}
