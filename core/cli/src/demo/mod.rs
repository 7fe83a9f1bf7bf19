//! `posctl demo`: a merchant's day against the built-in simulators. A new
//! terminal in a fresh data directory is onboarded, bound and signed in,
//! takes a day of card and QR payments of every kind, prints receipts,
//! settles, and reports; it exits 0 only when the terminal's journal and
//! the simulators' ledgers reconcile.

mod report;
mod run;
mod script;

use std::path::PathBuf;

use clap::Args;

use crate::CliError;

#[derive(Args)]
pub struct DemoArgs {
    /// Print a machine-readable summary (JSON) instead of the progress
    #[arg(long)]
    pub json: bool,
    /// Keep the terminal's data here (must not exist yet) instead of a
    /// temporary directory removed at the end
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

pub fn run(args: DemoArgs) -> Result<String, CliError> {
    let (dir, temporary) = match &args.data_dir {
        Some(dir) => {
            if dir.exists() {
                return Err(CliError::arg(
                    "--data-dir",
                    format!(
                        "{} exists: the demo starts a new terminal; name a new directory",
                        dir.display()
                    ),
                ));
            }
            (dir.clone(), false)
        }
        None => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            (
                std::env::temp_dir().join(format!("posctl-demo-{}-{stamp}", std::process::id())),
                true,
            )
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(run::day(&dir, !args.json));
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let summary = result?;
    let out = if args.json {
        serde_json::to_string_pretty(&summary).map_err(|e| CliError::failed(e.to_string()))?
    } else {
        report::text(&summary)
    };
    if summary.reconciliation.agrees() && summary.settlement.as_ref().is_some_and(|s| s.balanced) {
        Ok(out)
    } else {
        Err(CliError::failed(
            "the terminal's journal and the simulators' ledgers do not reconcile (see above)",
        )
        .with_output(out))
    }
}
