//! Running the real `touchless` binary as a child process, as a user would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    pub admin_url: String,
    pub prov_url: String,
    /// `http://…` of the redirection service.
    pub redirect_url: String,
    pub dir: tempfile::TempDir,
    pub stdout: std::sync::mpsc::Receiver<String>,
    /// What `serve` printed up to "Stop with Ctrl-C."
    pub banner: Vec<String>,
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_touchless"))
}

pub fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir, None)
}

/// Starts `touchless serve` in `dir`, with `config` if given.
pub fn start_in(dir: tempfile::TempDir, config: Option<&Path>) -> Server {
    start_with(dir, config, &[], None)
}

/// [`start_in`], with extra environment and, if given, stderr (the tracing
/// log) written to a file.
pub fn start_with(
    dir: tempfile::TempDir,
    config: Option<&Path>,
    env: &[(&str, &str)],
    stderr: Option<&Path>,
) -> Server {
    let mut cmd = bin();
    cmd.current_dir(dir.path()).env_remove("TOUCHLESS_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match stderr {
        Some(p) => cmd.stderr(std::fs::File::create(p).unwrap()),
        None => cmd.stderr(Stdio::null()),
    };
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--redirect-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut admin_url, mut prov_url, mut redirect_url) =
        (String::new(), String::new(), String::new());
    let mut banner = Vec::new();
    loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("serve printed its banner");
        banner.push(line.clone());
        if let Some(rest) = line.trim().strip_prefix("admin API") {
            admin_url = rest.trim().to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("provisioning server") {
            prov_url = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("redirection service") {
            redirect_url = format!("http://{}", rest.split_whitespace().next().unwrap());
        }
        if line.starts_with("Stop with") {
            break;
        }
    }
    Server {
        child,
        admin_url,
        prov_url,
        redirect_url,
        dir,
        stdout: rx,
        banner,
    }
}

/// A test that fails half-way must not leave a server running.
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    /// Kills the process without warning (SIGKILL) and hands back its directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Tenant `acme` (Acme, SIP host pbx.example.com, the pair
    /// `prov`/`s3cr3t-prov`) through the CLI.
    #[allow(dead_code)]
    pub fn add_acme(&self) {
        let (ok, out, err) = self.cli(&[
            "tenant",
            "add",
            "acme",
            "--name",
            "Acme",
            "--sip-host",
            "pbx.example.com",
            "--prov-user",
            "prov",
            "--prov-pass",
            "s3cr3t-prov",
        ]);
        assert!(ok, "{out}{err}");
    }

    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = bin()
            .current_dir(self.dir.path())
            .env_remove("TOUCHLESS_CONFIG")
            .arg("--admin-url")
            .arg(&self.admin_url)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// SIGTERM, the graceful path as a service manager stops it, and a
    /// clean exit.
    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
    }

    /// Stops it gracefully and hands back its directory.
    pub fn stop_keep(mut self) -> tempfile::TempDir {
        self.terminate();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Stops it gracefully; what it printed after its banner.
    pub fn stop(mut self) -> Vec<String> {
        self.terminate();
        self.stdout.try_iter().collect()
    }
}
