//! Command-line arguments (clap derive). Parsing only: meaning is given in
//! the command modules.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  reelflow run manifests/onboarding/manifest.yaml --sim       render a whole campaign on the simulator
  reelflow run campaign.yaml --yes --shard 2/4                 one CI matrix job of four
  reelflow status campaign.yaml --wait                         follow what an earlier run left rendering
  reelflow validate manifests/onboarding/manifest.yaml --sim   check every row against the simulator's catalog
  reelflow plan manifests/onboarding/manifest.yaml --sim       what a run would create and what it would cost
  reelflow render manifests/onboarding/manifest.yaml --row ada@example.com
  reelflow --sim avatars                 list avatar looks (the ids videos use) on the simulator
  reelflow voices --language English     voices of one language, from your HeyGen account
  reelflow --sim videos create --body video.json --wait
  reelflow accounts                      configured accounts and where their secrets come from
  reelflow sim serve --addr 127.0.0.1:8080

Without --sim, commands talk to api.heygen.com with HEYGEN_API_KEY (or the
account named by --account). Exit codes are listed in the README.";

/// `reelflow --version`: the package version, the git commit and the build
/// date (stamped by build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("REELFLOW_GIT_COMMIT"),
    " ",
    env!("REELFLOW_BUILD_DATE"),
    ")"
);

/// reelflow: HeyGen v3 video pipelines, and the HeyGen API at your fingertips.
#[derive(Debug, Parser)]
#[command(name = "reelflow", version = VERSION, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Use the built-in HeyGen simulator (no account, no network, no cost)
    #[arg(long, global = true)]
    pub sim: bool,
    /// HeyGen API base URL [default: https://api.heygen.com]
    #[arg(long, global = true, env = "HEYGEN_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Account to use (see `reelflow accounts`) [default: the config's default_account, else `default`]
    #[arg(long, global = true, env = "REELFLOW_ACCOUNT", value_name = "NAME")]
    pub account: Option<String>,
    /// Machine output: JSON on stdout, JSON error envelope on stderr
    #[arg(long, global = true)]
    pub json: bool,
    /// Show retries and requests on stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List avatar looks (their ids go in `avatar_id`), or avatar groups
    Avatars(AvatarsArgs),
    /// List voices
    Voices(VoicesArgs),
    /// List templates, or show one with its variables
    Templates(TemplatesArgs),
    /// Show the current user, billing type and remaining balance
    Me,
    /// Create, inspect and list videos
    #[command(subcommand)]
    Videos(VideosCommand),
    /// Check a manifest and its CSV: every row, offline rules and your catalog; submits nothing
    Validate(ValidateArgs),
    /// Print the exact v3 request bodies a manifest produces
    Render(RenderArgs),
    /// Show what a run would do (new / changed / unchanged / orphaned) and what it would cost
    Plan(PlanArgs),
    /// Render a campaign: validate, plan, confirm, submit, follow, download, record results
    Run(RunArgs),
    /// Follow videos a run left rendering and fetch their downloads; submits nothing new
    Status(StatusArgs),
    /// Export the results manifest (shards merged) as csv, json or yaml
    Results(ResultsArgs),
    /// Write one self-contained HTML report of a campaign (rows, videos, errors, spend)
    Report(ReportArgs),
    /// Review rendered videos in a local page: approve or reject each, with a note
    Review(ReviewArgs),
    /// Print the manifest JSON Schema (schema.json)
    Schema,
    /// Show configured accounts and how each authenticates (never the secret)
    Accounts(AccountsArgs),
    /// Run a Lua script written for the KosmoKrator HeyGen integration (app.integrations.heygen.*)
    Lua(LuaArgs),
    /// Print the Lua API reference (the page lua_read_doc returns), e.g. integrations.heygen.create_video
    Doc {
        /// Page: integrations.heygen or integrations.heygen.<function>
        #[arg(default_value = "integrations.heygen")]
        page: String,
    },
    /// The local HeyGen v3 simulator: serve it, or reset and refill the --sim world
    #[command(subcommand)]
    Sim(SimCommand),
    /// Start a campaign: a manifest and a CSV using real ids from your catalog (or the simulator's)
    Init(InitArgs),
    /// Print a shell completion script: bash, zsh, fish or powershell
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `reelflow man > reelflow.1`
    Man,
}

