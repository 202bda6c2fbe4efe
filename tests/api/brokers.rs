//! Kafka for the tests: a real Apache Kafka 4.x single-node KRaft broker
//! (jars fetched by `scripts/kafka.sh`, `MESH_KAFKA_LIBS`), shared by every
//! test of the process, or one of a test's own (to stop and restart it);
//! and the embedded tansu broker, started by the server itself.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mesh_catalog::config::KafkaConfig;

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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn libs() -> PathBuf {
    let dir = std::env::var("MESH_KAFKA_LIBS").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/mesh-catalog/kafka-libs")
    });
    assert!(dir.join(".complete").exists(), "Apache Kafka jars missing in {}: run scripts/kafka.sh (scripts/test does)", dir.display());
    dir
}

/// One Apache Kafka broker+controller node in a temporary directory.
pub struct ApacheKafka {
    pub bootstrap: String,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl ApacheKafka {
    /// Formats a fresh log directory and starts the node (blocking until its
    /// port answers).
    pub fn start() -> Self {
        let dir = crate::helpers::temp_dir();
        let (port, controller) = (free_port(), free_port());
        let properties = format!(
            "process.roles=broker,controller\nnode.id=1\n\
             controller.quorum.bootstrap.servers=127.0.0.1:{controller}\n\
             listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
             advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
             controller.listener.names=CONTROLLER\n\
             listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
             log.dirs={}\n\
             offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n\
             transaction.state.log.min.isr=1\nshare.coordinator.state.topic.replication.factor=1\n\
             share.coordinator.state.topic.min.isr=1\ngroup.initial.rebalance.delay.ms=0\n\
             auto.create.topics.enable=false\nnum.partitions=1\n",
            dir.join("logs").display()
        );
        std::fs::write(dir.join("server.properties"), properties).unwrap();
        let cluster_id = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
        };
        let status = Command::new("java")
            .arg("-cp")
            .arg(format!("{}/*", libs().display()))
            .args(["kafka.tools.StorageTool", "format", "--standalone", "--cluster-id", &cluster_id, "--config"])
            .arg(dir.join("server.properties"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("java runs");
        assert!(status.success(), "kafka storage format failed");
        let mut kafka = Self { bootstrap: format!("127.0.0.1:{port}"), port, dir, child: None };
        kafka.restart();
        kafka
    }

    /// Starts (again) the node on its log directory and ports.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.join("broker.log")).unwrap();
        let mut command = Command::new("java");
        command
            .args(["-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp"])
            .arg(format!("{}/*", libs().display()))
            .arg("kafka.Kafka")
            .arg(self.dir.join("server.properties"))
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
        self.child = Some(command.spawn().expect("java starts"));
        let deadline = Instant::now() + Duration::from_secs(90);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "Apache Kafka did not start; see {}", self.dir.join("broker.log").display());
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
