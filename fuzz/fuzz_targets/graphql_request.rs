//! GraphQL request bodies, executed against the real schema and a real
//! catalog (SQLite in a temporary directory, in-memory search index, seeded
//! with the demo mesh; Kafka configured but unreachable, so Kafka-backed
//! fields answer UNAVAILABLE): whatever the body, the server answers and
//! never panics. The body is parsed as the JSON of a
//! GraphQL-over-HTTP request, or else taken as query text; it runs as a
//! platform admin (who reaches every resolver, mutations included) and as an
//! anonymous reader.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mesh_catalog::auth::{Caller, Identity};
use mesh_catalog::catalog::policy::{Principal, Settings};
use mesh_catalog::catalog::Catalog;
use mesh_catalog::config::{GraphqlLimits, KafkaConfig};
use mesh_catalog::graphql::metrics::Metrics;
use mesh_catalog::graphql::{build_schema, request_loader, AppSchema, RequestContext, Services};
use mesh_catalog::search::{IndexLocation, Indexer, SearchIndex};
use mesh_catalog::store::Store;
use mesh_catalog::stream::Live;
use tokio::runtime::Runtime;

/// Shorter than libFuzzer's `-timeout` (30 s in `scripts/fuzz`).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

struct World {
    runtime: Runtime,
    schema: AppSchema,
    catalog: Catalog,
    admin: Principal,
    anonymous: Principal,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = Runtime::new().expect("tokio runtime");
        let (schema, catalog, admin, anonymous) = runtime.block_on(async {
            let dir = std::env::temp_dir().join(format!("mesh-catalog-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let store = Store::open(&format!("sqlite://{}", dir.join("catalog.db").display()))
                .await
                .expect("store");
            let (search, fresh) = SearchIndex::open(&IndexLocation::Memory).expect("index");
            let indexer = Indexer::start(search.clone(), &store, fresh).await.expect("indexer");
            // No broker listens there: Kafka-backed fields fail cleanly.
            let live = Live::start(&KafkaConfig::external("127.0.0.1:9"), store.clone())
                .await
                .expect("Kafka clients");
            let catalog = Catalog::new(store)
                .with_hook(std::sync::Arc::new(indexer.clone()))
                .with_hook(live.hook())
                .with_settings(Settings {
                    anonymous_read: true,
                    ..Settings::default()
                });
            mesh_catalog::demo::seed(&catalog).await.expect("demo seed");
            indexer.flush().await.expect("index flush");
            let admin = Caller::User(Identity {
                subject: "fuzzer".into(),
                teams: vec![],
                roles: vec!["admin".into()],
            });
            let admin = catalog.principal(&admin).await.expect("principal");
            let anonymous = catalog.principal(&Caller::Anonymous).await.expect("principal");
            let limits = GraphqlLimits::default();
            let services = Services::new(catalog.clone(), search, live, &limits);
            (build_schema(Some(services), &limits), catalog, admin, anonymous)
        });
        World {
            runtime,
            schema,
            catalog,
            admin,
            anonymous,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let request = match serde_json::from_slice::<async_graphql::Request>(data) {
        Ok(request) => request,
        Err(_) => async_graphql::Request::new(String::from_utf8_lossy(data)),
    };
    let principal = if data.len().is_multiple_of(2) {
        &world.admin
    } else {
        &world.anonymous
    };
    let request = request
        .data(RequestContext {
            principal: principal.clone(),
        })
        .data(request_loader(&world.catalog, &Metrics::default()));
    // Bounded like a request to the server (its timeout layer), so a field
    // waiting on the absent broker ends instead of stalling the fuzzer.
    let _ = world
        .runtime
        .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, world.schema.execute(request)).await });
});
