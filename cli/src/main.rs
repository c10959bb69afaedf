//! `mcast`: send and receive files over reliable IPv6 multicast (NORM).
//!
//! ```text
//! mcast send --group ff3e::1 --port 5000 --interface eth0 FILE...
//! mcast recv --group ff3e::1 --port 5000 --interface eth0 --out DIR [--count N] [--timeout SECS]
//! mcast demo [--receivers 3] [--loss 5] [--size 20M] [--rate 100M]
//! mcast bench [--receivers 3] [--size 64M] [--loss 5] [--rate 1G] [--json]
//! mcast channel NAME [--scope link|site|org|global] [--ssm]
//! mcast interfaces
//! ```

mod args;
mod bench;
mod demo;
mod info;
mod names;
mod netns;
mod recv;
mod send;
mod stats;
mod util;

use clap::Parser;

/// Objects at least this large get a progress bar (smaller ones are over
/// before a bar would be readable).
pub const PROGRESS_MIN_BYTES: u64 = 1 << 20;

fn main() {
    let cli = args::Cli::parse();
    util::init_logging(cli.common.verbose, cli.common.quiet);
    let result = match &cli.command {
        args::Command::Send(a) => {
            util::install_interrupt_handler();
            send::run(&cli.common, a)
        }
        args::Command::Recv(a) => {
            util::install_interrupt_handler();
            recv::run(&cli.common, a)
        }
        // The demo installs its handler itself once it knows which process
        // (outer or re-executed inner) it is.
        args::Command::Demo(a) => demo::run(&cli.common, a),
        args::Command::Bench(a) => bench::run(&cli.common, a),
        args::Command::Blast(a) => bench::blast(a),
        args::Command::Channel(a) => info::channel(&cli.common, a),
        args::Command::Keygen(a) => info::keygen(&cli.common, a),
        args::Command::Interfaces => info::interfaces(&cli.common),
    };
    if let Err(f) = result {
        eprintln!("mcast: error: {}", f.message);
        std::process::exit(f.code);
    }
}
