//! `reelflow me`.

use super::context::Context;
use super::failure::Failure;
use super::output::{Table, or_dash, print_data};
use crate::exit;

/// Runs the command.
pub async fn run(ctx: &Context) -> Result<u8, Failure> {
    let client = ctx.client(None)?;
    let user = client.me().await?;
    if ctx.global.json {
        print_data(&user);
        return Ok(exit::SUCCESS);
    }
    let mut t = Table::new(&["FIELD", "VALUE"]);
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    t.row(vec!["account".into(), ctx.account_name(None)?]);
    t.row(vec!["username".into(), user.username.clone()]);
    t.row(vec!["name".into(), or_dash(Some(&name))]);
    t.row(vec!["email".into(), or_dash(user.email.as_deref())]);
    t.row(vec!["billing".into(), or_dash(user.billing_type.as_deref())]);
    if let Some(w) = &user.wallet {
        let bal = w.remaining_balance.map(|b| format!("{b:.2} {}", w.currency.to_uppercase()));
        t.row(vec!["balance".into(), or_dash(bal.as_deref())]);
        if let Some(r) = &w.auto_reload {
            t.row(vec!["auto reload".into(), if r.enabled { "on" } else { "off" }.into()]);
        }
    }
    if let Some(s) = &user.subscription {
        t.row(vec!["plan".into(), s.plan.clone()]);
        if let Some(p) = s.credits.premium_credits.as_ref().and_then(|p| p.remaining) {
            t.row(vec!["premium credits".into(), p.to_string()]);
        }
        if let Some(p) = s.credits.add_on_credits.as_ref().and_then(|p| p.remaining) {
            t.row(vec!["add-on credits".into(), p.to_string()]);
        }
    }
    if let Some(u) = &user.usage_based {
        let spent = u.spending_current_usd.map(|v| format!("{v:.2} USD"));
        let cap = u.spending_cap_usd.map(|v| format!("{v:.2} USD"));
        t.row(vec!["spent this period".into(), or_dash(spent.as_deref())]);
        t.row(vec!["spending cap".into(), or_dash(cap.as_deref())]);
    }
    t.row(vec!["pricing table".into(), crate::pricing::active_table().short()]);
    t.print();
    Ok(exit::SUCCESS)
}
