//! The `forensics` binary: parses the command line and hands it to the library
//! ([`forensics::cli`]), which runs the subcommand and picks the exit code.

use std::process::ExitCode;

use clap::Parser as _;

/// glibc's allocator returns every large block (the per-chunk column buffers, tens of MB) to
/// the kernel on free and takes fresh zeroed pages for the next chunk: a page fault and a page
/// clear per 4 KiB, about a tenth of a scan's CPU. Keeping blocks up to 256 MiB in the heap
/// lets each worker reuse its pages; memory stays bounded by the chunks in flight.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = forensics::cli::Cli::parse();
    match forensics::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("forensics: error: {e}");
            ExitCode::from(2)
        }
    }
}
