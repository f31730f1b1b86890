//! `palinsesto`: the whole system as one local process on the embedded store.

mod demo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use demo::DEMO_SANDBOX_BRAND;
use palinsesto::domain::OutboundPolicy;
use palinsesto::domain::inbox::PollCadence;
use palinsesto::domain::{BrandId, Role};
use palinsesto::http::ApiSettings;
use palinsesto::local::{DEMO_BRAND, LocalOptions, LocalRuntime, mint_token};
use palinsesto::media_inspection::Limits;
use palinsesto::services::IntakeService;
use palinsesto::services::intake::IntakeOutcome;
use palinsesto::services::publishing::PublishingService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Parser)]
#[command(
    name = "palinsesto",
    version,
    about = "Palinsesto, the back end of a brand's social media desk, as one local process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API on the embedded store.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Where the store file and the signing secret live.
        #[arg(long, default_value = "./var")]
        data: PathBuf,
        /// Origins allowed to call the API from a browser (comma-separated, or *).
        #[arg(long, value_delimiter = ',')]
        cors_origin: Vec<String>,
        /// Seconds between publishing ticks (due posts are also taken at once after publish-now).
        #[arg(long, default_value_t = 30)]
        tick: u64,
        /// Seconds between metrics ticks (snapshots of published posts, channels, competitors).
        #[arg(long, default_value_t = 15 * 60)]
        metrics_every: u64,
        /// Seconds between checks for due reports (each brand's is due Monday 08:00 local).
        #[arg(long, default_value_t = 10 * 60)]
        reports_every: u64,
        /// Seconds between inbox polls of a channel with posts from the last 48 hours (a quiet
        /// one every 15 minutes, or this if longer). Below 60, only for fake networks on this
        /// machine: real ones limit requests per account. Replies are sent every --tick.
        #[arg(long, default_value_t = 120)]
        inbox_every: u64,
        /// Let channels and competitors point at loopback and private addresses (plain http
        /// too): for fake networks on this machine. Also PALINSESTO_ALLOW_PRIVATE_NETWORKS=1.
        #[arg(long)]
        allow_private_networks: bool,
        /// Where the browser lands after connecting a channel by OAuth (your frontend), with
        /// ?outcome=...&connection=...; without it, this server's /oauth/done page.
        #[arg(long)]
        frontend_url: Option<String>,
        /// First make the brand demo-sandbox: a month of history on the simulated sandbox
        /// network (published posts and their figures, reports), the next two weeks scheduled,
        /// posts in review. Refused if that brand has data, unless --reset.
        #[arg(long)]
        demo: bool,
        /// With --demo: erase the brand demo-sandbox first and make it again.
        #[arg(long, requires = "demo")]
        reset: bool,
    },
    /// Print a token the local server accepts (alone on standard output).
    Token {
        #[arg(long)]
        brand: String,
        /// owner, manager, editor or viewer.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "./var")]
        data: PathBuf,
        /// Who the token names (shown as created_by / updated_by).
        #[arg(long, default_value = "local-user")]
        subject: String,
        #[arg(long, default_value_t = 24 * 30)]
        valid_hours: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            addr,
            data,
            cors_origin,
            tick,
            metrics_every,
            reports_every,
            inbox_every,
            allow_private_networks,
            frontend_url,
            demo,
            reset,
        } => serve(
            addr,
            data,
            cors_origin,
            [tick, metrics_every, reports_every, inbox_every],
            allow_private_networks,
            frontend_url,
            Demo { demo, reset },
        ),
        Command::Token {
            brand,
            role,
            data,
            subject,
            valid_hours,
        } => token(&brand, &role, &data, &subject, valid_hours),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("palinsesto: {message}");
            ExitCode::FAILURE
        }
    }
}

