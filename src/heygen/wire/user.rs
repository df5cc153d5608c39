//! The current user and their balance (`GET /v3/users/me`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The authenticated user. Exactly one billing object is filled, as
/// `billing_type` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Username.
    pub username: String,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// `wallet`, `subscription` or `usage_based`.
    #[serde(default)]
    pub billing_type: Option<String>,
    /// Prepaid API wallet (API-key auth).
    #[serde(default)]
    pub wallet: Option<Wallet>,
    /// Web-plan credits (OAuth apps).
    #[serde(default)]
    pub subscription: Option<Subscription>,
    /// Metered billing.
    #[serde(default)]
    pub usage_based: Option<UsageBased>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Prepaid wallet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wallet {
    /// `usd` or `credits` (Enterprise).
    pub currency: String,
    /// Remaining balance in `currency`.
    #[serde(default)]
    pub remaining_balance: Option<f64>,
    /// Auto top-up.
    #[serde(default)]
    pub auto_reload: Option<AutoReload>,
}

/// Automatic wallet top-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoReload {
    /// Whether it is on.
    pub enabled: bool,
    /// Balance that triggers a reload.
    #[serde(default)]
    pub threshold_usd: Option<f64>,
    /// Amount added per reload.
    #[serde(default)]
    pub amount_usd: Option<f64>,
}

/// Subscription plan and credit pools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// Plan name (`free`, `pro`, …).
    pub plan: String,
    /// Credit pools.
    pub credits: Credits,
}

/// Credit pools of a subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credits {
    /// Premium credits.
    #[serde(default)]
    pub premium_credits: Option<CreditPool>,
    /// Add-on credits.
    #[serde(default)]
    pub add_on_credits: Option<CreditPool>,
}

/// One credit pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditPool {
    /// Remaining credits.
    #[serde(default)]
    pub remaining: Option<i64>,
    /// When the pool resets (ISO-8601).
    #[serde(default)]
    pub resets_at: Option<String>,
}

/// Usage-based billing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageBased {
    /// Spent this period.
    #[serde(default)]
    pub spending_current_usd: Option<f64>,
    /// Spending cap.
    #[serde(default)]
    pub spending_cap_usd: Option<f64>,
    /// Credits included.
    #[serde(default)]
    pub included_credits: Option<f64>,
    /// Credits remaining.
    #[serde(default)]
    pub remaining_credits: Option<f64>,
}

impl User {
    /// What is left to spend, in USD, where the billing type says so:
    /// the wallet balance, or the room under a usage cap.
    pub fn spendable_usd(&self) -> Option<f64> {
        if let Some(w) = &self.wallet
            && w.currency == "usd"
        {
            return w.remaining_balance;
        }
        let u = self.usage_based.as_ref()?;
        Some(u.spending_cap_usd? - u.spending_current_usd.unwrap_or(0.0))
    }

    /// What is left to spend in the account's own unit, for the seed's
    /// `remaining_quota`: the wallet balance, else the subscription's
    /// premium credits, else the usage-based credits, else the USD left
    /// under a spending cap.
    pub fn remaining_quota(&self) -> Option<f64> {
        self.wallet
            .as_ref()
            .and_then(|w| w.remaining_balance)
            .or_else(|| {
                let credits = self.subscription.as_ref()?.credits.premium_credits.as_ref()?;
                credits.remaining.map(|n| n as f64)
            })
            .or_else(|| self.usage_based.as_ref().and_then(|b| b.remaining_credits))
            .or_else(|| self.spendable_usd())
    }
}
