//! A small W3C WebDriver client: headless Chromium through chromedriver,
//! spoken over HTTP with `reqwest`.
//!
//! Chromium and chromedriver come from `FRONTDESK_CHROMIUM` and
//! `FRONTDESK_CHROMEDRIVER`, else `/usr/bin/chromium` and
//! `/usr/bin/chromedriver` (Debian's `chromium` and `chromium-driver`), else
//! the `PATH`. When they are missing and the tests run as root with
//! `apt-get`, they are installed once; otherwise the test fails and names
//! the packages. Each [`Browser`] has its own chromedriver on a free port
//! and its own profile directory; dropping it ends the session and kills
//! chromedriver and whatever it started.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

/// How long any wait for the page may take before the test fails.
pub const PAGE_WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A web element reference, valid in the window it was found in.
#[derive(Clone, Debug)]
pub struct Element(String);

pub struct Browser {
    http: reqwest::Client,
    port: u16,
    session: String,
    driver: Child,
    profile: TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let (chromium, chromedriver) = tools();
        let profile = tempfile::tempdir().expect("profile dir");
        let port = free_port();
        let log = profile.path().join("chromedriver.log");
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so Chromium goes down with it on drop.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut browser = Browser {
            http: reqwest::Client::new(),
            port,
            session: String::new(),
            driver,
            profile,
        };
        browser.wait_for_driver().await;
        let user_data = browser.profile.path().join("chromium");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--lang=en-US",
            "--window-size=1440,900",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", user_data.display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = browser
            .command(reqwest::Method::POST, "/session", Some(caps))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver cannot start Chromium: {e}{}",
                    browser.driver_log()
                )
            });
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    async fn wait_for_driver(&self) {
        let started = Instant::now();
        loop {
            let status = self
                .http
                .get(format!("http://127.0.0.1:{}/status", self.port))
                .send()
                .await;
            if let Ok(r) = status {
                if let Ok(body) = r.json::<Value>().await {
                    if body["value"]["ready"] == true {
                        return;
                    }
                }
            }
            assert!(
                started.elapsed() < PAGE_WAIT,
                "chromedriver did not become ready{}",
                self.driver_log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    fn driver_log(&self) -> String {
        let log = std::fs::read_to_string(self.profile.path().join("chromedriver.log"))
            .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("\nchromedriver log (last lines):\n{}", tail.join("\n"))
    }

    /// One WebDriver command; `Err` carries the driver's error message.
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        let value = body["value"].clone();
        if ok {
            Ok(value)
        } else {
            Err(format!("{}: {}", value["error"], value["message"]))
        }
    }

    async fn session(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let body = (method != reqwest::Method::GET).then_some(body);
        self.command(method, &path, body)
            .await
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.session(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    pub async fn refresh(&self) {
        self.session(reqwest::Method::POST, "/refresh", json!({}))
            .await;
    }

    /// Run `script` (a function body; `arguments` holds `args`).
    pub async fn try_js(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        let path = format!("/session/{}/execute/sync", self.session);
        let body = json!({ "script": script, "args": args });
        self.command(reqwest::Method::POST, &path, Some(body)).await
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.try_js(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Poll `script` until it returns something truthy, and return that.
    /// Script errors count as "not yet" (the page may still be loading).
    pub async fn wait_for(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let started = Instant::now();
        let mut last;
        loop {
            match self.try_js(script, args.clone()).await {
                Ok(v) if truthy(&v) => return v,
                Ok(v) => last = v,
                Err(e) => last = Value::String(e),
            }
            if started.elapsed() > PAGE_WAIT {
                panic!(
                    "timed out after {PAGE_WAIT:?} waiting for {what}; last result: {last}{}",
                    self.console_log().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Wait until `script` returns an element, and return it.
    pub async fn element(&self, what: &str, script: &str, args: Vec<Value>) -> Element {
        let found = self.wait_for(what, script, args).await;
        let id = found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: not an element: {found}"));
        Element(id.to_owned())
    }

    pub async fn click(&self, element: &Element) {
        let path = format!("/element/{}/click", element.0);
        self.session(reqwest::Method::POST, &path, json!({})).await;
    }

    /// Click what `find` finds, finding it again when the page replaced
    /// it in between (lists that rebuild a row when what it shows
    /// changes).
    pub async fn click_fresh<F, Fut>(&self, find: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Element>,
    {
        for _ in 0..20 {
            let element = find().await;
            let path = format!("/session/{}/element/{}/click", self.session, element.0);
            match self
                .command(reqwest::Method::POST, &path, Some(json!({})))
                .await
            {
                Ok(_) => return,
                Err(e) if e.contains("stale element") => continue,
                Err(e) => panic!("webdriver {path}: {e}"),
            }
        }
        panic!("the element was replaced 20 times in a row");
    }

    /// Type into an element as a user would; `\u{E007}` is Enter.
    pub async fn type_text(&self, element: &Element, text: &str) {
        let path = format!("/element/{}/value", element.0);
        self.session(reqwest::Method::POST, &path, json!({ "text": text }))
            .await;
    }

    /// The element's rendered text.
    pub async fn text(&self, element: &Element) -> String {
        let path = format!("/element/{}/text", element.0);
        let text = self.session(reqwest::Method::GET, &path, json!({})).await;
        text.as_str().expect("text").to_owned()
    }

    pub async fn clear(&self, element: &Element) {
        let path = format!("/element/{}/clear", element.0);
        self.session(reqwest::Method::POST, &path, json!({})).await;
    }

    /// Open a new window and switch to it; returns its handle.
    pub async fn new_window(&self) -> String {
        let new = self
            .session(
                reqwest::Method::POST,
                "/window/new",
                json!({"type": "window"}),
            )
            .await;
        let handle = new["handle"].as_str().expect("handle").to_owned();
        self.switch_to(&handle).await;
        handle
    }

    pub async fn window(&self) -> String {
        let handle = self
            .session(reqwest::Method::GET, "/window", json!({}))
            .await;
        handle.as_str().expect("handle").to_owned()
    }

    pub async fn switch_to(&self, handle: &str) {
        self.session(
            reqwest::Method::POST,
            "/window",
            json!({ "handle": handle }),
        )
        .await;
    }

    /// Render the page as a phone would (CSS pixels), or back to the window.
    pub async fn emulate(&self, size: Option<(u32, u32)>) {
        let (cmd, params) = match size {
            Some((width, height)) => (
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": height, "deviceScaleFactor": 2, "mobile": true}),
            ),
            None => ("Emulation.clearDeviceMetricsOverride", json!({})),
        };
        self.session(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await;
    }

    /// With `FRONTDESK_SCREENSHOTS=<dir>`, save the viewport as
    /// `<dir>/<name>.png`; otherwise do nothing.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("FRONTDESK_SCREENSHOTS") else {
            return;
        };
        let png = self
            .session(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        let bytes = base64_decode(png.as_str().expect("base64 PNG"));
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), bytes).expect("write screenshot");
    }

    /// The browser console's messages since the last call, as
    /// `LEVEL message` lines.
    pub async fn console_messages(&self) -> Vec<String> {
        let path = format!("/session/{}/se/log", self.session);
        let body = json!({"type": "browser"});
        match self.command(reqwest::Method::POST, &path, Some(body)).await {
            Ok(Value::Array(entries)) => entries
                .iter()
                .map(|e| format!("{} {}", e["level"], e["message"]))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Fail if the page broke its Content-Security-Policy: inline code or
    /// a foreign source would be refused in production too.
    pub async fn assert_no_csp_violations(&self) {
        let refused: Vec<String> = self
            .console_messages()
            .await
            .into_iter()
            .filter(|m| m.contains("Content Security Policy"))
            .collect();
        assert!(refused.is_empty(), "CSP violations: {refused:#?}");
    }

    async fn console_log(&self) -> String {
        let lines = self.console_messages().await;
        if lines.is_empty() {
            String::new()
        } else {
            format!("\nbrowser console:\n{}", lines.join("\n"))
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver quit Chromium cleanly.
        if !self.session.is_empty() {
            let _ = delete_session(self.port, &self.session);
        }
        // Then chromedriver and anything left in its process group.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/{id}` without an async runtime, for `Drop`.
fn delete_session(port: u16, session: &str) -> std::io::Result<()> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    write!(
        stream,
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(())
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// Chromium and chromedriver, installed first if they are missing and
/// that is possible. One test at a time gets here.
fn tools() -> (PathBuf, PathBuf) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _one_at_a_time = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = find_tools() {
        return found;
    }
    let installed = install_tools();
    find_tools().unwrap_or_else(|| {
        panic!(
            "the browser tests need Chromium and chromedriver: install the Debian packages \
             `chromium` and `chromium-driver` (apt-get install chromium chromium-driver), or set \
             FRONTDESK_CHROMIUM and FRONTDESK_CHROMEDRIVER. Automatic install: {installed}"
        )
    })
}

fn find_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = find(
        "FRONTDESK_CHROMIUM",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        &["chromium", "chromium-browser"],
    )?;
    let driver = find(
        "FRONTDESK_CHROMEDRIVER",
        &["/usr/bin/chromedriver"],
        &["chromedriver"],
    )?;
    Some((chromium, driver))
}

fn find(env: &str, paths: &[&str], names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    paths
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            on_path
                .iter()
                .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
                .find(|p| p.is_file())
        })
}

/// `apt-get install` as root; says what happened for the failure message.
fn install_tools() -> String {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || !Path::new("/usr/bin/apt-get").exists() {
        return "not attempted (needs root and apt-get)".into();
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let packages = [
        "install",
        "-y",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
    ];
    if apt(&packages) || (apt(&["update"]) && apt(&packages)) {
        "apt-get install succeeded".into()
    } else {
        "apt-get install failed".into()
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64_decodes_padded_and_unpadded_text() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGVsbG8gd29ybGQ"), b"hello world");
    assert_eq!(base64_decode(""), b"");
}
