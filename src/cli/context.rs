//! What every command needs: accounts, clients, and the in-process
//! simulator when `--sim` is given.

use std::sync::Arc;

use super::args::GlobalArgs;
use super::config::Config;
use super::failure::Failure;
use crate::accounts::{Accounts, ClientError, normalize_name};
use crate::heygen::client::RetryObserver;
use crate::heygen::{Client, ClientConfig, Credential, DEFAULT_BASE_URL, Secret};
#[cfg(feature = "sim")]
use crate::sim::Simulator;

/// Builds clients for account names. Cheap to clone and shareable across
/// threads (Lua scripts run on a blocking thread).
#[derive(Clone)]
pub struct ClientMaker {
    accounts: Accounts,
    /// Under `--sim`: the simulator's URL (every account name works).
    sim_base: Option<String>,
    base_override: Option<String>,
    verbose: bool,
    /// `--account`, else the configured default.
    default_name: String,
}

impl ClientMaker {
    /// A client for the account `name`, reporting retries to `observer`.
    pub fn client(&self, name: &str, observer: Option<RetryObserver>) -> Result<Client, Failure> {
        self.try_client(name, observer).map_err(|e| match e {
            ClientError::Account(e) => e.into(),
            ClientError::Client(e) => e.into(),
        })
    }

    /// [`ClientMaker::client`] with the error as data.
    fn try_client(
        &self,
        name: &str,
        observer: Option<RetryObserver>,
    ) -> Result<Client, ClientError> {
        let name = normalize_name(name)?;
        let (base, credential) = match &self.sim_base {
            Some(base) => (base.clone(), Credential::ApiKey(Secret::new(format!("sim-{name}")))),
            None => {
                let account = self.accounts.resolve(Some(&name))?;
                let base = self
                    .base_override
                    .clone()
                    .or(account.base_url)
                    .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
                (base, account.credential)
            }
        };
        let mut config = ClientConfig::new(base, credential);
        if self.verbose {
            config.log = Some(Arc::new(|line: &str| super::output::note(line)));
        }
        if let Some(o) = observer {
            config.observer = Some(o);
        } else if self.verbose {
            config.observer = Some(Arc::new(|n: &crate::heygen::RetryNotice| {
                super::output::note(format!(
                    "retry {} of {} in {:.1}s: {}",
                    n.attempt,
                    n.request,
                    n.delay.as_secs_f64(),
                    n.error
                ));
            }));
        }
        Ok(Client::new(config)?)
    }
}

#[cfg(feature = "lua")]
impl crate::lua::AccountClients for ClientMaker {
    fn client(&self, account: Option<&str>) -> Result<Client, ClientError> {
        let name = account.unwrap_or(&self.default_name);
        self.try_client(name, None)
    }

    fn knows(&self, name: &str) -> bool {
        match normalize_name(name) {
            Ok(n) => self.sim_base.is_some() || self.accounts.specs().any(|s| s.name == n),
            Err(_) => false,
        }
    }

    fn names(&self) -> Vec<String> {
        self.accounts.specs().map(|s| s.name.clone()).collect()
    }
}

/// Resolved global options and shared resources.
pub struct Context {
    /// The global flags.
    pub global: GlobalArgs,
    /// What was resolved from the environment.
    pub config: Config,
    maker: ClientMaker,
    #[cfg(feature = "sim")]
    sim: Option<Simulator>,
}

impl Context {
    /// Loads accounts; starts the simulator for `--sim`.
    pub async fn new(global: GlobalArgs, cfg: Config) -> Result<Context, Failure> {
        let accounts = Accounts::load(cfg.env.clone(), cfg.accounts_file.clone())?;
        #[cfg(not(feature = "sim"))]
        if global.sim {
            return Err(Failure::without("the simulator (--sim)", "sim"));
        }
        #[cfg(feature = "sim")]
        let sim = if global.sim {
            let config = super::sim::config_from_env(&cfg)?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let sim = Simulator::start(config, addr).await?;
            if global.verbose {
                super::output::note(format!("simulator listening on {}", sim.base_url()));
            }
            Some(sim)
        } else {
            None
        };
        let default_name =
            global.account.clone().unwrap_or_else(|| accounts.default_name().to_owned());
        let maker = ClientMaker {
            #[cfg(feature = "sim")]
            sim_base: sim.as_ref().map(Simulator::base_url),
            #[cfg(not(feature = "sim"))]
            sim_base: None,
            base_override: global.base_url.clone(),
            verbose: global.verbose,
            default_name,
            accounts,
        };
        Ok(Context {
            global,
            config: cfg,
            maker,
            #[cfg(feature = "sim")]
            sim,
        })
    }

    /// Saves the simulator's state (under `--sim`).
    pub fn finish(&self) {
        #[cfg(feature = "sim")]
        if let Some(sim) = &self.sim
            && let Err(e) = sim.save()
        {
            super::output::note(format!("warning: could not save the simulator's state: {e}"));
        }
    }

    /// Configured accounts.
    pub fn accounts(&self) -> &Accounts {
        &self.maker.accounts
    }

    /// Whether commands talk to the in-process simulator (`--sim`).
    pub fn simulated(&self) -> bool {
        self.maker.sim_base.is_some()
    }

    /// The client maker (for work on other threads).
    #[cfg_attr(not(feature = "lua"), allow(dead_code))]
    pub fn maker(&self) -> &ClientMaker {
        &self.maker
    }

    /// The account name to use: `explicit` (a manifest's), else `--account`,
    /// else the configured default.
    pub fn account_name(&self, explicit: Option<&str>) -> Result<String, Failure> {
        let name = explicit.unwrap_or(&self.maker.default_name);
        Ok(normalize_name(name)?)
    }

    /// The account for a manifest: `--account`, else the manifest's, else
    /// the configured default.
    pub fn manifest_account(&self, manifest_account: Option<&str>) -> Result<String, Failure> {
        let name = self
            .global
            .account
            .as_deref()
            .or(manifest_account)
            .unwrap_or(self.maker.accounts.default_name());
        Ok(normalize_name(name)?)
    }

    /// A client for an account. Under `--sim` every account name is its own
    /// simulated account; no secret is read.
    pub fn client(&self, explicit: Option<&str>) -> Result<Client, Failure> {
        self.client_with(explicit, None)
    }

    /// [`Context::client`] reporting retries to `observer` (instead of
    /// `-v`'s log).
    pub fn client_with(
        &self,
        explicit: Option<&str>,
        observer: Option<RetryObserver>,
    ) -> Result<Client, Failure> {
        let name = self.account_name(explicit)?;
        self.maker.client(&name, observer)
    }
}

/// HeyGen's cap on render jobs in flight per pay-as-you-go account
/// (Enterprise: 20 or more, by contract).
pub const PAYG_JOB_CAP: usize = 10;

/// A note when `concurrency` asks for more jobs in flight than HeyGen lets
/// a pay-as-you-go account have: the extra creates are answered 429 and the
/// run backs off, so the number is not what the user will get.
pub fn concurrency_note(concurrency: usize) -> Option<String> {
    (concurrency > PAYG_JOB_CAP).then(|| {
        format!(
            "note: concurrency {concurrency} is above HeyGen's cap of {PAYG_JOB_CAP} jobs in flight per pay-as-you-go account \
             (Enterprise: by contract); creates beyond the account's cap are answered 429 and the run backs off to it"
        )
    })
}
