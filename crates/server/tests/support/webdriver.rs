//! A small W3C WebDriver client over reqwest, enough to drive Debian's
//! `chromium` through `chromedriver` from the tests: navigate, find, type,
//! click, read, run a script, take a screenshot. (The WebDriver crates pull
//! in far more than these few JSON calls need.)

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The key W3C WebDriver names element references by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session; its chromedriver stops when it is dropped.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
    /// Chromium's profile, fresh for every session and removed after it.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session.
    pub async fn start() -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        // Chromium is many processes. Killed together, some outlive their
        // parent for a moment and would be handed to PID 1, which on this
        // kind of machine is the sandbox's own agent: reaping strangers
        // there has ended whole CI runs. As a subreaper this test process
        // inherits them instead, and `Drop` reaps every one.
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on
        // the calling process.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        // In a process group of its own, so that a test that fails (and
        // never quits the session) takes Chromium down with the driver.
        use std::os::unix::process::CommandExt as _;
        let driver = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (apt-get install chromium chromium-driver; .ci/run does)");
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");
        let t = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{root}/status")).send().await {
                let v: Value = r.json().await.unwrap_or_default();
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // The network here is closed: without the background-networking
        // switches Chromium keeps dialling Google's hosts.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-quic",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let r: Value = http
            .post(format!("{root}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        Browser {
            driver,
            http,
            base: format!("{root}/session/{id}"),
            _profile: profile,
        }
    }

    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        match v["value"]["error"].as_str() {
            Some(err) => Err(format!(
                "WebDriver {path}: {err}: {}",
                v["value"]["message"]
            )),
            None => Ok(v["value"].clone()),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector; panics if there is none.
    pub async fn find(&self, css: &str) -> Element<'_> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        Element {
            b: self,
            id: v[ELEMENT].as_str().unwrap().to_owned(),
        }
    }

    /// How many elements match a CSS selector.
    pub async fn count(&self, css: &str) -> usize {
        self.call(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .await
        .as_array()
        .map_or(0, Vec::len)
    }

    pub async fn script(&self, js: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.find("body").await.text().await
    }

    /// Writes a PNG of the window to `path`.
    /// Makes the window `height` pixels tall, so a screenshot shows a long
    /// page's lower part too.
    pub async fn tall(&self, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": 1280, "height": height})),
        )
        .await;
    }

    pub async fn screenshot(&self, path: &Path) {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// The page's visible text, or `None` while a page is loading.
    async fn text_now(&self) -> Option<String> {
        let body = self
            .try_call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": "body"})),
            )
            .await
            .ok()?;
        let id = body[ELEMENT].as_str()?;
        self.try_call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .ok()?
            .as_str()
            .map(str::to_owned)
    }

    /// Polls until the page shows `what`, up to 20 s (across a navigation).
    pub async fn wait_for_text(&self, what: &str) {
        let t = Instant::now();
        loop {
            let now = self.text_now().await;
            if now.as_deref().is_some_and(|s| s.contains(what)) {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the page never showed {what:?}; it shows:\n{}",
                now.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the session the polite way (Chromium closes its own
    /// processes), then stops the driver.
    /// Runs `script` (which returns a string) until it returns something
    /// other than `not`; what it returned then.
    pub async fn wait_for_script(&self, script: &str, not: &str) -> Value {
        let t = Instant::now();
        loop {
            let now = self.script(script).await;
            if now.as_str() != Some(not) {
                return now;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "{script} kept returning {not:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn quit(self) {
        let _ = self.http.delete(self.base.clone()).send().await;
        // Drop takes the driver and anything left behind.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium it started.
        let group = self.driver.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals that process group.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        reap_all(Duration::from_secs(10));
    }
}

/// Waits for every child of this process (the driver, and the Chromium
/// processes that were handed to this subreaper) so that none is left to
/// PID 1; kills any that is still running.
fn reap_all(limit: Duration) {
    let t = Instant::now();
    while t.elapsed() < limit {
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG on any child; status is a local.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            continue;
        }
        if pid < 0 {
            return; // ECHILD: no child left.
        }
        for child in children() {
            // SAFETY: signals a process that is our own child.
            unsafe { libc::kill(child, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// This process's children, from /proc (every thread's list).
fn children() -> Vec<libc::pid_t> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<libc::pid_t>().ok()),
            );
        }
    }
    out
}

pub struct Element<'a> {
    b: &'a Browser,
    id: String,
}

impl Element<'_> {
    pub async fn click(&self) {
        self.b
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/click", self.id),
                Some(json!({})),
            )
            .await;
    }

    pub async fn type_text(&self, text: &str) {
        self.b
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/value", self.id),
                Some(json!({ "text": text })),
            )
            .await;
    }

    pub async fn text(&self) -> String {
        self.b
            .call(
                reqwest::Method::GET,
                &format!("/element/{}/text", self.id),
                None,
            )
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}
