//! The `mesh-catalog` binary: subcommands, configuration errors, shutdown.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mesh-catalog");

fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("MESH_JWT_SECRET")
        .env_remove("DATABASE_URL")
        .env_remove("MESH_DEMO")
        .env_remove("MESH_OTLP_ENDPOINT")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    // A command that should have ended but serves on is killed after a
    // minute, and reported with what it printed (not a test that hangs).
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let output = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
        unsafe { libc::kill(pid, libc::SIGKILL) };
        rx.recv().expect("the binary's output")
    });
    output.expect("binary runs")
}

#[test]
fn schema_command_prints_the_sdl() {
    let out = run(&["schema"], &[]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), mesh_catalog::graphql::sdl());
}

#[tokio::test]
async fn token_command_mints_a_verifiable_token() {
    let out = run(
        &[
            "token",
            "--sub",
            "alice",
            "--team",
            "orders-team",
            "--role",
            "admin",
            "--ttl",
            "1h",
        ],
        &[],
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    let auth = mesh_catalog::config::AuthConfig::with_secret(mesh_catalog::config::DEMO_JWT_SECRET);
    let identity = mesh_catalog::auth::TokenService::new(&auth)
        .verify(token.trim())
        .await
        .unwrap();
    assert_eq!(identity.subject, "alice");
    assert_eq!(identity.teams, ["orders-team"]);
    assert_eq!(identity.roles, ["admin"]);
}

#[test]
fn token_command_refuses_tokens_the_server_would_reject() {
    fails_with(&["token", "--sub", ""], &[], "the subject (--sub) must not be empty");
    fails_with(&["token", "--sub", "  "], &[], "the subject (--sub) must not be empty");
    fails_with(
        &["token", "--sub", "alice", "--ttl", "0"],
        &[],
        "the lifetime (--ttl) must be at least 1s",
    );
}

pub(crate) fn fails_with(args: &[&str], envs: &[(&str, &str)], message: &str) {
    let out = run(args, envs);
    assert!(!out.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(message),
        "{args:?}: expected `{message}` in stderr:\n{stderr}"
    );
}

#[test]
fn bad_configuration_exits_with_a_clear_message() {
    let dir = crate::helpers::temp_dir();
    let dir = dir.to_str().unwrap();
    fails_with(
        &["serve", "--data-dir", dir, "--listen", "127.0.0.1:0"],
        &[],
        "MESH_JWT_SECRET",
    );
    let secret = ("MESH_JWT_SECRET", "a-long-enough-test-secret");
    fails_with(
        &["serve", "--database-url", "mysql://x/y", "--listen", "127.0.0.1:0"],
        &[secret],
        "not supported",
    );
    fails_with(
        &[
            "serve",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none",
            "--listen",
            "127.0.0.1:0",
        ],
        &[secret],
        "cannot open the database",
    );
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    fails_with(
        &["serve", "--data-dir", dir, "--listen", &addr],
        &[secret],
        "cannot listen",
    );
    // The embedded broker's port held by another process (a Kafka broker
    // already there): refused, not served by whoever holds it.
    let port = taken.local_addr().unwrap().port().to_string();
    fails_with(
        &[
            "serve",
            "--data-dir",
            dir,
            "--listen",
            "127.0.0.1:0",
            "--embedded-kafka-port",
            &port,
        ],
        &[secret],
        &format!("embedded broker: cannot listen on 127.0.0.1:{port}"),
    );
    fails_with(&["serve", "--listen", "nowhere"], &[secret], "invalid");
}

#[test]
fn serve_answers_and_stops_on_sigterm() {
    let port = crate::helpers::port_for_a_child();
    let dir = crate::helpers::temp_dir();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .env("MESH_JWT_SECRET", "a-long-enough-test-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let healthy = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break true;
        }
        if start.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(healthy, "server did not start");
    assert!(
        dir.join("catalog.db").exists(),
        "SQLite database created in the data dir"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status}");
}

/// A `serve` process on a free port and a fresh data directory, its
/// stderr in `<dir>/stderr.log`, started (its port answers).
pub(crate) struct Served {
    child: std::process::Child,
    pub(crate) port: u16,
    log: std::path::PathBuf,
}

impl Served {
    pub(crate) fn start(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let port = crate::helpers::port_for_a_child();
        let dir = crate::helpers::temp_dir();
        let log = dir.join("stderr.log");
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", &listen, "--embedded-kafka-port", "0"])
            .args(["--data-dir", dir.to_str().unwrap()])
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("MESH_JWT_SECRET")
            .env_remove("DATABASE_URL")
            .env_remove("MESH_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(120), "the server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port, log }
    }

    /// SIGTERM, a clean exit, and the whole log.
    pub(crate) fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "graceful exit, got {status}");
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// The demo at the default log level: the server's own INFO lines, nothing
/// from the embedded broker or librdkafka (which logged every request, and
/// ERRORs when the broker stopped before the Kafka clients); SIGTERM stops
/// it in order and cleanly.
#[test]
fn demo_logs_stay_readable_and_shutdown_is_orderly() {
    let served = Served::start(&["--demo"], &[]);
    // Demo traffic runs (about 25 records/s through the broker).
    let since = Instant::now();
    std::thread::sleep(Duration::from_secs(8));
    let during = std::fs::read_to_string(&served.log).unwrap();
    let all = served.stop();
    let per_second = during.len() as f64 / since.elapsed().as_secs_f64();
    assert!(
        all.len() < 64 * 1024,
        "{} bytes of log ({per_second:.0} B/s while serving):\n{}",
        all.len(),
        &all[..all.len().min(4000)]
    );
    for line in all.lines() {
        // `<time> <LEVEL> <target>: <message>`: dependencies only from WARN
        // (e.g. tantivy's), nothing at ERROR.
        let mut words = line.split_whitespace().skip(1);
        let (level, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
        assert!(
            target.starts_with("mesh_catalog") || level == "WARN",
            "a dependency's line below WARN at the default level: {line}"
        );
        assert_ne!(level, "ERROR", "an error line: {line}");
    }
    assert!(all.contains("stopped"), "the last line says it stopped:\n{all}");
}

/// Every flag and environment variable of `serve` is in the README's
/// settings table, so the table cannot drift from the CLI definition.
#[test]
fn every_serve_setting_is_in_the_readme_table() {
    use clap::CommandFactory;
    let readme = include_str!("../../README.md");
    let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `--")).collect();
    let cli = mesh_catalog::config::Cli::command();
    let serve = cli.find_subcommand("serve").expect("a serve command");
    let mut missing = Vec::new();
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" {
            continue;
        }
        let flag = format!("`--{long}");
        let row = table.iter().find(|row| row.contains(&flag));
        match (row, arg.get_env()) {
            (None, _) => missing.push(format!("--{long}")),
            (Some(row), Some(env)) if !row.contains(env.to_str().unwrap()) => {
                missing.push(format!("{} (in the row of --{long})", env.to_str().unwrap()))
            }
            _ => {}
        }
    }
    assert!(
        missing.is_empty(),
        "missing from the README's settings table: {missing:?}"
    );
}

/// `--log-format json`: one JSON object per line; a request's lines carry
/// its id (the client's `x-request-id`).
#[test]
fn json_logs_carry_the_request_id() {
    let served = Served::start(
        &["--log-format", "json"],
        &[
            ("MESH_JWT_SECRET", "a-long-enough-test-secret"),
            ("RUST_LOG", "warn,mesh_catalog=debug"),
        ],
    );
    {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", served.port)).unwrap();
        write!(
            stream,
            "GET /healthz HTTP/1.1\r\nhost: x\r\nx-request-id: trace-json-7\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.contains("x-request-id: trace-json-7"), "{answer}");
    }
    std::thread::sleep(Duration::from_millis(300));
    let text = served.stop();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(|l| l["level"].is_string() && l["fields"].is_object()));
    let answered = lines
        .iter()
        .find(|l| l["fields"]["message"] == "answered")
        .unwrap_or_else(|| panic!("no line for the request:\n{text}"));
    assert_eq!(answered["span"]["id"], "trace-json-7", "{answered}");
    assert_eq!(answered["span"]["path"], "/healthz", "{answered}");
}
