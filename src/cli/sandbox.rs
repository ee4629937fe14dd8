//! `b24wa sandbox`: the service wired to simulators, in a throwaway data folder.

use b24wa::{config::Settings, sandbox};

#[derive(clap::Args)]
pub struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Seconds before each receipt of a reply (sent, delivered, read), to watch ticks change.
    #[arg(long, default_value_t = 1.5)]
    receipt_delay_secs: f64,
    /// The gateway the Web number on Open Line 1 speaks (both simulated).
    #[arg(long, value_enum, default_value_t = Gateway::GreenApi)]
    gateway: Gateway,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Gateway {
    /// GREEN-API (hosted).
    GreenApi,
    /// Evolution API (self-hosted).
    Evolution,
}

pub async fn run(settings: Settings, args: Args) -> anyhow::Result<()> {
    let delay = std::time::Duration::try_from_secs_f64(args.receipt_delay_secs.clamp(0.0, 30.0))?;
    let dir = std::env::temp_dir().join(format!("b24wa-sandbox-{}", std::process::id()));
    let opts = sandbox::SandboxOptions {
        host: settings.host.clone(),
        port: args.port,
        data_dir: dir.clone(),
        transcribe_model: settings.transcribe_model.clone(),
        receipt_delay: delay,
        gateway: match args.gateway {
            Gateway::GreenApi => sandbox::WebGateway::GreenApi,
            Gateway::Evolution => sandbox::WebGateway::Evolution,
        },
    };
    let sandbox = sandbox::Sandbox::start(settings, opts).await?;
    println!("b24wa sandbox: open {}", sandbox.page_url());
    println!(
        "  (simulated portal, a Web gateway number ({}) on line 1 and a Cloud API number on line 2; data in {}, removed on exit)",
        match args.gateway {
            Gateway::GreenApi => "GREEN-API",
            Gateway::Evolution => "Evolution API",
        },
        dir.display()
    );
    let result = sandbox.run_until_stopped().await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    Ok(())
}
