//! Named HeyGen accounts and where their secrets come from.
//!
//! Accounts come from two places:
//!
//! * the environment: `HEYGEN_API_KEY` (or `HEYGEN_OAUTH_TOKEN`) is the
//!   `default` account, `HEYGEN_API_KEY_<NAME>` (or `HEYGEN_OAUTH_TOKEN_<NAME>`)
//!   the account `<name>`;
//! * an optional config file (`$XDG_CONFIG_HOME/reelflow/config.toml`, or
//!   `REELFLOW_CONFIG`) that names accounts and says which env var or file
//!   holds each secret. Secrets are never written in the file itself.
//!
//! A secret is read only when an account is used, and is never printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::heygen::{Credential, Secret};

/// The account used when none is named.
pub const DEFAULT_ACCOUNT: &str = "default";

/// Problems with account configuration.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name is not configured anywhere. The message names the
    /// environment variable to set, since that is what most users lack.
    #[error(
        "no API key for account `{name}`: {} is not set{}; configured accounts: {known}",
        env_name("HEYGEN_API_KEY", name),
        if name == DEFAULT_ACCOUNT { String::new() } else { format!(" and the config file has no [accounts.{name}]") }
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The account exists but its secret is not available.
    #[error("account `{name}` has no credential: {problem}")]
    Missing {
        /// Account name.
        name: String,
        /// What is missing.
        #[source]
        problem: SecretError,
    },
    /// The config file is unreadable or malformed.
    #[error("{path}: {message}")]
    Config {
        /// Config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A name with characters an env var cannot carry.
    #[error("invalid account name `{0}`: use letters, digits, `_` and `-`")]
    BadName(String),
}

/// Why an account's secret cannot be read. The messages name the variable
/// or file, never the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable the account names is not set (or empty).
    #[error("environment variable {0} is not set")]
    NotSet(String),
    /// The secret file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The variable or file holds nothing.
    #[error("{0} is empty")]
    Empty(String),
}

/// Why no client could be made for an account.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The account is unknown, misnamed or has no usable secret.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The client cannot be built (a bad base URL, …).
    #[error(transparent)]
    Client(#[from] crate::heygen::Error),
}

impl ClientError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            ClientError::Account(e) => e.hint(),
            ClientError::Client(e) => e.hint(),
        }
    }
}

impl AccountError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            AccountError::Unknown { name, .. } | AccountError::Missing { name, .. } => {
                if name == DEFAULT_ACCOUNT {
                    "set HEYGEN_API_KEY (or HEYGEN_OAUTH_TOKEN), or try `--sim` to run against the built-in simulator".into()
                } else {
                    format!(
                        "set {} or add [accounts.{name}] to the config file (`reelflow accounts` shows where it is)",
                        env_name("HEYGEN_API_KEY", name)
                    )
                }
            }
            AccountError::Config { .. } => {
                "see the README's section on accounts for the file format".into()
            }
            AccountError::BadName(_) => "account names look like `marketing` or `agency-eu`".into(),
        }
    }
}

/// How an account authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// `X-Api-Key`.
    ApiKey,
    /// `Authorization: Bearer`.
    OauthToken,
}

/// Where a secret lives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (its first line).
    File(PathBuf),
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env(v) => write!(f, "env {v}"),
            SecretSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// A configured account, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountSpec {
    /// Name (`default` or lower-case).
    pub name: String,
    /// API key or OAuth token.
    pub auth: AuthKind,
    /// Where the secret comes from.
    pub source: SecretSource,
    /// API base URL for this account, if not the public API.
    pub base_url: Option<String>,
    /// Where the account was defined: `env` or the config file.
    pub defined_in: String,
}

/// An account ready to use.
#[derive(Debug, Clone)]
pub struct ResolvedAccount {
    /// Name.
    pub name: String,
    /// Credential (Debug-redacted).
    pub credential: Credential,
    /// Base URL override from the config file.
    pub base_url: Option<String>,
}