/// `reelflow init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the campaign in (created if missing; files in it are never overwritten)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Campaign name [default: the folder's name]
    #[arg(long)]
    pub name: Option<String>,
}

/// `reelflow avatars`.
#[derive(Debug, Args)]
pub struct AvatarsArgs {
    /// List avatar groups (characters) instead of looks
    #[arg(long)]
    pub groups: bool,
    /// Only looks of this group
    #[arg(long, value_name = "GROUP_ID", conflicts_with = "groups")]
    pub group: Option<String>,
    /// Only looks of this type
    #[arg(long = "type", value_enum, conflicts_with = "groups")]
    pub kind: Option<AvatarKindArg>,
    /// Only public (stock) or private (your own) avatars
    #[arg(long, value_enum)]
    pub ownership: Option<OwnershipArg>,
}

/// Avatar types.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AvatarKindArg {
    /// HeyGen stock avatars
    StudioAvatar,
    /// Trained video avatars
    DigitalTwin,
    /// Photo avatars
    PhotoAvatar,
}

/// Public or private.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OwnershipArg {
    /// HeyGen's stock items
    Public,
    /// Your own
    Private,
}

/// `reelflow voices`.
#[derive(Debug, Args)]
pub struct VoicesArgs {
    /// Only voices of this language, e.g. English
    #[arg(long)]
    pub language: Option<String>,
    /// Only `male` or `female` voices
    #[arg(long, value_parser = ["male", "female"])]
    pub gender: Option<String>,
    /// Only public voices or only your private clones [default: both]
    #[arg(long = "type", value_enum)]
    pub kind: Option<OwnershipArg>,
    /// Only voices usable with this engine (the `engine_type`s of `voice_settings`)
    #[arg(long, value_parser = ["starfish", "elevenlabs", "fish"])]
    pub engine: Option<String>,
}

/// Offset paging, as the seed functions take it.
#[derive(Debug, Clone, Args)]
pub struct PagingArgs {
    /// Items to show (1-100)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=100))]
    pub limit: i64,
    /// Items to skip
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
    /// Every item, all pages
    #[arg(long, conflicts_with_all = ["limit", "offset"])]
    pub all: bool,
}

/// `reelflow templates`.
#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// Show this template with its variables and scenes
    pub template_id: Option<String>,
    /// Paging of the list.
    #[command(flatten)]
    pub paging: PagingArgs,
}

/// `reelflow videos …`.
#[derive(Debug, Subcommand)]
pub enum VideosCommand {
    /// Create a video from a JSON body (a v3 body, or the seed's {video_inputs, dimension, test})
    Create(CreateArgs),
    /// Show a video's status, URLs and failure details
    Get {
        /// Video id
        video_id: String,
        /// Also download the finished video to FILE
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List videos, newest first
    List {
        /// Paging.
        #[command(flatten)]
        paging: PagingArgs,
    },
    /// Delete a video (permanent)
    Delete {
        /// Video id
        video_id: String,
    },
}

/// `reelflow videos create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// JSON body file, or `-` for stdin
    #[arg(long, value_name = "FILE")]
    pub body: PathBuf,
    /// Wait for the render to finish (exit 6 if it is still rendering at --timeout)
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits
    #[arg(long, default_value = "20m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Validate against HeyGen's rules and your catalog, create nothing (v3 has no test mode)
    #[arg(long, alias = "test")]
    pub dry_run: bool,
    /// Idempotency-Key to send [default: a fresh one per invocation]
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Download the finished video to FILE (with --wait)
    #[arg(long, short, value_name = "FILE", requires = "wait")]
    pub output: Option<PathBuf>,
}

/// How `validate` and `plan` consult the catalog.
#[derive(Debug, Clone, Args)]
pub struct CatalogArgs {
    /// Skip catalog checks (no network): only HeyGen's documented rules are checked
    #[arg(long)]
    pub offline: bool,
    /// Fetch the catalog even if the cached copy is fresh
    #[arg(long, conflicts_with = "offline")]
    pub refresh_catalog: bool,
}

/// `reelflow validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Catalog options.
    #[command(flatten)]
    pub catalog: CatalogArgs,
}

/// `reelflow render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Only the row with this key
    #[arg(long, value_name = "KEY")]
    pub row: Option<String>,
}

