//! `cargo xtask <command>`: development commands for visit-counter.

fn main() {
    eprintln!("usage: cargo xtask bench [--seconds N] [--connections N]");
    std::process::exit(2);
}
