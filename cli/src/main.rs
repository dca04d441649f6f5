//! `fieldseal`: the command-line tool for operators, template authors and developers.

mod self_check;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "fieldseal", version, about = "fieldseal: sealed evidence for environmental enforcement")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open a store in a temporary directory, seal and verify a signed envelope and a vault file, and
    /// show that tampering is caught. Prints each step.
    SelfCheck,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::SelfCheck => self_check::run(),
    };
    ExitCode::from(code)
}
