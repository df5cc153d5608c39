//! `reelflow accounts`.

use serde_json::json;

use super::args::AccountsArgs;
use super::context::Context;
use super::failure::Failure;
use super::output::{Table, note, print_json};
use crate::accounts::AuthKind;
use crate::exit;

/// Runs the command.
pub async fn run(ctx: &Context, args: &AccountsArgs) -> Result<u8, Failure> {
    let accounts = ctx.accounts();
    let default = accounts.default_name().to_owned();
    let mut rows = Vec::new();
    for spec in accounts.specs() {
        let available = accounts.availability(spec).map_err(|e| e.to_string());
        let check = if args.check && available.is_ok() && !ctx.simulated() {
            Some(match ctx.client(Some(&spec.name))?.me().await {
                Ok(u) => Ok(u.username),
                Err(e) => Err(e.to_string()),
            })
        } else {
            None
        };
        rows.push((spec.clone(), available, check));
    }
    if ctx.global.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(s, avail, check)| {
                json!({
                    "name": s.name,
                    "default": s.name == default,
                    "auth": s.auth,
                    "source": s.source.to_string(),
                    "defined_in": s.defined_in,
                    "base_url": s.base_url,
                    "available": avail.is_ok(),
                    "problem": avail.as_ref().err(),
                    "check": check.as_ref().map(|c| match c { Ok(u) => json!({"ok": true, "username": u}), Err(e) => json!({"ok": false, "error": e}) }),
                })
            })
            .collect();
        print_json(&json!({
            "data": list,
            "config_file": accounts.config_path().map(|p| p.display().to_string()),
            "warnings": accounts.warnings,
        }));
        return Ok(exit::SUCCESS);
    }
    let mut t = Table::new(&["ACCOUNT", "AUTH", "SECRET FROM", "DEFINED IN", "STATUS"]);
    for (s, avail, check) in &rows {
        let status = match (avail, check) {
            (Err(problem), _) => format!("missing: {problem}"),
            (Ok(()), Some(Ok(user))) => format!("ok (HeyGen user {user})"),
            (Ok(()), Some(Err(e))) => format!("rejected: {e}"),
            (Ok(()), None) => "available".into(),
        };
        let name = if s.name == default && default != crate::accounts::DEFAULT_ACCOUNT {
            format!("{} (default)", s.name)
        } else {
            s.name.clone()
        };
        let auth = match s.auth {
            AuthKind::ApiKey => "api key (X-Api-Key)",
            AuthKind::OauthToken => "oauth token (Bearer)",
        };
        t.row(vec![name, auth.into(), s.source.to_string(), s.defined_in.clone(), status]);
    }
    if t.is_empty() {
        note("no accounts configured: set HEYGEN_API_KEY for the default account, or use --sim");
    } else {
        t.print();
    }
    for w in &accounts.warnings {
        note(format!("warning: {w}"));
    }
    match accounts.config_path() {
        Some(p) if p.exists() => note(format!("config file: {}", p.display())),
        Some(p) => note(format!("config file: {} (not present)", p.display())),
        None => {}
    }
    if ctx.simulated() {
        note("--sim: every account name is a simulated account; no secrets are read");
    }
    Ok(exit::SUCCESS)
}
