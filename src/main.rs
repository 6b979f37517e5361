//! `isc-operator` command line: parses the arguments and hands them to the library
//! ([`isc_operator::cli::execute`]), which holds every command.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    isc_operator::runtime::memory::limit_arenas();
    isc_operator::cli::execute(isc_operator::cli::Cli::parse())
}
