//! The `reelflow` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    reelflow::main()
}
