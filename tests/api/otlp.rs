//! Trace export over OTLP/HTTP: the real binary, a collector of our own on
//! 127.0.0.1 that records what it is sent.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::cli::Served;

const SECRET: (&str, &str) = ("MESH_JWT_SECRET", "a-long-enough-test-secret");

/// One request the collector received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// An OTLP/HTTP receiver on a free port: answers 200 to every POST and
/// keeps it; runs on a thread of its own until dropped.
struct Collector {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Collector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let kept = received.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().fallback(
                    move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let kept = kept.clone();
                        async move {
                            let content_type = headers
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            kept.lock().unwrap().push(Received {
                                path: uri.path().to_owned(),
                                content_type,
                                body: body.to_vec(),
                            });
                            // An empty ExportTraceServiceResponse.
                            ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
                        }
                    },
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            addr,
            received,
            stop: Some(stop),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `{ __typename }` over HTTP with this request id: the answer and its time.
fn graphql(port: u16, request_id: &str) -> (String, Duration) {
    let body = r#"{"query":"{ __typename }"}"#;
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\naccept: application/json\r\n\
         x-request-id: {request_id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    (answer, started.elapsed())
}

fn assert_answered(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""__typename":"Query""#), "{answer}");
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

/// Every span received, with its resource's `service.name`.
fn spans(received: &[Received]) -> Vec<(String, Span)> {
    let mut spans = Vec::new();
    for export in received {
        let request = ExportTraceServiceRequest::decode(export.body.as_slice())
            .unwrap_or_else(|e| panic!("not an OTLP trace export ({e}): {:?}", export.body));
        for resource_spans in request.resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| string_attribute(&r.attributes, "service.name"))
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                spans.extend(scope_spans.spans.into_iter().map(|span| (service.clone(), span)));
            }
        }
    }
    spans
}

fn error_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(" ERROR ")).collect()
}

/// With an endpoint, each request's span reaches the collector with its
/// id, method and path, as OTLP/HTTP protobuf on `/v1/traces`; the spans
/// still queued at SIGTERM are sent before the process exits (the batch
/// delay here is longer than the test: only the shutdown sends them).
#[test]
fn request_spans_are_exported_and_flushed_at_shutdown() {
    let collector = Collector::start();
    let endpoint = collector.endpoint();
    let served = Served::start(
        &["--otlp-service-name", "catalog-under-test"],
        &[
            SECRET,
            ("MESH_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    );
    let ids = ["otlp-span-1", "otlp-span-2", "otlp-span-3"];
    for id in ids {
        assert_answered(&graphql(served.port, id).0);
    }
    assert!(collector.received().is_empty(), "nothing sent before the batch is due");
    let log = served.stop();

    let received = collector.received();
    assert!(
        !received.is_empty(),
        "nothing exported at shutdown; the server's log:\n{log}"
    );
    for export in &received {
        assert_eq!(export.path, "/v1/traces");
        assert_eq!(export.content_type, "application/x-protobuf");
    }
    // The raw bytes already hold the id and the span's name…
    let body: Vec<u8> = received.iter().flat_map(|r| r.body.clone()).collect();
    let contains = |needle: &str| body.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains("otlp-span-2") && contains("request"));
    // …and decoded, every request is one `request` span.
    let spans = spans(&received);
    for id in ids {
        let (service, span) = spans
            .iter()
            .find(|(_, span)| string_attribute(&span.attributes, "id").as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no span for {id} in {spans:#?}"));
        assert_eq!(span.name, "request");
        assert_eq!(string_attribute(&span.attributes, "method").as_deref(), Some("POST"));
        assert_eq!(string_attribute(&span.attributes, "path").as_deref(), Some("/graphql"));
        assert_eq!(service, "catalog-under-test");
        assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
        assert_eq!(span.trace_id.len(), 16);
    }
    assert!(log.contains("exporting traces over OTLP"), "{log}");
    assert!(!log.contains("cannot export traces"), "{log}");
    assert!(error_lines(&log).is_empty(), "{log}");
}

/// Without `MESH_OTLP_ENDPOINT` nothing is exported, even with the
/// standard `OTEL_EXPORTER_OTLP_*ENDPOINT` variables pointing at a
/// collector: they configure the export, they do not turn it on.
#[test]
fn nothing_is_exported_without_the_setting() {
    let collector = Collector::start();
    let endpoint = collector.endpoint();
    let served = Served::start(
        &[],
        &[
            SECRET,
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &format!("{endpoint}/v1/traces")),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    for n in 0..3 {
        assert_answered(&graphql(served.port, &format!("not-exported-{n}")).0);
    }
    std::thread::sleep(Duration::from_millis(500));
    let log = served.stop();
    assert!(collector.received().is_empty(), "{:?}", collector.received());
    assert!(!log.contains("OTLP"), "{log}");
}

/// A bad trace setting stops the server before it starts, naming it.
#[test]
fn bad_trace_settings_exit_with_a_clear_message() {
    let dir = crate::helpers::temp_dir();
    let serve = ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap()];
    crate::cli::fails_with(
        &[&serve[..], &["--otlp-endpoint", "collector:4318"]].concat(),
        &[SECRET],
        "MESH_OTLP_ENDPOINT `collector:4318` is not an http(s) URL",
    );
    // The SDK's own variables are checked when the exporter is built.
    crate::cli::fails_with(
        &serve,
        &[
            SECRET,
            ("MESH_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ],
        "cannot set up the trace export to http://127.0.0.1:4318/v1/traces",
    );
}

/// A collector that refuses connections: requests answer as usual and
/// quickly, exports fail in the background with one warning (not one per
/// batch, no ERROR), and the server still stops cleanly and promptly.
#[test]
fn a_refusing_collector_changes_nothing_for_requests() {
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let endpoint = format!("http://{refused}");
    let served = Served::start(
        &[],
        &[
            SECRET,
            ("MESH_OTLP_ENDPOINT", &endpoint),
            // A batch every 100 ms: exports fail while requests are served.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    for n in 0..10 {
        let (answer, took) = graphql(served.port, &format!("refused-{n}"));
        assert_answered(&answer);
        assert!(took < Duration::from_secs(2), "request {n} took {took:?}");
        std::thread::sleep(Duration::from_millis(150));
    }
    let stopping = Instant::now();
    let log = served.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "stopped in {:?}",
        stopping.elapsed()
    );
    let warnings = log.lines().filter(|l| l.contains("cannot export traces")).count();
    assert_eq!(warnings, 1, "one warning while exports fail:\n{log}");
    assert!(error_lines(&log).is_empty(), "{log}");
}
