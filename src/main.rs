//! The `reelflow` binary: everything lives in the library.

/// Expansion builds rows on worker threads and the planner frees them on
/// another: glibc's allocator serializes those frees on an arena lock
/// (40% of `plan` time in profiles); mimalloc frees across threads cheaply.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    reelflow::main()
}
