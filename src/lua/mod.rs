//! `app.integrations.heygen.*` for Lua scripts written against the
//! KosmoKrator HeyGen integration, run unchanged on reelflow's client.
//!
//! Scripts run in a sandbox: Lua 5.4 with string, table, math, utf8 and
//! coroutine, `os.time`/`os.date`/`os.clock` only (no files, processes,
//! environment or module loading), an instruction limit and a memory
//! limit. `print` writes to stdout (stderr with `--json`).

pub mod functions;

use std::sync::{Arc, Mutex};

use mlua::{HookTriggers, Lua, LuaOptions, LuaSerdeExt, StdLib, Table, Value, VmState};
use serde_json::{Value as Json, json};

use crate::heygen::Client;
use crate::integration::{self, CreateOutcome, CreateVideoInput, IntegrationError, OffsetParams};
use functions::{FUNCTIONS, FunctionDef, ParamKind};

/// Gives a client per account name (`None` is the default account).
pub trait AccountClients: Send + Sync {
    /// The client of `account`.
    fn client(&self, account: Option<&str>) -> Result<Client, String>;
    /// Whether `name` is an account scripts may address.
    fn knows(&self, name: &str) -> bool;
    /// Configured account names, for error messages.
    fn names(&self) -> Vec<String>;
}

/// How a script runs.
#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// Every `create_video` validates without creating.
    pub dry_run: bool,
    /// VM instructions before the script is stopped.
    pub max_instructions: u64,
    /// Bytes of Lua memory before allocation fails.
    pub max_memory: usize,
    /// `print` goes to stderr (so stdout carries only JSON).
    pub print_to_stderr: bool,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        ScriptOptions {
            dry_run: false,
            max_instructions: 200_000_000,
            max_memory: 256 << 20,
            print_to_stderr: false,
        }
    }
}

/// Why a script stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// It does not compile.
    #[error("{0}")]
    Syntax(String),
    /// It raised an error nobody caught.
    #[error("{message}")]
    Runtime {
        /// Lua's message, with file and line.
        message: String,
        /// When a HeyGen error caused it: the CLI exit code for that error.
        api_exit: Option<u8>,
    },
    /// The sandbox could not be set up.
    #[error("cannot start Lua: {0}")]
    Setup(String),
}

/// State shared by the bindings of one script run.
struct Shared {
    clients: Arc<dyn AccountClients>,
    handle: tokio::runtime::Handle,
    opts: ScriptOptions,
    /// The last HeyGen error raised into Lua, to pick the exit code if the
    /// script does not catch it.
    last_api_error: Mutex<Option<(String, u8)>>,
}

/// Runs `source` (named `chunk_name` in messages). Call from a blocking
/// thread: bindings wait on `handle` for HeyGen's answers. Returns what the
/// script returns, as JSON.
pub fn run(
    source: &str,
    chunk_name: &str,
    clients: Arc<dyn AccountClients>,
    opts: ScriptOptions,
    handle: tokio::runtime::Handle,
) -> Result<Json, ScriptError> {
    let lua = sandbox(&opts).map_err(|e| ScriptError::Setup(e.to_string()))?;
    let shared = Arc::new(Shared { clients, handle, opts, last_api_error: Mutex::new(None) });
    install(&lua, &shared).map_err(|e| ScriptError::Setup(e.to_string()))?;
    let chunk = lua.load(source).set_name(format!("@{chunk_name}"));
    let function = chunk.into_function().map_err(|e| ScriptError::Syntax(clean(&e)))?;
    match function.call::<Value>(()) {
        Ok(v) => Ok(to_json(&lua, v)),
        Err(e) => {
            let message = clean(&e);
            let api_exit = shared
                .last_api_error
                .lock()
                .ok()
                .and_then(|g| g.clone())
                .filter(|(m, _)| message.contains(m.as_str()))
                .map(|(_, code)| code);
            Err(ScriptError::Runtime { message, api_exit })
        }
    }
}

/// A Lua error's message without mlua's traceback decoration.
fn clean(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return clean(cause),
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        other => other.to_string(),
    };
    text.split("\nstack traceback:").next().unwrap_or(&text).trim().to_owned()
}

fn to_json(lua: &Lua, v: Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        other => lua.from_value(other).unwrap_or(Json::Null),
    }
}

