//! `app.integrations.heygen.*` for Lua scripts written against the
//! KosmoKrator HeyGen integration, run unchanged on reelflow's client.
//!
//! Scripts run in a sandbox: Lua 5.4 with string, table, math, utf8 and
//! coroutine, `os.time`/`os.date`/`os.clock` only (no files, processes,
//! environment or module loading), an instruction limit, a memory limit
//! and a wall-clock limit. `print` writes to stdout (stderr with `--json`).

pub mod functions;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlua::{Function, HookTriggers, Lua, LuaOptions, LuaSerdeExt, StdLib, Table, Value, VmState};
use serde_json::{Value as Json, json};

use crate::heygen::Client;
use crate::integration::{self, CreateOutcome, CreateVideoInput, IntegrationError, OffsetParams};
use functions::{FUNCTIONS, FunctionDef, ParamKind};

/// Gives a client per account name (`None` is the default account).
pub trait AccountClients: Send + Sync {
    /// The client of `account`.
    fn client(&self, account: Option<&str>) -> Result<Client, crate::accounts::ClientError>;
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
    /// Wall-clock time before the script is stopped. The instruction limit
    /// cannot see time spent inside C functions (a pathological
    /// `string.find` pattern backtracks for minutes); this can.
    pub timeout: Option<Duration>,
    /// `print` goes to stderr (so stdout carries only JSON).
    pub print_to_stderr: bool,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        ScriptOptions {
            dry_run: false,
            max_instructions: 200_000_000,
            max_memory: 256 << 20,
            timeout: Some(Duration::from_secs(600)),
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
    /// It ran past its wall-clock limit while inside a C function, where
    /// it cannot be stopped; its thread is abandoned.
    #[error("the script ran past its time limit of {}", humantime::format_duration(*.0))]
    TimedOut(Duration),
    /// The sandbox could not be set up: Lua's message (an `mlua::Error` is
    /// not `Send` without mlua's `send` feature, and the error crosses
    /// threads, so its text is kept).
    #[error("cannot start Lua: {0}")]
    Setup(String),
    /// The script's thread could not be started.
    #[error("cannot start Lua: {0}")]
    Thread(#[source] std::io::Error),
    /// The script's thread ended without an answer (it panicked).
    #[error("cannot start Lua: the script's thread ended without an answer")]
    NoAnswer,
    /// One of the script's limits stopped it. `pcall` cannot catch this
    /// (the limit keeps failing every instruction), so the fix is the limit.
    #[error("{message}")]
    Limit {
        /// Which limit.
        limit: Limit,
        /// The message, with file and line when Lua code was running.
        message: String,
    },
    /// `print` found stdout closed (`reelflow lua s.lua | head -1`): the
    /// script was stopped, as a shell pipeline stops its writer. Not a
    /// failure of the script.
    #[error("stdout was closed; the script was stopped")]
    OutputClosed,
}

/// The limits of [`ScriptOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`ScriptOptions::max_instructions`].
    Instructions,
    /// [`ScriptOptions::max_memory`].
    Memory,
    /// [`ScriptOptions::timeout`].
    Time,
}

/// State shared by the bindings of one script run.
struct Shared {
    clients: Arc<dyn AccountClients>,
    handle: tokio::runtime::Handle,
    opts: ScriptOptions,
    /// The last HeyGen error raised into Lua, to pick the exit code if the
    /// script does not catch it.
    last_api_error: Mutex<Option<(String, u8)>>,
    /// `print` found stdout closed.
    output_closed: AtomicBool,
}

/// Runs `source` (named `chunk_name` in messages). Call from a blocking
/// thread: bindings wait on `handle` for HeyGen's answers. Returns what the
/// script returns, as JSON.
///
/// With a timeout the script runs on a thread of its own, so that a script
/// stuck inside a C function cannot hold the caller past the limit; such a
/// thread is abandoned (it ends with the process).
pub fn run(
    source: &str,
    chunk_name: &str,
    clients: Arc<dyn AccountClients>,
    opts: ScriptOptions,
    handle: tokio::runtime::Handle,
) -> Result<Json, ScriptError> {
    let Some(limit) = opts.timeout else {
        return run_here(source, chunk_name, clients, opts, handle, None);
    };
    let deadline = Instant::now() + limit;
    let (tx, rx) = std::sync::mpsc::channel();
    let (source, chunk_name) = (source.to_owned(), chunk_name.to_owned());
    std::thread::Builder::new()
        .name("lua".into())
        .spawn(move || {
            let _ = tx.send(run_here(&source, &chunk_name, clients, opts, handle, Some(deadline)));
        })
        .map_err(ScriptError::Thread)?;
    // The hook stops Lua code at the deadline with a located message; the
    // grace period only runs out for a script stuck in C.
    // The hook runs every 10,000 instructions (microseconds), so a short
    // grace is plenty; a long one made `--timeout 3s` take 5 s.
    match rx.recv_timeout(limit + Duration::from_millis(200)) {
        Ok(outcome) => outcome,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(ScriptError::TimedOut(limit)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(ScriptError::NoAnswer),
    }
}

fn run_here(
    source: &str,
    chunk_name: &str,
    clients: Arc<dyn AccountClients>,
    opts: ScriptOptions,
    handle: tokio::runtime::Handle,
    deadline: Option<Instant>,
) -> Result<Json, ScriptError> {
    let stopped_by = Arc::new(Mutex::new(None));
    let lua = sandbox(&opts, deadline, stopped_by.clone())
        .map_err(|e| ScriptError::Setup(e.to_string()))?;
    let shared = Arc::new(Shared {
        clients,
        handle,
        opts,
        last_api_error: Mutex::new(None),
        output_closed: AtomicBool::new(false),
    });
    install(&lua, &shared).map_err(|e| ScriptError::Setup(e.to_string()))?;
    let chunk = lua.load(source).set_name(format!("@{chunk_name}"));
    let function = chunk.into_function().map_err(|e| ScriptError::Syntax(clean(&e)))?;
    let runtime = |message: String| {
        let api_exit = shared
            .last_api_error
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .filter(|(m, _)| message.contains(m.as_str()))
            .map(|(_, code)| code);
        ScriptError::Runtime { message, api_exit }
    };
    match function.call::<Value>(()) {
        _ if shared.output_closed.load(Ordering::Relaxed) => Err(ScriptError::OutputClosed),
        Ok(Value::Nil) => Ok(Json::Null),
        Ok(v) => lua.from_value(v).map_err(|e| {
            runtime(format!("the script's return value cannot be turned into JSON: {}", clean(&e)))
        }),
        Err(e) => {
            let limit = match *stopped_by.lock().unwrap_or_else(|p| p.into_inner()) {
                Some(limit) => Some(limit),
                None if is_memory_error(&e) => Some(Limit::Memory),
                None => None,
            };
            match limit {
                Some(limit) => Err(ScriptError::Limit { limit, message: clean(&e) }),
                None => Err(runtime(clean(&e))),
            }
        }
    }
}

/// Whether Lua ran out of its memory limit (possibly inside a callback).
fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        _ => false,
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

/// A Lua state with only safe libraries and the limits applied.
fn sandbox(
    opts: &ScriptOptions,
    deadline: Option<Instant>,
    stopped_by: Arc<Mutex<Option<Limit>>>,
) -> mlua::Result<Lua> {
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
    let used = AtomicU64::new(0);
    let max = opts.max_instructions;
    // A global hook, so coroutines are counted too.
    lua.set_global_hook(HookTriggers::new().every_nth_instruction(step), move |lua, _| {
        let (limit, over) = if used.fetch_add(1, Ordering::Relaxed) + 1 > budget {
            (Limit::Instructions, format!("the script ran past its limit of {max} instructions"))
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            (Limit::Time, "the script ran past its time limit".to_owned())
        } else {
            return Ok(VmState::Continue);
        };
        stopped_by.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(limit);
        stop_for_good(lua, over)
    })?;
    Ok(lua)
}

/// Fails the current instruction and every one after it. An error from the
/// hook alone is an ordinary Lua error: `while true do pcall(spin) end`
/// would catch it and run on, one hook period per turn.
fn stop_for_good(lua: &Lua, message: String) -> mlua::Result<VmState> {
    let every = message.clone();
    lua.set_global_hook(HookTriggers::new().every_nth_instruction(1), move |_, _| {
        Err(mlua::Error::runtime(every.clone()))
    })?;
    Err(mlua::Error::runtime(message))
}

/// Defines `print`, `lua_read_doc` and `app.integrations.heygen`.
fn install(lua: &Lua, shared: &Arc<Shared>) -> mlua::Result<()> {
    let g = lua.globals();
    let to_stderr = shared.opts.print_to_stderr;
    let s = shared.clone();
    g.set(
        "print",
        lua.create_function(move |lua, args: mlua::MultiValue| {
            let tostring: Function = lua.globals().get("tostring")?;
            let mut parts = Vec::with_capacity(args.len());
            for a in args {
                parts.push(tostring.call::<String>(a)?);
            }
            let mut line = parts.join("\t");
            line.push('\n');
            let written = if to_stderr {
                std::io::stderr().lock().write_all(line.as_bytes())
            } else {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes()).and_then(|()| out.flush())
            };
            match written {
                // Nobody reads any more: stop the script (pcall cannot
                // keep it going) and let the caller end quietly.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    s.output_closed.store(true, Ordering::Relaxed);
                    stop_for_good(lua, "stdout was closed".into()).map(|_| ())
                }
                _ => Ok(()),
            }
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
    let raise = Raise::new(lua)?;
    let heygen = namespace(lua, shared, &raise, None)?;
    // Any other key is an account namespace, or a mistake worth explaining.
    // A namespace is built once, on first use, and kept in the table.
    let meta = lua.create_table()?;
    let (s, r) = (shared.clone(), raise.clone());
    let index = lua.create_function(
        move |lua, (heygen, key): (Table, String)| -> mlua::Result<(bool, Value)> {
            let function_typo =
                crate::diag::did_you_mean(&key, FUNCTIONS.iter().map(|f| f.name)).is_some();
            let account = match key.as_str() {
                "default" => None,
                _ if s.clients.knows(&key) && !function_typo => Some(key.clone()),
                _ => return Ok((false, located(lua, unknown_name(&key, &s.clients.names()))?)),
            };
            let table = namespace(lua, &s, &r, account)?;
            heygen.raw_set(key, &table)?;
            Ok((true, Value::Table(table)))
        },
    )?;
    meta.set("__index", raise.wrap(index)?)?;
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
fn namespace(
    lua: &Lua,
    shared: &Arc<Shared>,
    raise: &Raise,
    account: Option<String>,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for def in FUNCTIONS {
        let f = binding(lua, shared, raise, def, account.clone())?;
        t.set(def.name, &f)?;
        t.set(format!("heygen_{}", def.name), f)?;
    }
    if let Some(name) = account {
        let meta = lua.create_table()?;
        let names: Vec<String> = shared.clients.names();
        let index = lua.create_function(
            move |lua, (_, key): (Table, String)| -> mlua::Result<(bool, Value)> {
                Ok((false, located(lua, unknown_name(&key, &names))?))
            },
        )?;
        meta.set("__index", raise.wrap(index)?)?;
        let call = lua.create_function(move |lua, _: mlua::MultiValue| -> mlua::Result<(bool, Value)> {
            let m = format!(
                "app.integrations.heygen.{name} is the namespace of account `{name}`, not a function; call e.g. app.integrations.heygen.{name}.list_videos({{}})"
            );
            Ok((false, located(lua, m)?))
        })?;
        meta.set("__call", raise.wrap(call)?)?;
        t.set_metatable(Some(meta))?;
    }
    Ok(t)
}

/// Turns a Rust function returning `(ok, value_or_message)` into one that
/// raises the message as a plain Lua error string, so `pcall` catches it
/// as any Lua error. The wrapper is compiled once per script.
#[derive(Clone)]
struct Raise(Function);

impl Raise {
    fn new(lua: &Lua) -> mlua::Result<Raise> {
        let factory = lua
            .load("return function(raw)\n  return function(...)\n    local ok, result = raw(...)\n    if ok then return result end\n    error(result, 0)\n  end\nend")
            .set_name("=heygen")
            .eval::<Function>()?;
        Ok(Raise(factory))
    }

    fn wrap(&self, raw: Function) -> mlua::Result<Function> {
        self.0.call(raw)
    }
}

/// `message` prefixed with the script line that made the call. Called from
/// a binding's Rust side: level 1 is the wrapper, and its caller is the
/// first frame with a line (`pcall(h.get_video, {})` has `pcall` between,
/// which is why `error(message, 2)` would name nothing). A wrapper reached
/// by a tail call (`return h.get_video(...)`) has lost its caller's frame;
/// naming some other line would mislead, so none is named.
fn located(lua: &Lua, message: String) -> mlua::Result<Value> {
    let mut text = message;
    if lua.inspect_stack(1, |d| d.is_tail_call()) == Some(false) {
        let mut level = 2;
        while let Some(frame) = lua.inspect_stack(level, |d| {
            (d.current_line(), d.source().short_src.map(|s| s.into_owned()))
        }) {
            if let (Some(line), Some(src)) = frame {
                text = format!("{src}:{line}: {text}");
                break;
            }
            level += 1;
        }
    }
    Ok(Value::String(lua.create_string(text)?))
}

/// A binding: Rust checks the parameters and calls HeyGen; failures are
/// raised (see [`Raise`]) naming the line of the script's call.
fn binding(
    lua: &Lua,
    shared: &Arc<Shared>,
    raise: &Raise,
    def: &'static FunctionDef,
    account: Option<String>,
) -> mlua::Result<Function> {
    let shared = shared.clone();
    let raw =
        lua.create_function(move |lua, params: Option<Value>| -> mlua::Result<(bool, Value)> {
            let fail = |m: String, exit: u8| -> mlua::Result<(bool, Value)> {
                let message = format!("heygen.{}: {m}", def.name);
                if let Ok(mut last) = shared.last_api_error.lock() {
                    *last = Some((message.clone(), exit));
                }
                Ok((false, located(lua, message)?))
            };
            let params = match params {
                None | Some(Value::Nil) => json!({}),
                Some(v) => match lua.from_value::<Json>(v) {
                    Ok(j) => j,
                    Err(e) => {
                        return fail(
                            format!("parameters cannot be read: {e}"),
                            crate::exit::INVALID_INPUT,
                        );
                    }
                },
            };
            let params = match check_params(def, params) {
                Ok(p) => p,
                Err(e) => return fail(e.to_string(), crate::exit::INVALID_INPUT),
            };
            let client = match shared.clients.client(account.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    return fail(format!("{e} ({})", e.hint()), crate::exit::Coded::exit_code(&e));
                }
            };
            match shared.handle.block_on(call(def, &client, params, shared.opts.dry_run)) {
                Ok(v) => {
                    let opts = mlua::serde::SerializeOptions::new()
                        .serialize_none_to_null(false)
                        .serialize_unit_to_null(false);
                    Ok((true, lua.to_value_with(&v, opts)?))
                }
                Err(e) => fail(describe(&e), crate::exit::Coded::exit_code(&e)),
            }
        })?;
    raise.wrap(raw)
}

/// An error's message with its hint.
fn describe(e: &IntegrationError) -> String {
    match e {
        IntegrationError::Api(api) => format!("{api} — {}", api.hint()),
        other => other.to_string(),
    }
}

/// Why a call's parameters do not fit its definition (raised into the
/// script as its error message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum ParamError {
    /// Not a table.
    #[error("parameters must be a table like {{limit = 10}}, got {0}")]
    NotATable(Json),
    /// A parameter of a function that takes none.
    #[error("takes no parameters, got `{0}`")]
    NoneTaken(String),
    /// A parameter the function does not have.
    #[error(
        "unknown parameter `{key}`{}; parameters: {}",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        names.join(", ")
    )]
    Unknown {
        /// The parameter given.
        key: String,
        /// The closest known name.
        suggestion: Option<String>,
        /// The function's parameters.
        names: Vec<&'static str>,
    },
    /// A required parameter is missing.
    #[error("`{name}` is required ({description})")]
    Required {
        /// The parameter.
        name: &'static str,
        /// What it is.
        description: &'static str,
    },
    /// An integer out of its range.
    #[error(
        "`{name}` must be between {min} and {}, got {got}",
        if *max == i64::MAX { "any".to_owned() } else { max.to_string() }
    )]
    Range {
        /// The parameter.
        name: &'static str,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed (`i64::MAX`: none).
        max: i64,
        /// What was given.
        got: f64,
    },
    /// A value of the wrong type.
    #[error(
        "`{name}` must be {} {kind}, got {got}",
        if kind.starts_with(['a', 'i', 'o']) { "an" } else { "a" }
    )]
    Type {
        /// The parameter.
        name: &'static str,
        /// The type it takes.
        kind: &'static str,
        /// What was given.
        got: Json,
    },
}

