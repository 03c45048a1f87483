//! `switchyard`: the server and its operator commands.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use switchyard_gateway::identity::tenants::provision::{self, NewUser};
use switchyard_gateway::kernel::access::{BuiltinRole, UserKind};
use switchyard_gateway::kernel::{Scope, TenantId};
use switchyard_gateway::{App, Config, shutdown_signal};

/// mimalloc instead of the system allocator: a GraphQL response allocates per field, and the
/// benchmark (bench/) spent about a third of its CPU in glibc malloc/free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchyard: an operational CRM served as one GraphQL API.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve GraphiQL and /graphql (the default).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Print the GraphQL schema (SDL); `schema.graphql` is its output.
    Schema,
    /// Print the event catalogue (Markdown); `docs/events.md` is its output.
    Events,
    /// Fill the database with sample data.
    Seed {
        /// A demo company: two locations and one user per built-in role.
        #[arg(long)]
        demo: bool,
    },
    /// Print a development access token for a user.
    Token {
        #[arg(long)]
        user: String,
        /// The tenant's slug (needed when the email exists in several tenants).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage partner API keys.
    #[command(name = "api-key")]
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Subcommand, Debug)]
enum TenantCommand {
    /// Create a tenant and its owner.
    Create(TenantCreate),
}

#[derive(Args, Debug)]
struct TenantCreate {
    #[arg(long)]
    name: String,
    #[arg(long)]
    slug: String,
    #[arg(long)]
    owner_email: String,
    #[arg(long, default_value = "Owner")]
    owner_name: String,
    /// Generated and printed when omitted.
    #[arg(long)]
    owner_password: Option<String>,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user in a tenant.
    Create(UserCreate),
}

#[derive(Args, Debug)]
struct UserCreate {
    #[arg(long)]
    tenant: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// Role keys (repeatable), e.g. `--role sales_rep`.
    #[arg(long = "role")]
    roles: Vec<String>,
    /// Generated and printed when omitted.
    #[arg(long)]
    password: Option<String>,
    /// A customer-portal user instead of staff.
    #[arg(long)]
    client: bool,
}

#[derive(Subcommand, Debug)]
enum ApiKeyCommand {
    /// Create an API key acting for a user.
    Create(ApiKeyCreate),
}

#[derive(Args, Debug)]
struct ApiKeyCreate {
    #[arg(long)]
    tenant: String,
    /// Email of the user the key acts for.
    #[arg(long)]
    user: String,
    #[arg(long)]
    name: String,
    /// `permission` or `permission:scope` (own, location, tenant; default tenant), repeatable.
    #[arg(long = "permission", required = true)]
    permissions: Vec<String>,
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn tenant_id(app: &App, slug: &str) -> anyhow::Result<TenantId> {
    provision::tenant_by_slug(app.services(), slug)
        .await?
        .with_context(|| format!("no tenant with slug {slug:?}"))
}

fn parse_grant(spec: &str) -> anyhow::Result<(String, Scope)> {
    // `domain.resource:action[:scope]`
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [path, action] => Ok((format!("{path}:{action}"), Scope::Tenant)),
        [path, action, scope] => Ok((
            format!("{path}:{action}"),
            Scope::parse(scope).with_context(|| format!("unknown scope {scope:?}"))?,
        )),
        _ => anyhow::bail!("{spec:?} is not domain.resource:action[:scope]"),
    }
}

