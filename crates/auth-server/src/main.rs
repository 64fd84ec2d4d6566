use std::process::ExitCode;

use auth_server::cli::{self, Cli, Command};
use auth_server::settings::Settings;
use auth_server::telemetry;
use clap::Parser;

fn main() -> ExitCode {
    let args = Cli::parse();
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log.format);
    let outcome = cli::run(args.command.unwrap_or(Command::Serve), settings);
    telemetry::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