/// The environment variables reelflow reads, captured once (tests pass
/// their own). Their values include secrets, so `Debug` shows names only.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").field("names", &self.vars.keys().collect::<Vec<_>>()).finish()
    }
}

impl Env {
    /// An environment from pairs.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// A variable's value, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str).filter(|v| !v.trim().is_empty())
    }
}

/// `HEYGEN_API_KEY` for `default`, `HEYGEN_API_KEY_MARKETING` for `marketing`.
pub fn env_name(prefix: &str, account: &str) -> String {
    if account == DEFAULT_ACCOUNT {
        prefix.to_owned()
    } else {
        format!("{prefix}_{}", account.to_ascii_uppercase().replace('-', "_"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    default_account: Option<String>,
    #[serde(default)]
    accounts: BTreeMap<String, AccountEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    oauth_token_env: Option<String>,
    oauth_token_file: Option<PathBuf>,
    base_url: Option<String>,
}

/// All configured accounts.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    specs: BTreeMap<String, AccountSpec>,
    default_name: Option<String>,
    config_path: Option<PathBuf>,
    env: Env,
    /// Notes for the user (both a key and a token set, …).
    pub warnings: Vec<String>,
}

impl Accounts {
    /// The config file reelflow reads: `REELFLOW_CONFIG`, else
    /// `$XDG_CONFIG_HOME/reelflow/config.toml`, else
    /// `<user_config_dir>/reelflow/config.toml` (the platform's folder,
    /// resolved by the caller).
    pub fn default_config_path(env: &Env, user_config_dir: Option<PathBuf>) -> Option<PathBuf> {
        if let Some(p) = env.get("REELFLOW_CONFIG") {
            return Some(PathBuf::from(p));
        }
        let base = env.get("XDG_CONFIG_HOME").map(PathBuf::from).or(user_config_dir)?;
        Some(base.join("reelflow").join("config.toml"))
    }

    /// Discovers accounts from `env` and the config file at `config_path`
    /// (a missing file is fine).
    pub fn load(env: Env, config_path: Option<PathBuf>) -> Result<Self, AccountError> {
        let mut accounts = Accounts { env, config_path: config_path.clone(), ..Default::default() };
        if let Some(path) = config_path.as_deref().filter(|p| p.exists()) {
            accounts.read_config(path)?;
        }
        accounts.read_env();
        Ok(accounts)
    }

    fn read_config(&mut self, path: &Path) -> Result<(), AccountError> {
        let err = |message: String| AccountError::Config { path: path.to_owned(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        // toml's own message quotes the offending source line, which may be
        // a secret pasted in by mistake: report only where and what.
        let raw: toml::Table = toml::from_str(&text).map_err(|e| {
            let line =
                e.span().map(|sp| text[..sp.start.min(text.len())].matches('\n').count() + 1);
            err(match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_owned(),
            })
        })?;
        // Catch an inline secret before serde's generic "unknown field".
        if let Some(toml::Value::Table(accts)) = raw.get("accounts") {
            for (name, entry) in accts {
                if let toml::Value::Table(entry) = entry {
                    for bad in ["api_key", "oauth_token", "token", "key", "secret"] {
                        if entry.contains_key(bad) {
                            return Err(err(format!(
                                "[accounts.{name}] has `{bad}`: secrets are never stored in the config file; \
                                 use `api_key_env`/`api_key_file` (or `oauth_token_env`/`oauth_token_file`)"
                            )));
                        }
                    }
                }
            }
        }
        let file: ConfigFile =
            raw.try_into().map_err(|e: toml::de::Error| err(e.message().to_owned()))?;
        for (name, entry) in file.accounts {
            let name = normalize_name(&name)?;
            let mut sources = Vec::new();
            if let Some(v) = entry.api_key_env {
                sources.push((AuthKind::ApiKey, SecretSource::Env(v)));
            }
            if let Some(p) = entry.api_key_file {
                sources.push((
                    AuthKind::ApiKey,
                    SecretSource::File(expand_home(&p, self.env.get("HOME"))),
                ));
            }
            if let Some(v) = entry.oauth_token_env {
                sources.push((AuthKind::OauthToken, SecretSource::Env(v)));
            }
            if let Some(p) = entry.oauth_token_file {
                sources.push((
                    AuthKind::OauthToken,
                    SecretSource::File(expand_home(&p, self.env.get("HOME"))),
                ));
            }
            let (auth, source) = match sources.len() {
                1 => sources.remove(0),
                0 => {
                    return Err(err(format!(
                        "[accounts.{name}] needs one of api_key_env, api_key_file, oauth_token_env, oauth_token_file"
                    )));
                }
                _ => {
                    return Err(err(format!(
                        "[accounts.{name}] names more than one secret; an account uses exactly one"
                    )));
                }
            };
            self.specs.insert(
                name.clone(),
                AccountSpec {
                    name,
                    auth,
                    source,
                    base_url: entry.base_url,
                    defined_in: path.display().to_string(),
                },
            );
        }
        if let Some(d) = file.default_account {
            self.default_name = Some(normalize_name(&d)?);
        }
        Ok(())
    }

    fn read_env(&mut self) {
        let mut found: BTreeMap<String, Vec<(AuthKind, String)>> = BTreeMap::new();
        for key in self.env.vars.keys() {
            let parsed = [
                ("HEYGEN_API_KEY", AuthKind::ApiKey),
                ("HEYGEN_OAUTH_TOKEN", AuthKind::OauthToken),
            ]
            .into_iter()
            .find_map(|(prefix, kind)| {
                let rest = key.strip_prefix(prefix)?;
                let name = if rest.is_empty() {
                    DEFAULT_ACCOUNT.to_owned()
                } else {
                    rest.strip_prefix('_')?.to_ascii_lowercase().replace('_', "-")
                };
                Some((name, kind))
            });
            if let Some((name, kind)) = parsed
                && self.env.get(key).is_some()
            {
                found.entry(name).or_default().push((kind, key.clone()));
            }
        }
        for (name, mut options) in found {
            if self.specs.contains_key(&name) {
                continue; // the config file is explicit and wins
            }
            if options.len() > 1 {
                self.warnings.push(format!(
                    "account `{name}`: both an API key and an OAuth token are set; using the API key"
                ));
                options.retain(|(k, _)| *k == AuthKind::ApiKey);
            }
            let (auth, var) = options.remove(0);
            self.specs.insert(
                name.clone(),
                AccountSpec {
                    name,
                    auth,
                    source: SecretSource::Env(var),
                    base_url: None,
                    defined_in: "env".into(),
                },
            );
        }
    }

    /// Configured accounts, by name.
    pub fn specs(&self) -> impl Iterator<Item = &AccountSpec> {
        self.specs.values()
    }

    /// The config file consulted, if any.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// The account used when none is named.
    pub fn default_name(&self) -> &str {
        self.default_name.as_deref().unwrap_or(DEFAULT_ACCOUNT)
    }

    /// Whether `spec`'s secret can be read, and if not, why.
    pub fn availability(&self, spec: &AccountSpec) -> Result<(), SecretError> {
        self.read_secret(spec).map(|_| ())
    }

    fn read_secret(&self, spec: &AccountSpec) -> Result<Secret, SecretError> {
        let secret = match &spec.source {
            SecretSource::Env(var) => self
                .env
                .get(var)
                .map(Secret::new)
                .ok_or_else(|| SecretError::NotSet(var.clone()))?,
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| SecretError::Unreadable { path: path.clone(), source })?;
                Secret::new(text.lines().next().unwrap_or(""))
            }
        };
        if secret.is_empty() {
            return Err(SecretError::Empty(spec.source.to_string()));
        }
        Ok(secret)
    }

    /// The account `name` (or the default), with its secret read.
    pub fn resolve(&self, name: Option<&str>) -> Result<ResolvedAccount, AccountError> {
        let name = normalize_name(name.unwrap_or(self.default_name()))?;
        let spec = self.specs.get(&name).ok_or_else(|| AccountError::Unknown {
            name: name.clone(),
            known: if self.specs.is_empty() {
                "none".into()
            } else {
                self.specs.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        })?;
        let secret = self
            .read_secret(spec)
            .map_err(|problem| AccountError::Missing { name: name.clone(), problem })?;
        let credential = match spec.auth {
            AuthKind::ApiKey => Credential::ApiKey(secret),
            AuthKind::OauthToken => Credential::OAuthToken(secret),
        };
        Ok(ResolvedAccount { name, credential, base_url: spec.base_url.clone() })
    }
}

/// Lower-cases and checks an account name.
pub fn normalize_name(name: &str) -> Result<String, AccountError> {
    let n = name.trim().to_ascii_lowercase().replace('_', "-");
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AccountError::BadName(name.to_owned()));
    }
    Ok(n)
}

