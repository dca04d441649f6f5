//! `fieldseal`: the command-line tool for operators, template authors and developers.

mod media;
mod self_check;
mod template;

use std::{path::PathBuf, process::ExitCode};

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
    /// Checklist templates (检查清单模板).
    Template {
        #[command(subcommand)]
        command: TemplateCommand,
    },
    /// Evidence media files.
    Media {
        #[command(subcommand)]
        command: MediaCommand,
    },
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Validate template files; prints every problem with its item and rule, exit 1 if any.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MediaCommand {
    /// Show what ingest would record from FILE (type, hash, EXIF, GPS, thumbnail), storing nothing.
    Probe {
        file: PathBuf,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let code = match Cli::parse().command {
        Command::SelfCheck => i32::from(self_check::run()),
        Command::Template { command: TemplateCommand::Validate { files } } => template::run_validate(&files),
        Command::Media { command: MediaCommand::Probe { file, json } } => media::run_probe(&file, json),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
