//! The `faultdesk` binary: parse the command line, run, map errors to exit codes.
//!
//! Exit codes: 0 ok; 1 failure; 2 usage (bad arguments, no --user); 65 some
//! input rows were rejected (the rest were applied); 78 configuration error.

use std::process::ExitCode;

use clap::Parser;
mod cli;

use cli::args::Cli;
use cli::{PartialImport, UsageError};
use faultdesk::config::ConfigError;

// mimalloc: the daemon allocates and frees many small objects per SIP
// message on several threads; glibc's allocator spent a fifth of its CPU
// time on that under a storm of calls (scripts/bench-sip.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if !matches!(cli.command, cli::args::Command::Run) {
        // A listing piped into `head` ends quietly when the reader goes,
        // as other command-line tools do, instead of failing on a closed pipe.
        // The daemon keeps ignoring SIGPIPE: a closed socket is an error there.
        // SAFETY: setting a signal's disposition to the default, before any
        // thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faultdesk: {}", chain(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The error and its causes on one line, each cause only once.
fn chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<ConfigError>().is_some() {
        78
    } else if e.downcast_ref::<UsageError>().is_some() {
        2
    } else if e.downcast_ref::<PartialImport>().is_some() {
        65
    } else {
        1
    }
}
