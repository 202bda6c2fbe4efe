//! The `mesh-catalog` command: parses the command line and hands over to
//! `startup`.

use std::process::ExitCode;

use clap::Parser;
use mesh_catalog::auth::{Identity, TokenService};
use mesh_catalog::config::{Cli, Command, Config};
use mesh_catalog::search::{IndexLocation, Indexer, SearchIndex};
use mesh_catalog::startup::Application;
use mesh_catalog::store::Store;
use mesh_catalog::{graphql, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mesh-catalog: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let config = Config::from_args(&args)?;
            let app = Application::build(config).await?;
            tracing::info!("GraphQL API and GraphiQL on http://{}/graphql", app.local_addr());
            app.run_until(shutdown_signal()).await?;
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
            let (index, _) = SearchIndex::open(&IndexLocation::Disk(args.index_dir()))?;
            let started = std::time::Instant::now();
            Indexer::start(index, &store, true).await?;
            eprintln!("search index rebuilt in {:.1?}", started.elapsed());
        }
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
