//! Runs `cairn serve` (or `cairn demo`) as a child process and watches its
//! JSON log and its standard output: used by the benchmark harness and by
//! tests that need real processes.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// A running `cairn serve` or `cairn demo`.
pub struct ServeProcess {
    child: Child,
    pub address: std::net::SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
    exited: watch::Receiver<bool>,
    /// Standard output lines so far, and a counter that changes with each.
    stdout: Arc<Mutex<Vec<String>>>,
    stdout_seen: watch::Receiver<usize>,
}

impl ServeProcess {
    /// Starts `binary serve --bind 127.0.0.1:0 --log-format json <args>` with
    /// the log filter `log_filter` (plus what it needs to see the address)
    /// and waits until it logs the address it listens on.
    pub async fn start(
        binary: &Path,
        args: &[&str],
        log_filter: &str,
        envs: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::start_command(binary, "serve", args, log_filter, envs).await
    }

    /// As [`ServeProcess::start`] for another subcommand that takes the same
    /// `--bind`, `--log-format` and `--log-level` flags (`demo`).
    pub async fn start_command(
        binary: &Path,
        subcommand: &str,
        args: &[&str],
        log_filter: &str,
        envs: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        command
            .arg(subcommand)
            .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
            .arg("--log-level")
            .arg(format!("{log_filter},cairn::serve=info"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start cairn {subcommand}"))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let stdout_pipe = child.stdout.take().context("no stdout")?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (seen_tx, stdout_seen) = watch::channel(0usize);
        let stdout_sink = stdout.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout_pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(mut all) = stdout_sink.lock() {
                    all.push(line);
                }
                seen_tx.send_modify(|n| *n += 1);
            }
        });
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, mut address_rx) = watch::channel(None);
        let (exited_tx, exited) = watch::channel(false);
        let sink = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                    && event["message"] == "listening"
                    && let Some(address) = event["address"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = address_tx.send(Some(address));
                }
                if let Ok(mut all) = sink.lock() {
                    all.push(line);
                }
            }
            let _ = exited_tx.send(true);
        });
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                if let Some(address) = *address_rx.borrow() {
                    return Some(address);
                }
                if address_rx.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await
        .ok()
        .flatten();
        let Some(address) = address else {
            let log = lines.lock().map(|l| l.join("\n")).unwrap_or_default();
            bail!("cairn {subcommand} did not start listening:\n{log}");
        };
        Ok(ServeProcess {
            child,
            address,
            lines,
            exited,
            stdout,
            stdout_seen,
        })
    }

    /// Every line written to standard output so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the standard output so far satisfies `done`, for at
    /// most `timeout`; returns the lines, or fails with them and the log.
    pub async fn wait_for_stdout(
        &mut self,
        timeout: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> anyhow::Result<Vec<String>> {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let lines = self.stdout();
                if done(&lines) {
                    return Some(lines);
                }
                if self.stdout_seen.changed().await.is_err() {
                    // Output ended: one last look at what was written.
                    let lines = self.stdout();
                    return done(&lines).then_some(lines);
                }
            }
        })
        .await
        .ok()
        .flatten();
        match waited {
            Some(lines) => Ok(lines),
            None => bail!(
                "the expected output did not appear within {timeout:?}\nstdout:\n{}\nlog:\n{}",
                self.stdout().join("\n"),
                self.lines().join("\n")
            ),
        }
    }

    /// Whether the process has ended (its log closed).
    pub fn has_exited(&self) -> bool {
        *self.exited.borrow()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Every log line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to exit and its log to end.
    pub async fn terminate(mut self) -> anyhow::Result<(std::process::ExitStatus, Vec<String>)> {
        if let Some(pid) = self.child.id() {
            let pid = i32::try_from(pid).context("pid out of range")?;
            kill(Pid::from_raw(pid), Signal::SIGTERM).context("cannot signal cairn")?;
        }
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("cairn did not stop within 60 s of SIGTERM")??;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.exited.wait_for(|e| *e)).await;
        Ok((status, self.lines()))
    }

    /// Kills the process without warning, as a crash would.
    pub async fn kill(mut self) -> anyhow::Result<Vec<String>> {
        self.child.kill().await?;
        Ok(self.lines())
    }
}
