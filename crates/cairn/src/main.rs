//! The `cairn` command.

fn main() -> std::process::ExitCode {
    cairn::cli::main()
}