fn token(
    brand: &str,
    role: &str,
    data: &std::path::Path,
    subject: &str,
    valid_hours: i64,
) -> Result<(), String> {
    let brand = BrandId::parse(brand)?;
    let role = Role::parse(role)?;
    if valid_hours <= 0 {
        return Err("--valid-hours must be positive".into());
    }
    let token = mint_token(
        data,
        &brand,
        role,
        subject,
        jiff::SignedDuration::from_hours(valid_hours),
    )
    .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

#[tokio::main]
async fn serve(
    addr: SocketAddr,
    data: PathBuf,
    cors_origins: Vec<String>,
    [tick, metrics_every, reports_every, inbox_every]: [u64; 4],
    allow_private_networks: bool,
    frontend_url: Option<String>,
    wanted: Demo,
) -> Result<(), String> {
    for (flag, seconds) in [
        ("--tick", tick),
        ("--metrics-every", metrics_every),
        ("--reports-every", reports_every),
        ("--inbox-every", inbox_every),
    ] {
        if seconds == 0 {
            return Err(format!("{flag} must be at least 1 second"));
        }
    }
    palinsesto::telemetry::init_local();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // Upload and media URLs point back at this process's /local-bucket routes.
    let public_base = listener
        .local_addr()
        .map(|mut a| {
            if a.ip().is_unspecified() {
                a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{a}")
        })
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let mut options = LocalOptions {
        public_base: Some(public_base),
        frontend_url: frontend_url.map(|u| u.trim().trim_end_matches('/').to_owned()),
        ..LocalOptions::default()
    };
    if allow_private_networks {
        options.outbound = OutboundPolicy::PRIVATE_ALLOWED;
    }
    let options_allow_private = options.outbound.allow_private_networks;
    // The demo is made first, on its own simulated clock; the server then opens the same store.
    let seeded = if wanted.demo {
        println!("Making the demo brand {DEMO_SANDBOX_BRAND}: a month on the sandbox network...");
        Some(demo::seed(&data, wanted.reset).await?)
    } else {
        None
    };
    let runtime = LocalRuntime::open_with(&data, options).map_err(|e| e.to_string())?;
    let created = runtime
        .ensure_demo_brand()
        .await
        .map_err(|e| format!("the demo brand could not be created: {e}"))?;
    let settings = ApiSettings {
        cors_origins,
        ..ApiSettings::default()
    };
    let data_arg = data.display();
    if created {
        println!("Created the demo brand \"{DEMO_BRAND}\" (Europe/Rome, approval required).");
    }
    println!("Palinsesto is listening on http://{addr} (data in {data_arg}).");
    if options_allow_private {
        println!(
            "Private networks are allowed: channels and competitors may point at loopback and private addresses."
        );
    }
    println!("Get a token and make a first call from another terminal:");
    println!(
        "  TOKEN=$(cargo run -q --bin palinsesto -- token --brand {DEMO_BRAND} --role owner --data {data_arg})"
    );
    println!("  curl -s -H \"Authorization: Bearer $TOKEN\" http://{addr}/v1/brand");
    let drop_folder = runtime.bucket.root().join("incoming").join(DEMO_BRAND);
    std::fs::create_dir_all(&drop_folder)
        .map_err(|e| format!("cannot create {}: {e}", drop_folder.display()))?;
    println!(
        "Photos and videos dropped into {} become assets within seconds.",
        drop_folder.display()
    );
    println!(
        "Metrics are read every {metrics_every} s; reports are written to {} on Mondays at 08:00 brand time.",
        runtime.bucket.root().join("reports").display()
    );
    if let Some(seeded) = &seeded {
        print_demo(seeded, &addr, &data_arg.to_string());
    }
    // The last line: a caller waiting for it may stop reading the output after it.
    println!("Press Ctrl-C to stop.");
    let state = runtime.app_state();
    let publish_soon = state.publish_soon.clone();
    let app = runtime.router(state, &settings);
    let publisher = runtime.start_publisher();
    // Events written with their changes (the outbox) go to the log and the brands' webhooks.
    let relay = runtime.start_relay();
    let intake = tokio::spawn(intake_loop(
        runtime.intake(Limits::default()),
        Duration::from_secs(2),
    ));
    let ticking = tokio::spawn(tick_loop(
        publisher.service.clone(),
        publish_soon,
        Duration::from_secs(tick),
    ));
    let metrics = runtime.metrics();
    let measuring = tokio::spawn(every(
        "metrics tick",
        Duration::from_secs(metrics_every),
        move || {
            let metrics = metrics.clone();
            async move { metrics.tick().await.map(|_| ()) }
        },
    ));
    // What people say to the brand, each channel's streams read every --inbox-every seconds
    // while it has recent posts; replies sent every tick.
    let inbox =
        runtime
            .inbox_worker()
            .with_cadence(PollCadence::every(jiff::SignedDuration::from_secs(
                i64::try_from(inbox_every).unwrap_or(i64::MAX),
            )));
    // This process alone has the store open: a reply it was sending when it last stopped has
    // no other worker; it is read back from the network at the next tick.
    inbox
        .recover_after_restart()
        .await
        .map_err(|e| format!("the inbox could not check the replies the last run left: {e}"))?;
    let polling = tokio::spawn(every("inbox poll", Duration::from_secs(inbox_every), {
        let inbox = inbox.clone();
        move || {
            let inbox = inbox.clone();
            async move { inbox.poll().await.map(|_| ()) }
        }
    }));
    let replying = tokio::spawn(every(
        "inbox replies",
        Duration::from_secs(tick),
        move || {
            let inbox = inbox.clone();
            async move {
                // What the networks pushed to /hooks/... is taken in within a tick.
                inbox.take_pushed().await?;
                inbox.check_response_targets().await?;
                inbox.send_replies().await?;
                // Hides, likes and deletions the team asked for are done at the network too.
                inbox.moderate_due().await.map(|_| ())
            }
        },
    ));
    // Disconnects are revoked at the network within a publish tick.
    let worker = runtime.connection_worker();
    let connecting = tokio::spawn(every(
        "connection tasks",
        Duration::from_secs(tick),
        move || {
            let worker = worker.clone();
            async move { worker.tick().await.map(|_| ()) }
        },
    ));
    let reports = runtime.reports();
    let reporting = tokio::spawn(every(
        "reports tick",
        Duration::from_secs(reports_every),
        move || {
            let reports = reports.clone();
            async move { reports.tick().await.map(|_| ()) }
        },
    ));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    for task in [ticking, measuring, polling, replying, connecting, reporting] {
        task.abort();
        let _ = task.await;
    }
    // A file half taken in is finished by the next start: intake is idempotent.
    intake.abort();
    let _ = intake.await;
    // Jobs in flight finish: each holds a claim that would otherwise expire and be retried.
    publisher.stop().await;
    // What the stream holds and was not relayed is relayed by the next start.
    relay.stop().await;
    // Every write that was answered is already durable; this drains anything still queued.
    runtime.shutdown();
    tracing::info!("stopped cleanly");
    served.map_err(|e| format!("the server stopped with an error: {e}"))
}

/// What `serve` was asked to make first.
struct Demo {
    demo: bool,
    reset: bool,
}

/// What the demo made and what to open.
fn print_demo(seeded: &demo::Seeded, addr: &SocketAddr, data: &str) {
    println!(
        "The demo brand \"{DEMO_SANDBOX_BRAND}\" is ready ({:.1} s): from {} to {} on the sandbox network, {} publications with their figures, {} weekly reports, {} photos; {} posts scheduled over the next two weeks, {} waiting for review, {} drafts.",
        seeded.seconds,
        seeded.first_day,
        seeded.last_day,
        seeded.published,
        seeded.reports_written,
        seeded.assets,
        seeded.scheduled,
        seeded.in_review,
        seeded.drafts,
    );
    let until = seeded
        .last_day
        .checked_add(jiff::ToSpan::days(14))
        .unwrap_or(seeded.last_day);
    println!("Open it from another terminal:");
    println!(
        "  TOKEN=$(cargo run -q --bin palinsesto -- token --brand {DEMO_SANDBOX_BRAND} --role owner --data {data})"
    );
    println!(
        "  curl -s -H \"Authorization: Bearer $TOKEN\" \"http://{addr}/v1/calendar?from={}&to={until}\"",
        seeded.first_day
    );
    println!(
        "  curl -s -H \"Authorization: Bearer $TOKEN\" \"http://{addr}/v1/reports?period=week&format=html\" > report.html"
    );
}

/// The publishing tick, every `every` and whenever publish-now asks for one.
async fn tick_loop(service: PublishingService, publish_soon: Arc<Notify>, every: Duration) {
    loop {
        if let Err(e) = service.tick().await {
            tracing::error!(error = %e, "publishing tick failed; the next one retries");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {},
            () = publish_soon.notified() => {},
        }
    }
}

/// Runs `work` every `period` (the first run at once); a failure is logged and retried next time.
async fn every<F, Fut>(name: &'static str, period: Duration, work: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), palinsesto::services::ServiceError>>,
{
    loop {
        if let Err(e) = work().await {
            tracing::error!(error = %e, "{name} failed; the next one retries");
        }
        tokio::time::sleep(period).await;
    }
}

/// Takes in the files dropped into the bucket folder, every `every`; one log line per file.
async fn intake_loop(intake: IntakeService, every: Duration) {
    loop {
        match intake.scan_incoming().await {
            Ok(results) => {
                for (key, outcome) in results {
                    match outcome {
                        // Refused files, and entries never read (links, pipes): said once.
                        Ok(o @ (IntakeOutcome::Rejected(_) | IntakeOutcome::Ignored(_))) => {
                            tracing::warn!(key, "{o}")
                        }
                        Ok(o) => tracing::info!(key, "{o}"),
                        Err(e) => {
                            tracing::warn!(key, error = %e, "intake failed; the next scan retries")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "the drop folder could not be scanned"),
        }
        tokio::time::sleep(every).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
