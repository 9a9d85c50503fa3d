//! `touchless`: the one binary. `serve` runs the server; the other subcommands
//! are a CLI client of its admin API.

mod cli;
mod client;
mod memory;
mod phone;
mod storm;

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use touchless_server::Config;

#[derive(Parser)]
#[command(
    name = "touchless",
    version,
    about = "Zero-touch provisioning for IP phones"
)]
struct Args {
    /// TOML configuration file (see `touchless config example`).
    #[arg(long, short, global = true, env = "TOUCHLESS_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, generated admin token).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Admin API URL the CLI talks to [default: from admin.listen].
    #[arg(long, global = true)]
    admin_url: Option<String>,
    /// Admin API bearer token [default: admin.token, else <data_dir>/admin-token].
    #[arg(long, global = true)]
    token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the provisioning server and admin API.
    Serve(ServeArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(cli::TenantCmd),
    /// Manage devices (phones).
    #[command(subcommand)]
    Device(cli::DeviceCmd),
    /// The redirection service: companies, API keys, endpoints, phone contacts.
    #[command(subcommand)]
    Redirect(cli::RedirectCmd),
    /// Redirection provider accounts the daemon registers devices at.
    #[command(subcommand)]
    Provider(cli::ProviderCmd),
    /// The daemon's event queue.
    #[command(subcommand)]
    Events(cli::EventsCmd),
    /// Web console accounts.
    #[command(subcommand)]
    User(cli::UserCmd),
    /// Firmware policies: pin a model's firmware, step through versions.
    #[command(subcommand)]
    Firmware(cli::FirmwareCmd),
    /// A simulated phone (one, or a boot storm).
    #[command(subcommand)]
    Phone(PhoneCmd),
    /// Ask the running server for a consistent copy of its SQLite database
    /// (taken while it works), written to FILE (0600).
    Backup { file: PathBuf },
    /// Put a backup in place of this installation's SQLite database. The
    /// server must be stopped; the database it replaces is kept beside it.
    Restore { file: PathBuf },
    /// The HTTP APIs described for machines.
    #[command(subcommand)]
    Api(ApiCmd),
    /// Print a shell completion script: `touchless completions bash >
    /// /etc/bash_completion.d/touchless`.
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand)]
enum PhoneCmd {
    /// Boot one phone as a factory-reset phone does: redirect, ztprov, prov.
    Boot {
        #[arg(long)]
        mac: String,
        /// The model, as its files name it; an example model of `--vendor`
        /// (or of the first vendor) without it.
        #[arg(long)]
        model: Option<String>,
        /// The phone's vendor (as `touchless_phones` names it); the model's when left out.
        #[arg(long)]
        vendor: Option<String>,
        /// Where a phone without a setting server asks (the redirection service).
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        redirect: String,
        /// What the vendor's cloud hands a factory-reset phone: its first URL
        /// (for vendors touchless's redirection service does not redirect).
        #[arg(long)]
        server: Option<String>,
        /// The user that goes with `--server`.
        #[arg(long)]
        user: Option<String>,
        /// The password that goes with `--server`.
        #[arg(long, env = "TOUCHLESS_PHONE_PASS", hide_env_values = true)]
        pass: Option<String>,
        /// Firmware version in the User-Agent.
        #[arg(long, default_value = "10.1.198.19")]
        firmware: String,
        /// Where the phone keeps its settings between boots.
        #[arg(long, default_value = "./touchless-phones")]
        state_dir: PathBuf,
        /// Keep nothing: boot as factory-reset and forget afterwards.
        #[arg(long)]
        once: bool,
        /// Forget what the phone learned (factory reset) before booting.
        #[arg(long)]
        factory_reset: bool,
    },
    /// Register and boot many phones at once; prints phones/s and latencies.
    Storm {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        redirect: String,
        /// Tenant the storm's devices live in (created if missing).
        #[arg(long, default_value = "storm")]
        tenant: String,
        /// The model of every phone, or several, comma-separated, taken in
        /// turn (a mixed fleet: `D717,T46S,X4U,N870,VVX450`); an example
        /// model without it. Each vendor's phones get MACs in its own OUI.
        #[arg(long)]
        model: Option<String>,
        /// MAC of the first phone; the rest count up from it.
        #[arg(long, default_value = "000413F00000")]
        first_mac: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Provisioning server listen address [default: 0.0.0.0:8080].
    #[arg(long)]
    listen: Option<String>,
    /// Admin API listen address [default: 127.0.0.1:15777].
    #[arg(long)]
    admin_listen: Option<String>,
    /// Base URL phones use to reach the provisioning server.
    #[arg(long)]
    public_url: Option<String>,
    /// Database URL [default: sqlite://<data_dir>/touchless.db].
    #[arg(long)]
    database_url: Option<String>,
    /// Template override directory.
    #[arg(long)]
    template_dir: Option<String>,
    /// Access log: stdout, off or a file path.
    #[arg(long)]
    access_log: Option<String>,
    /// Redirection service listen address [default: 0.0.0.0:8081].
    #[arg(long)]
    redirect_listen: Option<String>,
    /// Do not run the redirection service.
    #[arg(long)]
    no_redirect: bool,
}

#[derive(Subcommand)]
enum ApiCmd {
    /// Print the OpenAPI 3.1 document of the admin API (or, with --sraps,
    /// of the redirection service's SRAPS-compatible API).
    Openapi {
        #[arg(long)]
        sraps: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print a complete, commented example configuration.
    Example,
    /// Print the effective configuration (secrets masked).
    Show,
}

fn main() -> std::process::ExitCode {
    touchless_server::without_huge_pages();
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the cause chain on one line and never a backtrace:
            // the person reading it wants the reason, not our stack.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to stderr as `log` says: text (coloured only on a terminal, so a
/// file or the journal gets no escape codes) or JSON lines.
fn init_logging(log: &touchless_server::config::LogConfig, serving: bool) {
    let filter = std::env::var("TOUCHLESS_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .or_else(|| Some(log.level.clone()).filter(|l| !l.is_empty()))
        .unwrap_or_else(|| if serving { "info" } else { "warn" }.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match log.format {
        touchless_server::config::LogFormat::Json => builder.json().init(),
        touchless_server::config::LogFormat::Text => {
            builder.with_ansi(std::io::stderr().is_terminal()).init()
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if let Command::Config(ConfigCmd::Example) = args.command {
        print!("{}", touchless_server::config::EXAMPLE);
        return Ok(());
    }
    if let Command::Api(ApiCmd::Openapi { sraps }) = args.command {
        let doc = match sraps {
            false => touchless_server::admin::openapi(),
            true => touchless_server::redirect::openapi(),
        };
        println!("{}", doc.to_pretty_json()?);
        return Ok(());
    }
    if let Command::Completions { shell } = args.command {
        use clap::CommandFactory as _;
        clap_complete::generate(
            shell,
            &mut Args::command(),
            "touchless",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let cfg = load_config(&args)?;
    init_logging(&cfg.log, matches!(args.command, Command::Serve(_)));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.command {
        Command::Serve(_) => rt.block_on(serve(cfg)),
        Command::Config(ConfigCmd::Show) => {
            let mut shown = cfg.clone();
            for secret in [&mut shown.admin.token, &mut shown.metrics.token] {
                if !secret.is_empty() {
                    *secret = "***".into();
                }
            }
            match args.json {
                true => println!("{}", serde_json::to_string_pretty(&shown)?),
                false => print!("{}", toml::to_string_pretty(&shown)?),
            }
            Ok(())
        }
        Command::Config(ConfigCmd::Example) => unreachable!("handled above"),
        Command::Completions { .. } | Command::Api(_) => unreachable!("handled above"),
        Command::Backup { file } => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            let bytes = c.download("/backup", &file).await?;
            if args.json {
                println!("{}", serde_json::json!({"file": file, "bytes": bytes}));
            } else {
                println!("backup written to {} ({bytes} bytes)", file.display());
            }
            Ok(())
        }),
        Command::Restore { file } => rt.block_on(async {
            let r = touchless_server::datadir::restore(&cfg, &file).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"database": r.database, "previous": r.previous,
                        "tenants": r.summary.tenants, "devices": r.summary.devices})
                );
            } else {
                println!(
                    "restored {} ({} tenants, {} devices) into {}",
                    file.display(),
                    r.summary.tenants,
                    r.summary.devices,
                    r.database.display()
                );
                if let Some(p) = r.previous {
                    println!("the database it replaced is kept as {}", p.display());
                }
            }
            Ok(())
        }),
        Command::Tenant(cmd) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            cli::tenant(&c, cmd, args.json).await
        }),
        Command::Device(cmd) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            cli::device(&c, cmd, args.json).await
        }),
        Command::Redirect(cmd) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            cli::redirect(&c, cmd, args.json).await
        }),
        Command::Provider(cmd) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            cli::provider(&c, cmd, args.json).await
        }),
        Command::User(cmd) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            cli::user(&c, cmd, args.json).await
        }),
        Command::Firmware(cmd) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            cli::firmware(&c, cmd, args.json).await
        }),
        Command::Phone(PhoneCmd::Boot {
            mac,
            model,
            vendor,
            redirect,
            server,
            user,
            pass,
            firmware,
            state_dir,
            once,
            factory_reset,
        }) => rt.block_on(phone_boot(
            mac,
            phone_model(model.as_deref(), vendor.as_deref())?,
            redirect,
            server.map(|s| (s, user, pass)),
            firmware,
            state_dir,
            once,
            factory_reset,
            args.json,
        )),
        Command::Phone(PhoneCmd::Storm {
            count,
            concurrency,
            redirect,
            tenant,
            model,
            first_mac,
        }) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            storm::run(
                c,
                storm::StormArgs {
                    count,
                    concurrency,
                    redirect,
                    tenant,
                    models: match &model {
                        Some(m) => m
                            .split(',')
                            .map(|m| touchless_phones::PhoneModel::parse(m.trim()))
                            .collect::<Result<_, _>>()?,
                        None => vec![touchless_phones::example_model()],
                    },
                    first_mac: touchless_domain::Mac::parse(&first_mac)?,
                    json: args.json,
                },
            )
            .await
        }),
        Command::Events(cmd) => rt.block_on(async {
            let c = client::Client::new(&cfg)?;
            cli::events(&c, cmd, args.json).await
        }),
    }
}

