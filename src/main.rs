//! `isc-operator` command line: parses the arguments and hands them to the library
//! ([`isc_operator::cli::execute`]), which holds every command.

use std::process::ExitCode;

use clap::Parser;
use isc_operator::runtime::memory;

/// jemalloc instead of glibc's allocator: see [`isc_operator::runtime::memory`].
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// [`memory::JEMALLOC_OPTIONS`] as the C string jemalloc reads at its first allocation.
#[cfg(target_os = "linux")]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8; memory::JEMALLOC_OPTIONS.len() + 1] =
    &memory::nul_terminated(memory::JEMALLOC_OPTIONS);

fn main() -> ExitCode {
    isc_operator::cli::execute(isc_operator::cli::Cli::parse())
}
