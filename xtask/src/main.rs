//! `cargo xtask <command>`: development commands for visit-counter. Run with no arguments to list them.
//!
//! A command line over the `harness` crate, which the tests share: each module here parses one command's options
//! and prints its results, the work itself is the harness's.
//!
//! # Layout
//! - [`bench`](mod@bench): `cargo xtask bench`, the benchmark suites and their report.
//! - [`chaos`]: `cargo xtask chaos`, the verdict table and the timeline picture.
//! - [`images`]: `cargo xtask images`; [`load`]: `cargo xtask load`; [`stack`]: `cargo xtask stack up|down|status`.
//! - `src/bin/loki-standin.rs`: the Loki stand-in program the compose stack's images carry.

mod bench;
mod chaos;
mod images;
mod load;
mod stack;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "Development commands for visit-counter")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure /count through NGINX, telemetry costs, Redis, a soak and the build; write docs/benchmarks.md.
    Bench(bench::Options),
    /// Restart Redis (SIGTERM, SIGKILL) and replicas under load, then check nothing acknowledged was lost.
    Chaos(chaos::Options),
    /// Build every image docker-compose.yml needs, without a registry; write target/images.env.
    Images(images::Options),
    /// Bounded HTTP load on a local URL or a mix of paths (default: /count via the twin); the load service runs it.
    Load(load::Options),
    /// The native twin of docker-compose.yml: Redis, N replicas and NGINX on loopback (see docs/native-twin.md).
    #[command(subcommand)]
    Stack(stack::StackCommand),
}

fn main() {
    // No arguments is a question ("what is there?"), not a mistake: answer it on stdout and exit 0, where clap would
    // print its full help on stderr and exit 2.
    if std::env::args_os().len() == 1 {
        print!("{}", listing());
        return;
    }
    let cli = Cli::try_parse().unwrap_or_else(|e| one_line(e));
    let result = match cli.command {
        Command::Bench(options) => bench::run(&options),
        Command::Chaos(options) => chaos::run(&options),
        Command::Images(options) => images::run(&options),
        Command::Load(options) => load::run(&options),
        Command::Stack(command) => stack::run(&command),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}

/// A command line that does not parse ends with one line (`xtask: invalid value 'x' for '--rate <LOAD_RATE>': …`)
/// and exit code 2; options read from the environment name their variable as the value. Help is printed as clap does.
fn one_line(error: clap::Error) -> ! {
    if !error.use_stderr() {
        error.exit();
    }
    let rendered = error.to_string();
    eprintln!("xtask: {}", rendered.lines().next().unwrap_or_default().trim_start_matches("error: "));
    std::process::exit(2);
}

/// One line per command (subcommands of `stack` spelled out), then how to get the details.
fn listing() -> String {
    let cli = Cli::command();
    let mut rows = Vec::new();
    for command in cli.get_subcommands() {
        let about = |c: &clap::Command| c.get_about().map(ToString::to_string).unwrap_or_default();
        // `stack` lists its subcommands; `load healthcheck` is the load image's probe, not a command of its own.
        if command.is_subcommand_required_set() {
            for sub in command.get_subcommands() {
                rows.push((format!("{} {}", command.get_name(), sub.get_name()), about(sub)));
            }
        } else {
            rows.push((command.get_name().to_owned(), about(command)));
        }
    }
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::from("cargo xtask <command> — development commands for visit-counter\n\n");
    for (name, about) in rows {
        out.push_str(&format!("  {name:width$}  {about}\n"));
    }
    out.push_str("\nDetails and options: cargo xtask <command> --help\n");
    out
}