/// Runs the command; a failure is one line on stderr (its causes joined, never a backtrace:
/// a mistyped email is not a crash) and exit status 1.
fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Schema = command {
        print!("{}", switchyard_gateway::schema::sdl());
        return Ok(());
    }
    if let Command::Events = command {
        print!("{}", switchyard_gateway::catalogue::markdown());
        return Ok(());
    }
    let mut config = Config::load()?;
    init_tracing(&config);
    if let Command::Migrate = command {
        // Migrating is what this command is for, whatever `auto_migrate` says.
        config.auto_migrate = "true".to_owned();
        let db = switchyard_gateway::kernel::Db::connect(&config.database_url, &Default::default())
            .await?;
        let report = db.migrate().await?;
        println!(
            "applied {} migration(s){}",
            report.applied.len(),
            if report.applied.is_empty() {
                String::new()
            } else {
                format!(": {}", report.applied.join(", "))
            }
        );
        return Ok(());
    }
    let app = App::build(config).await?;
    match command {
        Command::Serve => serve(app).await,
        Command::Seed { demo } => {
            anyhow::ensure!(demo, "say what to seed: `switchyard seed --demo`");
            let (accounts, sales, jobs, notices, reminders, tickets) = seed_demo(&app).await?;
            println!(
                "Demo company \"Nordic Movers\" (slug: nordic-movers). Accounts (email / password):"
            );
            for (role, email, password) in accounts {
                println!("  {role:<14} {email:<36} {password}");
            }
            println!(
                "Sales data: {} customers, {} leads, {} activities, {} tasks, {} quotes; \
                 {} bookings from the booking form waiting for a call back.",
                sales.customers,
                sales.leads,
                sales.activities,
                sales.tasks,
                sales.quotes,
                sales.bookings
            );
            println!(
                "Operations: {jobs} jobs over the weeks around today (steps, crews, field updates); \
                 working hours and time off for the crew (crew2..crew6@nordicmovers.example); \
                 a weekly maintenance block and site visits on the calendar."
            );
            println!(
                "Notifications: {notices} (read and unread) for the staff; {reminders} reminders \
                 due before the jobs ahead (to their crews, and a day ahead to their customers); \
                 message templates in English and Swedish."
            );
            println!(
                "Support desk: {tickets} tickets from three portal clients in every status and \
                 priority, with replies and internal notes, some waiting in the queue and some \
                 past their service level; a client's photo and a file for staff only on the \
                 first."
            );
            Ok(())
        }
        Command::Token { user, tenant } => {
            let services = app.services();
            let tenant = match tenant {
                Some(slug) => tenant_id(&app, &slug).await?,
                None => only_tenant_of(&app, &user).await?,
            };
            let id = provision::user_by_email(services, tenant, &user)
                .await?
                .with_context(|| format!("no user {user:?} in that tenant"))?;
            let (access, _) = app
                .authenticator()
                .open_session(services, tenant, id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!("{access}");
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::Create(args),
        } => {
            let password = args
                .owner_password
                .clone()
                .unwrap_or_else(switchyard_gateway::identity::credentials::password::generate);
            let (tenant, _) = provision::create_tenant(
                app.services(),
                &args.name,
                &args.slug,
                NewUser {
                    email: args.owner_email.clone(),
                    name: args.owner_name.clone(),
                    password: password.clone(),
                    kind: UserKind::Staff,
                    roles: vec![],
                    locations: vec![],
                },
            )
            .await?;
            println!(
                "tenant {tenant} created; owner {} with password {password}",
                args.owner_email
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Create(args),
        } => {
            let tenant = tenant_id(&app, &args.tenant).await?;
            let password = args
                .password
                .clone()
                .unwrap_or_else(switchyard_gateway::identity::credentials::password::generate);
            let id = provision::create_user(
                app.services(),
                tenant,
                NewUser {
                    email: args.email.clone(),
                    name: args.name.clone(),
                    password: password.clone(),
                    kind: if args.client {
                        UserKind::Client
                    } else {
                        UserKind::Staff
                    },
                    roles: args.roles.clone(),
                    locations: vec![],
                },
            )
            .await?;
            println!("user {id} created: {} with password {password}", args.email);
            Ok(())
        }
        Command::ApiKey {
            command: ApiKeyCommand::Create(args),
        } => {
            let tenant = tenant_id(&app, &args.tenant).await?;
            let user = provision::user_by_email(app.services(), tenant, &args.user)
                .await?
                .with_context(|| format!("no user {:?} in that tenant", args.user))?;
            let grants = args
                .permissions
                .iter()
                .map(|p| parse_grant(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let secret = switchyard_gateway::identity::api_keys::mutations::provision(
                app.services(),
                tenant,
                user,
                &args.name,
                grants,
            )
            .await?;
            println!("{secret}");
            eprintln!("(shown once: store it now)");
            Ok(())
        }
        Command::Schema | Command::Events | Command::Migrate => unreachable!("handled above"),
    }
}

async fn only_tenant_of(app: &App, email: &str) -> anyhow::Result<TenantId> {
    let bootstrap = tenant_id(app, "my-company").await;
    let demo = tenant_id(app, "nordic-movers").await;
    let mut found = Vec::new();
    for tenant in [bootstrap, demo].into_iter().flatten() {
        if provision::user_by_email(app.services(), tenant, email)
            .await?
            .is_some()
        {
            found.push(tenant);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        _ => anyhow::bail!("give --tenant <slug> to say which tenant {email:?} belongs to"),
    }
}

async fn serve(app: App) -> anyhow::Result<()> {
    let bind: SocketAddr = app.config().bind.parse().context("SWITCHYARD_BIND")?;
    if let Some(first) =
        provision::bootstrap_if_empty(app.services(), &app.config().bootstrap_email).await?
    {
        println!();
        println!("  First start: created tenant \"My Company\" (slug my-company) and its owner.");
        println!("  Sign in as  {}", first.email);
        println!("  password    {}", first.password);
        println!("  This password is shown once and never again.");
        let _ = first.tenant;
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener.local_addr()?;
    println!();
    if app.config().graphiql {
        println!("  GraphiQL    http://{address}/");
    }
    println!("  GraphQL     http://{address}/graphql  (ws://{address}/graphql for subscriptions)");
    println!();
    app.serve(listener, shutdown_signal()).await
}

/// The demo company.
async fn seed_demo(
    app: &App,
) -> anyhow::Result<(
    Vec<(String, String, String)>,
    switchyard_gateway::sales::demo::DemoSummary,
    usize,
    usize,
    i64,
    usize,
)> {
    let services = app.services();
    anyhow::ensure!(
        provision::tenant_by_slug(services, "nordic-movers")
            .await?
            .is_none(),
        "the demo company already exists"
    );
    let password = "Demo-Password-2026".to_owned();
    let (tenant, owner) = provision::create_tenant(
        services,
        "Nordic Movers",
        "nordic-movers",
        NewUser {
            email: "owner@nordicmovers.example".into(),
            name: "Astrid Lindqvist".into(),
            password: password.clone(),
            kind: UserKind::Staff,
            roles: vec![],
            locations: vec![],
        },
    )
    .await?;
    let stockholm =
        provision::create_location(services, tenant, "Stockholm", "Europe/Stockholm").await?;
    let gothenburg =
        provision::create_location(services, tenant, "Gothenburg", "Europe/Stockholm").await?;
    let mut accounts = vec![(
        "owner".to_owned(),
        "owner@nordicmovers.example".to_owned(),
        password.clone(),
    )];
    let mut ids = std::collections::HashMap::new();
    let people = [
        (BuiltinRole::Admin, "Erik Holm", "admin"),
        (BuiltinRole::Manager, "Maja Berg", "manager"),
        (BuiltinRole::SalesRep, "Oskar Nyström", "sales"),
        (BuiltinRole::Dispatcher, "Elin Sandberg", "dispatch"),
        (BuiltinRole::Crew, "Johan Ek", "crew"),
        (BuiltinRole::SupportAgent, "Sara Lund", "support"),
        (BuiltinRole::Accountant, "Karin Dahl", "accounts"),
        (BuiltinRole::Observer, "Nils Strand", "observer"),
        (BuiltinRole::Client, "Ingrid Customer", "client"),
    ];
    for (i, (role, name, local)) in people.into_iter().enumerate() {
        let email = format!("{local}@nordicmovers.example");
        let id = provision::create_user(
            services,
            tenant,
            NewUser {
                email: email.clone(),
                name: name.into(),
                password: password.clone(),
                kind: if role == BuiltinRole::Client {
                    UserKind::Client
                } else {
                    UserKind::Staff
                },
                roles: vec![role.key().to_owned()],
                locations: if role == BuiltinRole::Client {
                    vec![]
                } else if i % 2 == 0 {
                    vec![stockholm]
                } else {
                    vec![gothenburg]
                },
            },
        )
        .await?;
        ids.insert(role, id);
        accounts.push((role.key().to_owned(), email, password.clone()));
    }
    let id = |role: BuiltinRole| ids.get(&role).copied().context("demo user missing");
    let sales = switchyard_gateway::sales::demo::seed(
        services,
        &switchyard_gateway::sales::demo::DemoPeople {
            tenant,
            reps: vec![id(BuiltinRole::SalesRep)?, id(BuiltinRole::Manager)?],
            manager: id(BuiltinRole::Manager)?,
            client: id(BuiltinRole::Client)?,
            locations: vec![stockholm, gothenburg],
        },
    )
    .await?;
    // A crew for each location, beside the crew account above.
    let mut crew = vec![(id(BuiltinRole::Crew)?, stockholm)];
    for (n, name) in [
        "Ali Hassan",
        "Lina Forsberg",
        "Marcus Wik",
        "Tove Alm",
        "Jonas Nord",
    ]
    .into_iter()
    .enumerate()
    {
        let location = if n < 3 { stockholm } else { gothenburg };
        let id = provision::create_user(
            services,
            tenant,
            NewUser {
                email: format!("crew{}@nordicmovers.example", n + 2),
                name: name.into(),
                password: password.clone(),
                kind: UserKind::Staff,
                roles: vec![BuiltinRole::Crew.key().to_owned()],
                locations: vec![location],
            },
        )
        .await?;
        crew.push((id, location));
    }
    switchyard_gateway::notifications::demo::choose_reminders(services, tenant).await?;
    let jobs = switchyard_gateway::operations::demo::seed(
        services,
        &switchyard_gateway::operations::demo::DemoCrew {
            tenant,
            dispatcher: id(BuiltinRole::Dispatcher)?,
            crew: crew.clone(),
            converted: sales.converted.clone(),
        },
    )
    .await?;
    let people: Vec<_> = crew.iter().map(|(u, _)| *u).collect();
    let rep = id(BuiltinRole::SalesRep)?;
    let visits: Vec<_> = sales.converted.iter().take(2).map(|c| (c.0, rep)).collect();
    switchyard_gateway::scheduling::demo::seed(
        services,
        tenant,
        &[stockholm, gothenburg],
        &people,
        &visits,
    )
    .await?;
    let mut staff: Vec<_> = ids
        .iter()
        .filter(|(role, _)| **role != BuiltinRole::Client)
        .map(|(_, user)| *user)
        .chain(people.iter().copied())
        .chain([owner])
        .collect();
    staff.sort();
    staff.dedup();
    let (notices, reminders) = switchyard_gateway::notifications::demo::seed(
        services,
        tenant,
        &staff,
        id(BuiltinRole::Crew)?,
        id(BuiltinRole::Dispatcher)?,
    )
    .await?;
    // Two more portal clients, so that the desk has several people asking.
    let mut clients = vec![id(BuiltinRole::Client)?];
    for (n, name) in [(2, "Per Kund"), (3, "Lena Kund")] {
        let email = format!("client{n}@nordicmovers.example");
        let client = provision::create_user(
            services,
            tenant,
            NewUser {
                email: email.clone(),
                name: name.into(),
                password: password.clone(),
                kind: UserKind::Client,
                roles: vec![BuiltinRole::Client.key().to_owned()],
                locations: vec![],
            },
        )
        .await?;
        accounts.push(("client".to_owned(), email, password.clone()));
        clients.push(client);
    }
    let tickets = switchyard_gateway::support::demo::seed(
        services,
        &switchyard_gateway::support::demo::DemoDesk {
            tenant,
            clients,
            agent: id(BuiltinRole::SupportAgent)?,
            admin: id(BuiltinRole::Admin)?,
        },
    )
    .await?;
    Ok((accounts, sales, jobs, notices, reminders, tickets))
}
