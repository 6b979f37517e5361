//! Server processes that never outlive the test process: each runs under a `sh` watchdog whose
//! stdin is a pipe from the test process (see the crate docs), plus log reading for failure
//! messages.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process under its `sh` watchdog (see the module docs).
pub(crate) struct Supervised {
    pub(crate) name: &'static str,
    child: Child,
    /// Write end of the watchdog's pipe: a line ("stop") or EOF makes it kill the server.
    lifeline: Option<ChildStdin>,
    pub(crate) log: PathBuf,
}

impl Supervised {
    /// Starts `program args…` with stdout and stderr appended to `log`, in its own process group.
    /// If the test process dies without dropping this, the watchdog kills the server and removes
    /// `orphan_cleanup` (when given).
    pub(crate) fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
        orphan_cleanup: Option<&Path>,
    ) -> Supervised {
        let out = File::create(&log)
            .unwrap_or_else(|e| panic!("control plane: cannot create {}: {e}", log.display()));
        let err = out
            .try_clone()
            .expect("control plane: duplicate log file handle");
        // $1 = dir to remove if orphaned (may be empty), then the program and its arguments.
        // The server gets no stdin (and not fd 3). The watchdog reads the lifeline (saved as
        // fd 3): a line ("stop", written by kill()) or EOF with no line (the test process died)
        // both kill the server; only the latter also removes the temp dir.
        let script = r#"
            cleanup=$1; shift
            exec 3<&0
            "$@" 3<&- </dev/null &
            server=$!
            {
                if read -r _ <&3; then
                    kill -KILL "$server" 2>/dev/null
                else
                    kill -KILL "$server" 2>/dev/null
                    if [ -n "$cleanup" ]; then sleep 1; rm -rf -- "$cleanup"; fi
                fi
            } &
            wait "$server"
        "#;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("isc-cp-watchdog")
            .arg(orphan_cleanup.map(|p| p.as_os_str()).unwrap_or_default())
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("control plane: cannot start {}: {e}", program.display()));
        let lifeline = child.stdin.take();
        Supervised {
            name,
            child,
            lifeline,
            log,
        }
    }

    /// `Some(status)` once the server has exited.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the server and its watchdog (waiting up to 5 s for a clean exit first).
    fn kill(&mut self) {
        // "stop" on the lifeline makes the watchdog kill the server; the shell then reaps it and
        // exits. The group kill afterwards covers anything left (the watchdog, or the server if
        // the shell did not exit in time).
        if let Some(mut lifeline) = self.lifeline.take() {
            let _ = lifeline.write_all(b"stop\n");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let pgid = self.child.id();
        let _ = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("kill -KILL -- -{pgid} 2>/dev/null"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a log file (for failure messages).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let path = std::env::temp_dir().join(format!("isc-cp-log-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
        assert_eq!(log_tail(&path, 2), "two\nthree");
        assert_eq!(log_tail(&path, 10), "one\ntwo\nthree");
        let _ = std::fs::remove_file(&path);
        assert_eq!(log_tail(&path, 2), "", "a missing log reads as empty");
    }
}
