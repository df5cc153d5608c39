//! Step 1, the environment: the template engine, its filters, and the
//! context one row renders in.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};
use minijinja::{Environment, UndefinedBehavior};

use crate::dataset::Header;
use crate::slug::slug;

/// Names every template may use besides columns and `vars` entries.
pub(super) const BUILTIN_NAMES: &[&str] =
    &["row", "key", "vars", "range", "dict", "namespace", "debug", "cycler", "joiner", "loop"];

/// The template environment: strict about undefined names, no escaping,
/// and the filters campaigns need.
pub(super) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A runaway template must not hang a million-row run.
    env.set_fuel(Some(100_000));
    env.add_filter("slug", |v: String| slug(&v));
    env.add_filter("first_word", |v: String| v.split_whitespace().next().unwrap_or("").to_owned());
    // Jinja's `default` only replaces undefined values; a CSV cell is never
    // undefined, just empty, so empty counts as missing too.
    let default = |v: Value, fallback: Option<Value>| -> Value {
        let missing =
            v.is_undefined() || v.is_none() || v.as_str().is_some_and(|s| s.trim().is_empty());
        if missing { fallback.unwrap_or_else(|| Value::from("")) } else { v }
    };
    env.add_filter("default", default);
    env.add_filter("d", default);
    crate::filters::register(&mut env);
    env
}

/// The template context of one row.
#[derive(Debug)]
pub(super) struct RowCtx {
    pub(super) header: Arc<Header>,
    pub(super) values: Vec<String>,
    pub(super) vars: Value,
    pub(super) key: Option<String>,
}

impl Object for RowCtx {
    fn get_value_by_str(self: &Arc<Self>, name: &str) -> Option<Value> {
        if let Some(i) = self.header.position(name) {
            return Some(Value::from(self.values[i].as_str()));
        }
        match name {
            "row" => Some(Value::from_object(RowMap(self.clone()))),
            "key" => self.key.as_deref().map(Value::from),
            "vars" => Some(self.vars.clone()),
            _ => self.vars.get_attr(name).ok().filter(|v| !v.is_undefined()),
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }
}

/// `row`: every column by name, for names that are not identifiers
/// (`row["First Name"]`).
#[derive(Debug)]
struct RowMap(Arc<RowCtx>);

impl Object for RowMap {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = self.0.header.position(key.as_str()?)?;
        Some(Value::from(self.0.values[i].as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.header.names.iter().map(|n| Value::from(n.as_str())).collect())
    }
}
