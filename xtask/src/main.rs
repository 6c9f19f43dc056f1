//! `cargo xtask <command>`: development commands for visit-counter. Run with no arguments to list them.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Development commands for visit-counter")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure /count (and /healthz, for the ceiling) on one release replica and a local Redis with wrk.
    Bench(xtask::bench::Options),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(options) => xtask::bench::run(&options),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
