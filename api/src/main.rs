//! The `mesh-catalog` command: parses the command line and hands over to
//! `startup`.

use std::process::ExitCode;

use clap::Parser;
use mesh_catalog::auth::{Identity, TokenService};
use mesh_catalog::config::{Cli, Command, Config};
use mesh_catalog::search::{IndexLocation, Indexer, SearchIndex};
use mesh_catalog::startup::Application;
use mesh_catalog::store::transfer::{self, Export, TransferError};
use mesh_catalog::store::Store;
use mesh_catalog::{graphql, memory, telemetry};

/// mimalloc, its freed pages returned as `memory` decides. With glibc's
/// allocator the server kept what the start-up index rebuild, commits and
/// merges had freed in the arenas of the threads that freed it: 200–320
/// MiB resident at 100,000 products for a live heap of about 15 MiB
/// (docs/BENCHMARKS-search.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match start_telemetry(&cli.command) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("mesh-catalog: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = run(cli.command).await;
    // The spans still queued go out before the process exits.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mesh-catalog: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs for every command; traces too for `serve` when configured.
fn start_telemetry(command: &Command) -> anyhow::Result<telemetry::Telemetry> {
    let (format, traces) = match command {
        Command::Serve(args) => (args.log_format, args.otlp.resolve()?),
        _ => (Default::default(), None),
    };
    Ok(telemetry::init(format, traces.as_ref())?)
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let config = Config::from_args(&args)?;
            // Handlers first: a signal during start-up must stop the server
            // gracefully, not kill it.
            let shutdown = shutdown_signal()?;
            let app = memory::start_up(Application::build(config)).await?;
            let addr = app.local_addr();
            tracing::info!("portal on http://{addr}/, GraphQL API and GraphiQL on http://{addr}/graphql");
            app.run_until(shutdown).await?;
            tracing::info!("stopped");
        }
        Command::Token(args) => {
            let auth = args.auth.resolve(true)?;
            let identity = Identity {
                subject: args.sub,
                teams: args.teams,
                roles: args.roles,
            };
            println!("{}", TokenService::new(&auth).mint(&identity, args.ttl)?);
        }
        Command::Schema => print!("{}", graphql::sdl()),
        Command::Migrate(args) => {
            Store::open(&args.resolve()?).await?;
            eprintln!("migrations applied");
        }
        Command::Reindex(args) => {
            let store = Store::open(&args.resolve()?).await?;
            reindex(&store, &args.index_dir()).await?;
        }
        Command::Export(args) => {
            let store = Store::open(&args.database.resolve()?)
                .await
                .map_err(TransferError::Open)?;
            let export = transfer::export(&store).await?;
            transfer::write_output(args.output.as_deref(), &export.to_json())?;
            eprintln!("exported {} rows", export.rows());
        }
        Command::Import(args) => {
            // The document is checked before the database is even opened.
            let export = Export::from_json(&transfer::read_input(args.input.as_deref())?)?;
            let store = Store::open(&args.database.resolve()?)
                .await
                .map_err(TransferError::Open)?;
            let rows = transfer::import(&store, export).await?;
            eprintln!("imported {rows} rows");
            // An index left from another catalog could pass the server's
            // start-up check (same product count): rebuild it. A missing
            // one is built by the server.
            let index_dir = args.database.index_dir();
            if index_dir.exists() {
                reindex(&store, &index_dir).await?;
            }
        }
    }
    Ok(())
}

/// Rebuilds the search index in `dir` from the database.
async fn reindex(store: &Store, dir: &std::path::Path) -> anyhow::Result<()> {
    let (index, _) = SearchIndex::open(&IndexLocation::Disk(dir.to_owned()))?;
    let started = std::time::Instant::now();
    Indexer::start(index, store, true).await?;
    eprintln!("search index rebuilt in {:.1?}", started.elapsed());
    Ok(())
}

/// Registers the SIGINT and SIGTERM handlers now; the future completes on
/// the first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! { _ = interrupt.recv() => {}, _ = terminate.recv() => {} }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
