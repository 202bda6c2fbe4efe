//! The embedded Kafka-compatible broker (tansu, in-memory storage), started
//! in-process when no `KAFKA_BOOTSTRAP_SERVERS` is configured, so the demo
//! needs no other service.
//!
//! It is for the demo and for tests of our own code, not for data anyone
//! keeps: storage is memory only, it has no retention, and a fetch gets
//! slower as a partition grows (see the README). Production points at a
//! real Kafka cluster.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use tansu_broker::broker::Broker;
use tansu_broker::coordinator::group::administrator::Controller;
use tansu_storage::StorageContainer;
use tokio::task::JoinHandle;
use url::Url;

use super::StreamError;

/// A running embedded broker; dropping it stops its listener.
pub struct EmbeddedBroker {
    pub bootstrap: String,
    task: JoinHandle<()>,
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the broker on 127.0.0.1:`port` (0: a free port) and waits until it
/// accepts connections.
pub async fn start(port: u16) -> Result<EmbeddedBroker, StreamError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| StreamError::Broker(format!("embedded broker: {what}: {e}"));
    // The broker advertises the port it is given, so a free one is picked
    // here rather than letting it bind port 0.
    let port = if port == 0 {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| fail("no free port", &e))?;
        probe.local_addr().map_err(|e| fail("no free port", &e))?.port()
    } else {
        port
    };
    let address = format!("tcp://127.0.0.1:{port}");
    let url = |s: &str| Url::parse(s).map_err(|e| fail("bad URL", &e));
    let mut broker = Broker::<Controller<StorageContainer>, StorageContainer>::builder()
        .node_id(111)
        .cluster_id("mesh-catalog-embedded")
        .incarnation_id(uuid::Uuid::now_v7())
        .advertised_listener(url(&address)?)
        .storage(url("memory://tansu/")?)
        .listener(url(&address)?)
        .silent(true)
        .build()
        .await
        .map_err(|e| fail("cannot build", &e))?;
    let task = tokio::spawn(async move {
        if let Err(e) = broker.serve(tokio::time::Instant::now()).await {
            tracing::error!(error = %e, "embedded Kafka broker stopped");
        }
    });
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if task.is_finished() || Instant::now() > deadline {
            task.abort();
            return Err(StreamError::Broker(format!(
                "embedded broker did not listen on {addr} (port in use?)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::info!(%addr, "embedded Kafka-compatible broker (tansu, in memory) started");
    Ok(EmbeddedBroker {
        bootstrap: format!("127.0.0.1:{port}"),
        task,
    })
}