/// The simulated phone's model: `--model`, else an example of `--vendor`
/// (else of the first vendor); both given must agree.
fn phone_model(
    model: Option<&str>,
    vendor: Option<&str>,
) -> anyhow::Result<touchless_phones::PhoneModel> {
    use touchless_phones::{PhoneModel, Vendor};
    let vendor = vendor.map(Vendor::parse).transpose()?;
    match (model, vendor) {
        (Some(m), None) => Ok(PhoneModel::parse(m)?),
        (Some(m), Some(v)) => Ok(v.check(PhoneModel::parse(m)?)?),
        (None, Some(v)) => v
            .example_model()
            .ok_or_else(|| anyhow::anyhow!("{v} names no example model")),
        (None, None) => Ok(touchless_phones::example_model()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn phone_boot(
    mac: String,
    model: touchless_phones::PhoneModel,
    redirect: String,
    server: Option<(String, Option<String>, Option<String>)>,
    firmware: String,
    state_dir: PathBuf,
    once: bool,
    factory_reset: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mac = touchless_domain::Mac::parse(&mac)?;
    let path = phone::state_path(&state_dir, mac);
    let mut state = if once || factory_reset {
        phone::PhoneState::default()
    } else {
        phone::PhoneState::load(&path)?
    };
    // What the vendor's cloud hands a phone that knows no server yet.
    if let (None, Some((url, user, pass))) = (&state.setting_server, server) {
        state.setting_server = Some(url);
        state.http_client_user = user;
        state.http_client_pass = pass;
    }
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    // A boot that installs firmware reboots, as the phone does, until one
    // installs nothing (a policy's intermediate versions, then its target).
    const MAX_REBOOTS: usize = 10;
    for _ in 0..=MAX_REBOOTS {
        let p = phone::Phone {
            mac,
            model,
            firmware: state.firmware.clone().unwrap_or_else(|| firmware.clone()),
        };
        let report = p.boot(&http, &redirect, &mut state).await;
        if !once {
            state.save(&path)?;
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            phone::print_report(&report);
        }
        if !report.ok {
            anyhow::bail!("the phone did not come up");
        }
        if report.installed.is_none() {
            return Ok(());
        }
    }
    anyhow::bail!("the phone was still installing firmware after {MAX_REBOOTS} reboots")
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut o: Vec<(&str, toml::Value)> = Vec::new();
    let s = |v: &str| toml::Value::String(v.to_owned());
    if let Some(d) = &args.data_dir {
        o.push(("data_dir", s(&d.to_string_lossy())));
    }
    if let Some(u) = &args.admin_url {
        o.push(("admin.url", s(u)));
    }
    if let Some(t) = &args.token {
        o.push(("admin.token", s(t)));
    }
    if let Command::Serve(sa) = &args.command {
        for (key, val) in [
            ("provisioning.listen", &sa.listen),
            ("admin.listen", &sa.admin_listen),
            ("public_url", &sa.public_url),
            ("database_url", &sa.database_url),
            ("template_dir", &sa.template_dir),
            ("provisioning.access_log", &sa.access_log),
            ("redirect.listen", &sa.redirect_listen),
        ] {
            if let Some(v) = val {
                o.push((key, s(v)));
            }
        }
        if sa.no_redirect {
            o.push(("redirect.enabled", toml::Value::Boolean(false)));
        }
    }
    Ok(Config::load(args.config.as_deref(), &o)?)
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    touchless_server::metrics::set_heap_stats(memory::heap_stats);
    let data_dir = cfg.data_dir.clone();
    let token_file = cfg.admin_token_file();
    let prov_listen = cfg.provisioning.listen;
    let running = touchless_server::start(cfg).await?;
    println!("touchless {} is running", env!("CARGO_PKG_VERSION"));
    println!("  data directory       {}", data_dir.display());
    println!(
        "  provisioning server  {} (listening on {prov_listen}, bound {})",
        running.public_url, running.provisioning_addr
    );
    println!("  admin API            http://{}", running.admin_addr);
    match running.redirect_addr {
        Some(a) => println!(
            "  redirection service  {a} (SRAPS API under /api/v1/, phones ask for {})",
            touchless_phones::file_forms()
        ),
        None => println!("  redirection service  off"),
    }
    match &running.new_admin_token {
        // Under systemd or any log collector stdout is a log: the token would be
        // kept in the journal. Only a person at a terminal sees it.
        Some(_) if !std::io::stdout().is_terminal() => println!(
            "  admin token          generated; stored in {} (readable by this user only)",
            token_file.display()
        ),
        Some(t) => {
            println!("  admin token          {t}");
            println!(
                "                       (shown once; the CLI on this machine reads it from {})",
                token_file.display()
            );
        }
        None => println!(
            "  admin token          as configured, or in {}",
            token_file.display()
        ),
    }
    println!("  web console          http://{}/", running.admin_addr);
    if let Some((user, password)) = &running.new_console_admin {
        if std::io::stdout().is_terminal() {
            println!("  console sign-in      {user} / {password}  (shown once; change it in the console)");
        } else {
            // Under a service manager stdout is a log: keep the password out of it.
            let file = touchless_server::app::keep_console_password(&data_dir, user, password)?;
            println!(
                "  console sign-in      {user}; the generated password is in {} (readable by this user only)",
                file.display()
            );
        }
    }
    if let Some(b) = &running.bootstrap {
        println!("  first start          {b}");
    }
    println!("Stop with Ctrl-C.");
    touchless_server::app::signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.shutdown().await;
    Ok(())
}
