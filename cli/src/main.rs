//! `fieldseal`: the command-line tool for operators, template authors and developers.

mod demo;
mod media;
mod self_check;
mod template;
mod verify;

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
    /// Run a whole inspection on the embedded example register and template and send it to a
    /// real intake: intake started on 127.0.0.1 (or --intake URL) and seeded through its admin
    /// API, the device enrolled, check-in, answers, photos with real EXIF and a video, a finding
    /// with a deadline, the record signed by both inspectors and the party and frozen, synced with
    /// progress bars, every receipt checked, the bundle exported with its PDF and verified.
    Demo {
        /// Keep the store, intake's data and the bundle in DIR (created if absent) instead of a
        /// temporary folder.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
        /// Use an intake already running at URL, seeding it with the admin token from
        /// FIELDSEAL_ADMIN_TOKEN, instead of starting one on 127.0.0.1.
        #[arg(long, value_name = "URL", conflicts_with = "offline")]
        intake: Option<String>,
        /// The province's CA certificate (PEM) when the --intake URL is HTTPS from a private CA.
        #[arg(long, value_name = "FILE", requires = "intake")]
        ca: Option<PathBuf>,
        /// No intake at all: the inspection, record and bundle only.
        #[arg(long)]
        offline: bool,
    },
    /// Verify an exported bundle offline: every member hash, signature, chain link, page hash, the
    /// PDF text against the signed pages, and every cross-reference. Exit 0 only if all verify.
    Verify {
        bundle: PathBuf,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// The device key to trust (a device-key.json from enrolment); default: the bundle's own.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// After it verifies, extract the members into DIR (must be empty; nothing is written outside it).
        #[arg(long, value_name = "DIR")]
        extract: Option<PathBuf>,
    },
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
        Command::Demo { keep, intake, ca, offline } => {
            let target = match (offline, intake) {
                (true, _) => demo::Target::Offline,
                (false, Some(url)) => demo::Target::Remote { url, ca },
                (false, None) => demo::Target::Local,
            };
            i32::from(demo::run(keep.as_deref(), target))
        }
        Command::Verify { bundle, json, key, extract } => {
            verify::run(&bundle, json, key.as_deref(), extract.as_deref())
        }
        Command::SelfCheck => i32::from(self_check::run()),
        Command::Template { command: TemplateCommand::Validate { files } } => template::run_validate(&files),
        Command::Media { command: MediaCommand::Probe { file, json } } => media::run_probe(&file, json),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