/// Checks a call's parameters against the definition; returns them as an
/// object.
fn check_params(
    def: &FunctionDef,
    params: Json,
) -> Result<serde_json::Map<String, Json>, ParamError> {
    let Json::Object(mut map) = params else {
        return Err(ParamError::NotATable(params));
    };
    for key in map.keys() {
        if !def.params.iter().any(|p| p.name == key) {
            let names: Vec<&'static str> = def.params.iter().map(|p| p.name).collect();
            if names.is_empty() {
                return Err(ParamError::NoneTaken(key.clone()));
            }
            let suggestion =
                crate::diag::did_you_mean(key, names.iter().copied()).map(str::to_owned);
            return Err(ParamError::Unknown { key: key.clone(), suggestion, names });
        }
    }
    for p in def.params {
        let Some(v) = map.get_mut(p.name) else {
            if p.required {
                return Err(ParamError::Required { name: p.name, description: p.description });
            }
            continue;
        };
        // Lua has one table type: an empty `{}` arrives as an empty object,
        // and is an empty array where an array is expected.
        if p.kind == ParamKind::Array && v.as_object().is_some_and(|o| o.is_empty()) {
            *v = Json::Array(Vec::new());
        }
        let ok = match p.kind {
            ParamKind::Integer { min, max } => match v.as_f64() {
                Some(n) if n.fract() == 0.0 && (min as f64..=max as f64).contains(&n) => true,
                Some(n) if n.fract() == 0.0 => {
                    return Err(ParamError::Range { name: p.name, min, max, got: n });
                }
                _ => false,
            },
            ParamKind::String => v.is_string(),
            ParamKind::Array => v.is_array(),
            ParamKind::Object => v.is_object(),
            ParamKind::Boolean => v.is_boolean(),
        };
        if !ok {
            return Err(ParamError::Type { name: p.name, kind: p.kind.name(), got: v.clone() });
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
            let remaining = u.remaining_quota().unwrap_or(0.0);
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