/// `reelflow plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Catalog options.
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Count failed rows as to be resubmitted
    #[arg(long)]
    pub retry_failed: bool,
    /// List each row a run would submit or follow (new, changed, …) and why
    #[arg(long)]
    pub rows: bool,
}

/// `reelflow run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Most render jobs in flight [default: run.concurrency, else 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: Option<u32>,
    /// Stop launching once this run's estimated spend would pass USD [default: run.max_cost_usd]
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Do not ask for confirmation before spending (needed off a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Do not download finished videos
    #[arg(long)]
    pub no_download: bool,
    /// Resubmit rows that failed in an earlier run
    #[arg(long)]
    pub retry_failed: bool,
    /// Exit 0 even though failed or refused rows remain (otherwise exit 5 until they are retried)
    #[arg(long, conflicts_with = "retry_failed")]
    pub accept_failed: bool,
    /// Only the rows of shard I of N (by key hash), with its own results file
    #[arg(long, value_name = "I/N", value_parser = crate::plan::Shard::parse)]
    pub shard: Option<crate::plan::Shard>,
    /// Stop waiting after this long [default: run.poll.timeout, else 60m]
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Catalog options.
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Also write a JUnit XML report (one test case per row) for CI
    #[arg(long, value_name = "FILE")]
    pub report_junit: Option<PathBuf>,
    /// Render only N rows chosen to cover every avatar, voice, scene layout and language
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sample: Option<u64>,
    /// Render rejected videos again (see `reelflow review`)
    #[arg(long)]
    pub retry_rejected: bool,
}

/// `reelflow status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Keep following until every video is done (or the timeout)
    #[arg(long)]
    pub wait: bool,
    /// The shard whose results to refresh
    #[arg(long, value_name = "I/N", value_parser = crate::plan::Shard::parse)]
    pub shard: Option<crate::plan::Shard>,
    /// Do not download finished videos
    #[arg(long)]
    pub no_download: bool,
    /// Also write a JUnit XML report (one test case per row) for CI
    #[arg(long, value_name = "FILE")]
    pub report_junit: Option<PathBuf>,
    /// Exit 0 even though failed or refused rows remain (otherwise exit 5)
    #[arg(long)]
    pub accept_failed: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ResultsFormat {
    /// One line per row, for spreadsheets
    Csv,
    /// The results manifest
    Json,
    /// The results manifest as YAML
    Yaml,
}

/// `reelflow results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Output format [default: csv; json with --json]
    #[arg(long, value_enum)]
    pub format: Option<ResultsFormat>,
    /// Only rows whose current video was approved in review (for the mail merge)
    #[arg(long)]
    pub approved: bool,
}

/// `reelflow report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Where to write the HTML [default: beside the results, <name>.report.html]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not fetch the catalog for avatar and voice names (ids only)
    #[arg(long)]
    pub offline: bool,
}

/// `reelflow review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The manifest YAML
    pub manifest: PathBuf,
    /// Port on 127.0.0.1 [default: a free one, printed]
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Open the page in the default browser
    #[arg(long)]
    pub open: bool,
    /// Do not fetch the catalog for avatar and voice names (ids only)
    #[arg(long)]
    pub offline: bool,
}

/// `reelflow lua`.
#[derive(Debug, Args)]
pub struct LuaArgs {
    /// The script (`-` for stdin)
    pub script: PathBuf,
    /// Every create_video validates without creating (as `test = true` does)
    #[arg(long)]
    pub dry_run: bool,
    /// Stop the script after this many VM instructions
    #[arg(long, default_value_t = 200_000_000)]
    pub max_instructions: u64,
    /// Lua memory limit, MiB
    #[arg(long, default_value_t = 256)]
    pub max_memory_mib: usize,
    /// Stop the script after this long (wall clock), e.g. 30s, 10m
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

/// `reelflow accounts`.
#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// Also call /v3/users/me with each account to check its credential
    #[arg(long)]
    pub check: bool,
}

/// `reelflow sim …`.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulator until Ctrl-C
    Serve(Box<ServeArgs>),
    /// Forget every video, account and wallet of the --sim world (ids are never reused)
    Reset,
    /// Show the --sim world's wallets, or set them with --set (all, or --account's)
    Wallet(SimWalletArgs),
}

