//! `cargo xtask images`: every image docker-compose.yml needs, built here without a registry (`harness::images`).

use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct Options {
    /// Where target/images.env goes (default: the workspace's target/images.env).
    #[arg(long)]
    pub write: Option<PathBuf>,
}

pub(crate) fn run(options: &Options) -> Result<(), String> {
    harness::images::build(&options.write.clone().unwrap_or_else(harness::images::env_file))
}
