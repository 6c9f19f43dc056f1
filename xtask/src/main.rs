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
    /// Restart Redis (SIGTERM, SIGKILL) and replicas under load, then check nothing acknowledged was lost.
    Chaos(xtask::chaos::cli::Options),
    /// Bounded HTTP load on one loopback URL (default: /count through the native twin); a summary of every request.
    Load(xtask::load::Options),
    /// The native twin of docker-compose.yml: Redis, N replicas and NGINX on loopback (see README).
    #[command(subcommand)]
    Stack(xtask::stack::cli::StackCommand),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(options) => xtask::bench::run(&options),
        Command::Chaos(options) => xtask::chaos::cli::run(&options),
        Command::Load(options) => xtask::load::run(&options),
        Command::Stack(command) => xtask::stack::cli::run(&command),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
