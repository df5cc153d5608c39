//! The resolved configuration: arguments and environment read once, here.
//!
//! The library reads no environment variables and no user folders; the CLI
//! resolves them into a [`Config`] and passes what each part needs as
//! parameters (the catalog cache folder, the accounts' environment, the
//! pricing table, the reviewer's name).

use std::path::PathBuf;

use crate::accounts::{Accounts, Env};
use crate::pricing::{self, RateTable};

/// Everything the commands take from the environment, resolved once.
#[derive(Debug, Clone)]
pub struct Config {
    /// The process environment (values are secrets: `Debug` shows names).
    pub env: Env,
    /// Where catalogs and the `--sim` world are cached:
    /// `REELFLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/reelflow`, else the
    /// platform's cache folder; `None` when there is none.
    pub cache_dir: Option<PathBuf>,
    /// The accounts config file (may not exist).
    pub accounts_file: Option<PathBuf>,
    /// Who records review decisions.
    pub reviewer: String,
    /// The pricing table estimates use (`REELFLOW_PRICING_TABLE`).
    pub pricing_table: &'static RateTable,
    /// How long a cached catalog stays fresh (`REELFLOW_CATALOG_TTL`, a
    /// duration such as `10m`); `None` for the default.
    pub catalog_ttl: Option<std::time::Duration>,
}

impl Config {
    /// Reads this process's environment.
    pub fn from_process() -> Config {
        // Non-UTF-8 variables are skipped rather than panicking: none of
        // reelflow's settings can be one.
        let mut vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        if !vars.iter().any(|(k, v)| k == "HOME" && !v.is_empty())
            && let Some(home) = dirs::home_dir().and_then(|h| h.to_str().map(str::to_owned))
        {
            vars.push(("HOME".into(), home));
        }
        Config::resolve(Env::from_pairs(vars), dirs::cache_dir(), dirs::config_dir())
    }

    /// Resolves a configuration from `env` and the platform's user folders
    /// (given, so tests can resolve one without touching the machine's).
    pub fn resolve(
        env: Env,
        platform_cache: Option<PathBuf>,
        platform_config: Option<PathBuf>,
    ) -> Config {
        let cache_dir = match env.get("REELFLOW_CACHE_DIR") {
            Some(d) => Some(PathBuf::from(d)),
            None => env
                .get("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or(platform_cache)
                .map(|d| d.join("reelflow")),
        };
        let accounts_file = Accounts::default_config_path(&env, platform_config);
        let reviewer = crate::review::reviewer(|k| env.get(k).map(str::to_owned));
        let pricing_table = pricing::table_named(env.get(pricing::TABLE_ENV));
        let catalog_ttl =
            env.get("REELFLOW_CATALOG_TTL").and_then(|v| humantime::parse_duration(v).ok());
        Config { env, cache_dir, accounts_file, reviewer, pricing_table, catalog_ttl }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_prefers_reelflow_then_xdg_then_platform() {
        let c = Config::resolve(
            Env::from_pairs([("REELFLOW_CACHE_DIR", "/a"), ("XDG_CACHE_HOME", "/b")]),
            Some("/c".into()),
            None,
        );
        assert_eq!(c.cache_dir, Some(PathBuf::from("/a")));
        let c =
            Config::resolve(Env::from_pairs([("XDG_CACHE_HOME", "/b")]), Some("/c".into()), None);
        assert_eq!(c.cache_dir, Some(PathBuf::from("/b/reelflow")));
        let c = Config::resolve(Env::default(), Some("/c".into()), None);
        assert_eq!(c.cache_dir, Some(PathBuf::from("/c/reelflow")));
        assert_eq!(Config::resolve(Env::default(), None, None).cache_dir, None);
    }

    #[test]
    fn accounts_file_reviewer_and_pricing_come_from_the_environment() {
        let c = Config::resolve(
            Env::from_pairs([
                ("XDG_CONFIG_HOME", "/x"),
                ("USER", "ada"),
                ("REELFLOW_PRICING_TABLE", "b"),
            ]),
            None,
            Some("/p".into()),
        );
        assert_eq!(c.accounts_file, Some(PathBuf::from("/x/reelflow/config.toml")));
        assert_eq!(c.reviewer, "ada");
        assert_eq!(c.pricing_table.id, pricing::table_named(Some("b")).id);
        let c = Config::resolve(
            Env::from_pairs([("REELFLOW_REVIEWER", "bo"), ("USER", "ada")]),
            None,
            Some("/p".into()),
        );
        assert_eq!(c.accounts_file, Some(PathBuf::from("/p/reelflow/config.toml")));
        assert_eq!(c.reviewer, "bo");
        assert_eq!(c.pricing_table.id, pricing::table_named(None).id);
    }
}