/// A Lua state with only safe libraries and the limits applied.
fn sandbox(opts: &ScriptOptions) -> mlua::Result<Lua> {
    let libs = StdLib::STRING
        | StdLib::TABLE
        | StdLib::MATH
        | StdLib::UTF8
        | StdLib::COROUTINE
        | StdLib::OS;
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    let g = lua.globals();
    // No files, no code loading, no process or environment access.
    for name in ["dofile", "loadfile", "load", "require", "collectgarbage"] {
        g.set(name, Value::Nil)?;
    }
    let os: Table = g.get("os")?;
    for name in ["execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"] {
        os.set(name, Value::Nil)?;
    }
    lua.set_memory_limit(opts.max_memory)?;
    let step = 10_000u32;
    let budget = (opts.max_instructions / u64::from(step)).max(1);
    let used = std::sync::atomic::AtomicU64::new(0);
    let max = opts.max_instructions;
    lua.set_hook(HookTriggers::new().every_nth_instruction(step), move |_, _| {
        if used.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 > budget {
            return Err(mlua::Error::runtime(format!(
                "the script ran past its limit of {max} instructions"
            )));
        }
        Ok(VmState::Continue)
    })?;
    Ok(lua)
}

/// Defines `print`, `lua_read_doc` and `app.integrations.heygen`.
fn install(lua: &Lua, shared: &Arc<Shared>) -> mlua::Result<()> {
    let g = lua.globals();
    let to_stderr = shared.opts.print_to_stderr;
    g.set(
        "print",
        lua.create_function(move |lua, args: mlua::MultiValue| {
            let tostring: mlua::Function = lua.globals().get("tostring")?;
            let mut parts = Vec::with_capacity(args.len());
            for a in args {
                parts.push(tostring.call::<String>(a)?);
            }
            let line = parts.join("\t");
            if to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            Ok(())
        })?,
    )?;
    g.set(
        "lua_read_doc",
        lua.create_function(|_, page: Option<String>| {
            let page = page.unwrap_or_else(|| "integrations.heygen".into());
            functions::doc(&page).ok_or_else(|| {
                mlua::Error::runtime(format!(
                    "no doc page `{page}`; pages: {}",
                    functions::doc_pages().join(", ")
                ))
            })
        })?,
    )?;
    let heygen = namespace(lua, shared, None)?;
    // Any other key is an account namespace, or a mistake worth explaining.
    let meta = lua.create_table()?;
    let s = shared.clone();
    let index = lua.create_function(
        move |lua, (_, key): (Table, String)| -> mlua::Result<(bool, Value)> {
            if key == "default" {
                return Ok((true, Value::Table(namespace(lua, &s, None)?)));
            }
            let function_typo =
                crate::diag::did_you_mean(&key, FUNCTIONS.iter().map(|f| f.name)).is_some();
            if s.clients.knows(&key) && !function_typo {
                return Ok((true, Value::Table(namespace(lua, &s, Some(key))?)));
            }
            Ok((false, Value::String(lua.create_string(unknown_name(&key, &s.clients.names()))?)))
        },
    )?;
    meta.set("__index", checked(lua, index)?)?;
    heygen.set_metatable(Some(meta))?;
    let integrations = lua.create_table()?;
    integrations.set("heygen", heygen)?;
    let app = lua.create_table()?;
    app.set("integrations", integrations)?;
    g.set("app", app)?;
    Ok(())
}

