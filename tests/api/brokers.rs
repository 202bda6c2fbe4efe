//! Kafka for the tests: a real Apache Kafka 4.x single-node KRaft broker
//! (jars fetched by `scripts/kafka.sh`, `MESH_KAFKA_LIBS`), shared by every
//! test of the process, or one of a test's own (to stop and restart it);
//! and the embedded tansu broker, started by the server itself.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mesh_catalog::config::KafkaConfig;

use crate::helpers::port_for_a_child;

/// Which broker a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    /// The process-wide Apache Kafka broker.
    Apache,
    /// The embedded tansu broker of the server under test.
    Tansu,
}

impl Broker {
    pub fn config(self) -> KafkaConfig {
        match self {
            Broker::Apache => KafkaConfig::external(shared_apache()),
            Broker::Tansu => KafkaConfig::embedded(),
        }
    }
}

/// One Apache Kafka broker+controller node in a temporary directory.
pub struct ApacheKafka {
    pub bootstrap: String,
    port: u16,
    controller: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl ApacheKafka {
    /// Starts a node on a fresh log directory (blocking until its port
    /// answers).
    pub fn start() -> Self {
        let (port, controller) = (port_for_a_child(), port_for_a_child());
        let mut kafka = Self {
            bootstrap: format!("127.0.0.1:{port}"),
            port,
            controller,
            dir: crate::helpers::temp_dir(),
            child: None,
        };
        kafka.restart();
        kafka
    }

    /// Starts (again) the node on its log directory and ports, through
    /// `scripts/kafka-broker` (the one place the node's settings live).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.join("broker.log")).unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka-broker");
        let mut command = Command::new(script);
        command
            .arg(&self.dir)
            .arg(self.port.to_string())
            .arg(self.controller.to_string())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        // The broker dies with the thread that started it, even on a panic
        // or a killed test process.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        self.child = Some(command.spawn().expect("scripts/kafka-broker starts"));
        let deadline = Instant::now() + Duration::from_secs(90);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "Apache Kafka did not start ({exited:?}); see {}",
                self.dir.join("broker.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the node (SIGKILL: an outage, not a clean shutdown).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The port is free again once the process is gone.
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ApacheKafka {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The process-wide broker, started on first use by a thread that lives
/// until the process exits (so the broker does too, and no longer).
pub fn shared_apache() -> String {
    static SHARED: OnceLock<String> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let kafka = ApacheKafka::start();
                tx.send(kafka.bootstrap.clone()).unwrap();
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("shared Apache Kafka started")
        })
        .clone()
}