/// `~/x` under `home` (the environment's `HOME`, as the caller gave it).
fn expand_home(p: &Path, home: Option<&str>) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => home.map(|h| Path::new(h).join(rest)).unwrap_or_else(|| p.to_owned()),
        Err(_) => p.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_defines_default_and_named_accounts() {
        let env = Env::from_pairs([
            ("HEYGEN_API_KEY", "k0"),
            ("HEYGEN_API_KEY_MARKETING", "k1"),
            ("HEYGEN_OAUTH_TOKEN_AGENCY_EU", "t2"),
            ("HEYGEN_API_KEY_EMPTY", ""),
        ]);
        let a = Accounts::load(env, None).unwrap();
        let names: Vec<&str> = a.specs().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["agency-eu", "default", "marketing"]);
        let m = a.resolve(Some("MARKETING")).unwrap();
        assert_eq!(m.credential, Credential::ApiKey(Secret::new("k1")));
        assert!(matches!(
            a.resolve(Some("agency-eu")).unwrap().credential,
            Credential::OAuthToken(_)
        ));
        assert!(matches!(a.resolve(Some("nope")), Err(AccountError::Unknown { .. })));
    }

    #[test]
    fn config_file_names_sources_and_refuses_inline_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("agency.key");
        std::fs::write(&key_file, "secret-from-file\n").unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(
            &cfg,
            format!(
                "default_account = \"agency\"\n[accounts.agency]\napi_key_file = \"{}\"\n[accounts.ops]\noauth_token_env = \"OPS_TOKEN\"\n",
                key_file.display()
            ),
        )
        .unwrap();
        let a = Accounts::load(Env::default(), Some(cfg.clone())).unwrap();
        let r = a.resolve(None).unwrap();
        assert_eq!(
            (r.name.as_str(), r.credential.clone()),
            ("agency", Credential::ApiKey(Secret::new("secret-from-file")))
        );
        let ops = a.specs().find(|s| s.name == "ops").unwrap();
        let problem = a.availability(ops).unwrap_err();
        assert!(matches!(&problem, SecretError::NotSet(v) if v == "OPS_TOKEN"), "{problem}");

        std::fs::write(&cfg, "[accounts.bad]\napi_key = \"sk_live\"\n").unwrap();
        let e = Accounts::load(Env::default(), Some(cfg.clone())).unwrap_err().to_string();
        assert!(e.contains("secrets are never stored") && !e.contains("sk_live"), "{e}");
        // A secret pasted without quotes is a TOML syntax error; its message
        // must not quote the line.
        std::fs::write(&cfg, "[accounts.bad]\napi_key_env = sk_live_unquoted\n").unwrap();
        let e = Accounts::load(Env::default(), Some(cfg)).unwrap_err().to_string();
        assert!(e.contains("line 2") && !e.contains("sk_live_unquoted"), "{e}");
        let env = Env::from_pairs([("HEYGEN_API_KEY", "sk_debug_secret")]);
        assert!(
            !format!("{env:?} {:?}", Accounts::load(env.clone(), None).unwrap())
                .contains("sk_debug_secret")
        );
    }
}
