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
use url::Url;

use super::StreamError;

/// How long the broker outlives its handle: the Kafka clients dropped with
/// the server (in any order, as its runtime winds down) close their
/// connections to a broker that is still there, instead of logging a burst
/// of connection errors; a process that exits meanwhile simply ends.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A running embedded broker, on a thread and runtime of its own (so the
/// server's runtime winding down does not take it first); dropping the
/// handle stops it after [`STOP_GRACE`].
pub struct EmbeddedBroker {
    pub bootstrap: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = std::thread::Builder::new().name("broker-stop".into()).spawn(move || {
                std::thread::sleep(STOP_GRACE);
                let _ = stop.send(());
            });
        }
    }
}

/// Starts the broker on 127.0.0.1:`port` (0: a free port) and waits until it
/// accepts connections.
pub async fn start(port: u16) -> Result<EmbeddedBroker, StreamError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| StreamError::Broker(format!("embedded broker: {what}: {e}"));
    // The broker advertises the port it is given, so a free one is picked
    // here rather than letting it bind port 0; a port in use (another
    // broker there) is refused here, before any client could reach the
    // process on it.
    let taken = |e: std::io::Error| {
        let hint =
            "another Kafka broker? choose another --embedded-kafka-port, or set KAFKA_BOOTSTRAP_SERVERS to use it";
        fail(&format!("cannot listen on 127.0.0.1:{port}"), &format!("{e} ({hint})"))
    };
    let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(taken)?;
    let port = probe.local_addr().map_err(taken)?.port();
    drop(probe);
    let address = format!("tcp://127.0.0.1:{port}");
    let url = |s: &str| Url::parse(s).map_err(|e| fail("bad URL", &e));
    let (advertised, storage) = (url(&address)?, url("memory://tansu/")?);
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let (built, ready) = tokio::sync::oneshot::channel::<Result<(), String>>();
    let (ended, mut serve_failed) = tokio::sync::oneshot::channel::<String>();
    let thread = std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("embedded-broker-worker")
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = built.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let broker = Broker::<Controller<StorageContainer>, StorageContainer>::builder()
                    .node_id(111)
                    .cluster_id("mesh-catalog-embedded")
                    .incarnation_id(uuid::Uuid::now_v7())
                    .advertised_listener(advertised.clone())
                    .storage(storage)
                    .listener(advertised)
                    .silent(true)
                    .build()
                    .await;
                let mut broker = match broker {
                    Ok(broker) => broker,
                    Err(e) => {
                        let _ = built.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = built.send(Ok(()));
                let serving = tokio::spawn(async move {
                    if let Err(e) = broker.serve(tokio::time::Instant::now()).await {
                        tracing::error!(error = %e, "embedded Kafka broker stopped");
                        let _ = ended.send(e.to_string());
                    }
                });
                // Until the handle is dropped (and its grace is over).
                let _ = tokio::task::spawn_blocking(move || stopped.recv()).await;
                serving.abort();
            });
        })
        .map_err(|e| fail("cannot start its thread", &e))?;
    match ready.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(fail("cannot build", &e)),
        Err(_) => return Err(fail("cannot build", &"its thread ended")),
    }
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A broker that failed to serve (its port taken since the probe)
        // is not ready, whoever answers on the port.
        if let Ok(e) = serve_failed.try_recv() {
            let _ = stop.send(());
            return Err(fail(&format!("cannot serve on {addr}"), &e));
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        if thread.is_finished() || Instant::now() > deadline {
            let _ = stop.send(());
            return Err(StreamError::Broker(format!(
                "embedded broker did not listen on {addr} (port in use?)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::info!(%addr, "embedded Kafka-compatible broker (tansu, in memory) started");
    Ok(EmbeddedBroker {
        bootstrap: format!("127.0.0.1:{port}"),
        stop: Some(stop),
    })
}
