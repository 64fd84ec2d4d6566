use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use resource_server::settings::Settings;
use resource_server::startup::Application;

/// Protected API that validates bearer tokens against the auth server.
#[derive(Parser)]
#[command(name = "resource-server", version)]
struct Cli {
    /// TOML file with the settings to change (default: config/resource-server.toml if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::init(settings.log.format);
    let served = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)
            .await
            .map_err(|e| e.to_string())?;
        shared::shutdown::stop_on_signals(app.handle(), "resource-server");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    });
    shared::telemetry::flush();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