/// `reelflow sim wallet`.
#[derive(Debug, Args)]
pub struct SimWalletArgs {
    /// Set every account's wallet (and new accounts') to this many USD; with --account, only that one's
    #[arg(long, value_name = "USD")]
    pub set: Option<f64>,
}

const SERVE_HELP: &str = "\
Timing knobs (all deterministic from --seed):
  render times   --render-secs 30 --render-jitter 0.2        uniform ±20 %
                 --render-sigma 0.5                          log-normal, same mean, long right tail
                 --render-tail-rate 0.05 --render-tail-factor 3
                                                             5 % of renders take 3× the mean
  job cap        --max-jobs 5                                429 rate_limit_exceeded + Retry-After
  slow answers   --delay all=3%:120                          3 % of responses held 120 s
                 --delay statuses=0.05:30 --delay create=1%:60
                 classes: create, statuses, detail, list, media, other, all
  time           --clock-scale 30                            the simulator's clock runs 30× faster
                                                             (render times, delays, Retry-After, URL expiry)
Under --sim the same knobs are environment variables:
  REELFLOW_SIM_RENDER_SECS  REELFLOW_SIM_RENDER_JITTER  REELFLOW_SIM_RENDER_SIGMA
  REELFLOW_SIM_RENDER_TAIL_RATE  REELFLOW_SIM_RENDER_TAIL_FACTOR  REELFLOW_SIM_MAX_JOBS
  REELFLOW_SIM_DELAY (e.g. \"all=3%:120\")  REELFLOW_SIM_RATE_LIMIT_RATE  REELFLOW_SIM_FAIL_RATE
  REELFLOW_SIM_SEED  REELFLOW_SIM_BALANCE_USD";

/// `reelflow sim serve`.
#[derive(Debug, Args)]
#[command(after_help = SERVE_HELP)]
pub struct ServeArgs {
    /// Address to listen on (loopback recommended)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Mean render time per video, seconds
    #[arg(long, default_value_t = 30.0)]
    pub render_secs: f64,
    /// Uniform spread of render times (0.2 = ±20%)
    #[arg(long, default_value_t = 0.0)]
    pub render_jitter: f64,
    /// Log-normal spread of render times instead (σ; the mean is kept; 0 = off)
    #[arg(long, default_value_t = 0.0)]
    pub render_sigma: f64,
    /// Share of renders in the heavy tail
    #[arg(long, default_value_t = 0.0)]
    pub render_tail_rate: f64,
    /// A tail render takes this multiple of the mean
    #[arg(long, default_value_t = 3.0)]
    pub render_tail_factor: f64,
    /// Render jobs in flight per key before 429 (HeyGen pay-as-you-go: 10)
    #[arg(long, default_value_t = 10)]
    pub max_jobs: usize,
    /// Share of renders that fail with rendering_failed
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Share of API requests answered 503
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Share of API requests answered 200 with an error body
    #[arg(long, default_value_t = 0.0)]
    pub error_body_rate: f64,
    /// Share of API requests whose connection is dropped
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Share of API requests answered 429 rate_limit_exceeded whatever the job cap
    #[arg(long, default_value_t = 0.0)]
    pub rate_limit_rate: f64,
    /// Share of API requests answered slowly
    #[arg(long, default_value_t = 0.0)]
    pub slow_rate: f64,
    /// How slow a slow answer is, ms
    #[arg(long, default_value_t = 5000)]
    pub slow_ms: u64,
    /// Slow or hung responses per endpoint class: CLASS=RATE:SECS (repeatable)
    #[arg(long, value_name = "CLASS=RATE:SECS")]
    pub delay: Vec<String>,
    /// How long a create takes to answer, ms
    #[arg(long, default_value_t = 0)]
    pub create_latency_ms: u64,
    /// Run the simulator's clock this many times faster than real time
    #[arg(long, default_value_t = 1.0)]
    pub clock_scale: f64,
    /// Starting wallet of every API key, USD
    #[arg(long, default_value_t = 100.0)]
    pub balance_usd: f64,
    /// Lifetime of presigned media URLs, seconds
    #[arg(long, default_value_t = 604_800.0)]
    pub url_ttl_secs: f64,
    /// Seed of every random choice
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Accept only this API key (repeatable) and answer others 401, to rehearse a wrong key [default: any]
    #[arg(long, value_name = "KEY")]
    pub api_key: Vec<String>,
}