fn unknown_name(key: &str, accounts: &[String]) -> String {
    let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    names.extend(accounts.iter().map(String::as_str));
    let hint = crate::diag::did_you_mean(key, names.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    let fns: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    format!(
        "app.integrations.heygen has no function or account `{key}`{hint}; functions: {}; accounts: default{}",
        fns.join(", "),
        accounts.iter().filter(|a| *a != "default").map(|a| format!(", {a}")).collect::<String>()
    )
}

/// The functions bound to one account.
fn namespace(lua: &Lua, shared: &Arc<Shared>, account: Option<String>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for def in FUNCTIONS {
        let f = binding(lua, shared, def, account.clone())?;
        t.set(def.name, f.clone())?;
        t.set(format!("heygen_{}", def.name), f)?;
    }
    if let Some(name) = account {
        let meta = lua.create_table()?;
        let names: Vec<String> = shared.clients.names();
        let index = lua.create_function(
            move |lua, (_, key): (Table, String)| -> mlua::Result<(bool, Value)> {
                Ok((false, Value::String(lua.create_string(unknown_name(&key, &names))?)))
            },
        )?;
        meta.set("__index", checked(lua, index)?)?;
        let call = lua.create_function(move |lua, _: mlua::MultiValue| -> mlua::Result<(bool, Value)> {
            let m = format!(
                "app.integrations.heygen.{name} is the namespace of account `{name}`, not a function; call e.g. app.integrations.heygen.{name}.list_videos({{}})"
            );
            Ok((false, Value::String(lua.create_string(m)?)))
        })?;
        meta.set("__call", checked(lua, call)?)?;
        t.set_metatable(Some(meta))?;
    }
    Ok(t)
}

/// Wraps a Rust function returning `(ok, value_or_message)` so a failure
/// becomes `error(message, 2)`: a plain string naming the caller's line.
fn checked(lua: &Lua, raw: mlua::Function) -> mlua::Result<mlua::Function> {
    lua.load("local raw = ...\nreturn function(...)\n  local ok, result = raw(...)\n  if ok then return result end\n  error(result, 2)\nend")
        .set_name("=heygen")
        .call::<mlua::Function>(raw)
}

/// A binding: Rust does the work and returns `(ok, result_or_message)`; a
/// small Lua wrapper turns a failure into `error(message, 2)`, so scripts
/// see a plain string that names the line of *their* call, and `pcall`
/// catches it as with any Lua error.
fn binding(
    lua: &Lua,
    shared: &Arc<Shared>,
    def: &'static FunctionDef,
    account: Option<String>,
) -> mlua::Result<mlua::Function> {
    let shared = shared.clone();
    let raw =
        lua.create_function(move |lua, params: Option<Value>| -> mlua::Result<(bool, Value)> {
            let fail = |lua: &Lua, m: String| -> mlua::Result<(bool, Value)> {
                Ok((false, Value::String(lua.create_string(format!("heygen.{}: {m}", def.name))?)))
            };
            let params = match params {
                None | Some(Value::Nil) => json!({}),
                Some(v) => match lua.from_value::<Json>(v) {
                    Ok(j) => j,
                    Err(e) => return fail(lua, format!("parameters cannot be read: {e}")),
                },
            };
            let params = match check_params(def, params) {
                Ok(p) => p,
                Err(m) => return fail(lua, m),
            };
            let client = match shared.clients.client(account.as_deref()) {
                Ok(c) => c,
                Err(m) => return fail(lua, m),
            };
            match shared.handle.block_on(call(def, &client, params, shared.opts.dry_run)) {
                Ok(v) => {
                    let opts = mlua::serde::SerializeOptions::new()
                        .serialize_none_to_null(false)
                        .serialize_unit_to_null(false);
                    Ok((true, lua.to_value_with(&v, opts)?))
                }
                Err(e) => {
                    let (message, exit) = describe(&e);
                    if let (Some(code), Ok(mut last)) = (exit, shared.last_api_error.lock()) {
                        *last = Some((message.clone(), code));
                    }
                    fail(lua, message)
                }
            }
        })?;
    checked(lua, raw)
}

/// An error's message with its hint, and the exit code an API error maps to.
fn describe(e: &IntegrationError) -> (String, Option<u8>) {
    match e {
        IntegrationError::Api(api) => {
            let exit = match api.kind() {
                Some(
                    crate::heygen::ApiErrorKind::Auth | crate::heygen::ApiErrorKind::Forbidden,
                ) => crate::exit::AUTH_ERROR,
                Some(
                    crate::heygen::ApiErrorKind::InsufficientCredit
                    | crate::heygen::ApiErrorKind::QuotaExceeded,
                ) => crate::exit::CREDIT_STOP,
                _ => crate::exit::API_ERROR,
            };
            (format!("{api} — {}", api.hint()), Some(exit))
        }
        other => (other.to_string(), None),
    }
}

/// Checks a call's parameters against the definition; returns them as an
/// object.
fn check_params(def: &FunctionDef, params: Json) -> Result<serde_json::Map<String, Json>, String> {
    let map = match params {
        Json::Object(m) => m,
        // An empty Lua table arrives as an empty array.
        Json::Array(a) if a.is_empty() => serde_json::Map::new(),
        other => {
            return Err(format!("parameters must be a table like {{limit = 10}}, got {other}"));
        }
    };
    for key in map.keys() {
        if !def.params.iter().any(|p| p.name == key) {
            let names: Vec<&str> = def.params.iter().map(|p| p.name).collect();
            let hint = crate::diag::did_you_mean(key, names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(if names.is_empty() {
                format!("takes no parameters, got `{key}`")
            } else {
                format!("unknown parameter `{key}`{hint}; parameters: {}", names.join(", "))
            });
        }
    }
    for p in def.params {
        let Some(v) = map.get(p.name) else {
            if p.required {
                return Err(format!("`{}` is required ({})", p.name, p.description));
            }
            continue;
        };
        let ok = match p.kind {
            ParamKind::Integer { min, max } => match v.as_f64() {
                Some(n) if n.fract() == 0.0 && (min as f64..=max as f64).contains(&n) => true,
                Some(n) if n.fract() == 0.0 => {
                    return Err(format!(
                        "`{}` must be between {min} and {}, got {n}",
                        p.name,
                        if max == i64::MAX { "any".into() } else { max.to_string() }
                    ));
                }
                _ => false,
            },
            ParamKind::String => v.is_string(),
            ParamKind::Array => v.is_array(),
            ParamKind::Object => v.is_object(),
            ParamKind::Boolean => v.is_boolean(),
        };
        if !ok {
            return Err(format!(
                "`{}` must be {} {}, got {v}",
                p.name,
                if p.kind.name().starts_with(['a', 'i', 'o']) { "an" } else { "a" },
                p.kind.name()
            ));
        }
    }
    Ok(map)
}

fn offset_params(p: &serde_json::Map<String, Json>) -> OffsetParams {
    OffsetParams {
        limit: p.get("limit").and_then(Json::as_f64).map(|n| n as i64),
        offset: p.get("offset").and_then(Json::as_f64).map(|n| n as i64),
    }
}

/// A v3 object with the seed's names added beside its own fields.
fn with_aliases<T: serde::Serialize>(v3: &T, aliases: &[(&str, Json)]) -> Json {
    let mut v = serde_json::to_value(v3).unwrap_or(Json::Null);
    if let Json::Object(m) = &mut v {
        for (k, val) in aliases {
            m.insert((*k).to_owned(), val.clone());
        }
    }
    v
}

/// Calls one function and shapes the answer as the seed's examples read it.
async fn call(
    def: &FunctionDef,
    client: &Client,
    p: serde_json::Map<String, Json>,
    dry_run: bool,
) -> Result<Json, IntegrationError> {
    Ok(match def.name {
        "list_videos" => {
            let w = integration::list_videos(client, offset_params(&p)).await?;
            let videos: Vec<Json> =
                w.items.iter().map(|v| with_aliases(v, &[("video_id", json!(v.id))])).collect();
            json!({"data": {"videos": videos, "has_more": w.has_more}})
        }
        "get_video" => {
            let id = p.get("video_id").and_then(Json::as_str).unwrap_or_default();
            let v = integration::get_video(client, id).await?;
            json!({"data": with_aliases(&v, &[("video_id", json!(v.id))])})
        }
        "create_video" => {
            let input = CreateVideoInput::from_json(Json::Object(p))?;
            match integration::create_video(client, input, dry_run, Some(&fresh_key())).await? {
                CreateOutcome::Created { video, notes } => {
                    json!({"data": {"video_id": video.video_id, "status": video.status, "output_format": video.output_format, "notes": notes}})
                }
                CreateOutcome::DryRun(d) => json!({"data": d}),
            }
        }
        "list_avatars" => {
            let looks = integration::list_avatars(client).await?;
            let avatars: Vec<Json> = looks
                .iter()
                .map(|l| {
                    with_aliases(l, &[("avatar_id", json!(l.id)), ("avatar_name", json!(l.name))])
                })
                .collect();
            json!({"data": {"avatars": avatars}})
        }
        "list_voices" => {
            let voices = integration::list_voices(client).await?;
            let voices: Vec<Json> = voices
                .iter()
                .map(|v| {
                    with_aliases(
                        v,
                        &[
                            ("display_name", json!(v.name)),
                            ("preview_audio", json!(v.preview_audio_url)),
                        ],
                    )
                })
                .collect();
            json!({"data": {"voices": voices}})
        }
        "get_current_user" => {
            let u = integration::get_current_user(client).await?;
            let plan = u
                .subscription
                .as_ref()
                .map(|s| s.plan.clone())
                .or_else(|| u.billing_type.clone())
                .unwrap_or_else(|| "unknown".into());
            let remaining = u
                .wallet
                .as_ref()
                .and_then(|w| w.remaining_balance)
                .or_else(|| {
                    u.subscription
                        .as_ref()
                        .and_then(|s| s.credits.premium_credits.as_ref())
                        .and_then(|c| c.remaining)
                        .map(|n| n as f64)
                })
                .or_else(|| u.usage_based.as_ref().and_then(|b| b.remaining_credits))
                .or_else(|| u.spendable_usd())
                .unwrap_or(0.0);
            json!({"data": with_aliases(&u, &[("plan", json!(plan)), ("remaining_quota", json!(remaining))])})
        }
        "list_templates" => {
            let w = integration::list_templates(client, offset_params(&p)).await?;
            let templates: Vec<Json> =
                w.items.iter().map(|t| with_aliases(t, &[("template_id", json!(t.id))])).collect();
            json!({"data": {"templates": templates, "has_more": w.has_more}})
        }
        other => unreachable!("no binding for {other}"),
    })
}

/// A fresh Idempotency-Key per call: the client's own retries of this call
/// are safe; a script calling twice means two videos.
fn fresh_key() -> String {
    let bytes: [u8; 16] = rand::random();
    format!("reelflow-lua-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
