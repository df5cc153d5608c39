//! `reelflow lua` and `reelflow doc`.

use std::io::Read;
use std::sync::Arc;

use super::args::LuaArgs;
use super::context::Context;
use super::failure::Failure;
use super::output::print_json;
use crate::exit::{self, Coded};
use crate::lua::{self, ScriptError, ScriptOptions, functions};

/// Runs a script.
pub async fn run(ctx: &Context, args: &LuaArgs) -> Result<u8, Failure> {
    let (name, source) = if args.script.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        ("stdin".to_owned(), s)
    } else {
        let text = std::fs::read_to_string(&args.script).map_err(|e| {
            Failure::new(
                exit::INVALID_INPUT,
                "unreadable_script",
                format!("cannot read {}: {e}", args.script.display()),
            )
        })?;
        (args.script.display().to_string(), text)
    };
    let opts = ScriptOptions {
        dry_run: args.dry_run,
        max_instructions: args.max_instructions,
        max_memory: args.max_memory_mib << 20,
        timeout: Some(args.timeout),
        print_to_stderr: ctx.global.json,
    };
    let clients: Arc<dyn lua::AccountClients> = Arc::new(ctx.maker().clone());
    let handle = tokio::runtime::Handle::current();
    let outcome =
        tokio::task::spawn_blocking(move || lua::run(&source, &name, clients, opts, handle))
            .await
            .map_err(|e| Failure::new(exit::FAILURE, "lua", e.to_string()))?;
    match outcome {
        Ok(value) => {
            if ctx.global.json {
                print_json(&serde_json::json!({ "result": value }));
            }
            Ok(exit::SUCCESS)
        }
        // The reader of stdout went away (`| head -1`): end quietly.
        Err(ScriptError::OutputClosed) => Ok(exit::SUCCESS),
        Err(e) => Err(failure(e, args)),
    }
}

/// A stopped script as the CLI shows it; the exit code is the error kind's
/// (see [`crate::exit::Coded`]).
fn failure(e: ScriptError, args: &LuaArgs) -> Failure {
    let code = e.exit_code();
    match e {
        ScriptError::Syntax(m) => Failure::new(code, "lua_syntax", m),
        ScriptError::Runtime { message, .. } => {
            Failure::new(code, "lua_error", message)
                .hint("`reelflow doc integrations.heygen` shows the functions and their parameters; wrap calls in pcall to handle errors")
        }
        e @ ScriptError::TimedOut(_) => Failure::new(code, "lua_timeout", e.to_string())
            .hint("raise --timeout if the script needs longer (pcall cannot catch a limit); a pattern like `.-.-.-b` on a long string backtracks for a very long time"),
        ScriptError::Limit { limit, message } => {
            let uncatchable = "; pcall cannot catch this limit";
            let (flag, now, tail) = match limit {
                lua::Limit::Instructions => {
                    ("--max-instructions", args.max_instructions.to_string(), uncatchable)
                }
                lua::Limit::Memory => ("--max-memory-mib", args.max_memory_mib.to_string(), ""),
                lua::Limit::Time => {
                    ("--timeout", humantime::format_duration(args.timeout).to_string(), uncatchable)
                }
            };
            Failure::new(code, "lua_limit", message)
                .hint(format!("raise {flag} (now {now}) if the script needs more{tail}"))
        }
        // Handled by the caller (it ends quietly); kept total here.
        e @ ScriptError::OutputClosed => Failure::new(code, "output_closed", e.to_string()),
        e @ (ScriptError::Setup(_) | ScriptError::Thread(_) | ScriptError::NoAnswer) => {
            Failure::new(code, "lua", e.to_string())
        }
    }
}

/// Prints a doc page (with `--json`: `{"page": …, "markdown": …}`).
pub fn doc(page: &str, json: bool) -> Result<u8, Failure> {
    match functions::doc(page) {
        Some(text) if json => {
            print_json(&serde_json::json!({ "page": page, "markdown": text }));
            Ok(exit::SUCCESS)
        }
        Some(text) => {
            print!("{text}");
            Ok(exit::SUCCESS)
        }
        None => Err(Failure::usage(format!("no doc page `{page}`"))
            .hint(format!("pages: {}", functions::doc_pages().join(", ")))),
    }
}
