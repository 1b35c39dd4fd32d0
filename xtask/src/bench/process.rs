//! Child processes for the benchmarks: started with a clean environment, their output in a
//! log file, killed when dropped, and their peak memory read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How to start a program: path, arguments, and the only environment it gets (plus `PATH`).
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

impl Launch {
    pub fn new(program: impl Into<PathBuf>) -> Launch {
        Launch {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Launch {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Launch {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Launch {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// A command with only this launch's environment, output appended to `log`, killed when
    /// the handle is dropped.
    pub fn command(&self, log: &Path) -> anyhow::Result<Command> {
        let mut command = Command::new(&self.program);
        command.args(&self.args).env_clear();
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        let out = log_file(log)?;
        let err = out.try_clone()?;
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        Ok(command)
    }

    /// Starts the program and waits for a line of its standard output starting with `prefix`
    /// (a server announcing its address); the rest of its output goes to `log`.
    pub async fn start_server(&self, log: &Path, prefix: &str) -> anyhow::Result<(Child, String)> {
        let mut command = self.command(log)?;
        command.stdout(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("could not start {}", self.program.display()))?;
        let stdout = child.stdout.take().context("no standard output")?;
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if line.starts_with(prefix) {
                    return Ok::<_, std::io::Error>(Some(line));
                }
            }
            Ok(None)
        })
        .await;
        let line = match found {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) | Ok(Err(_)) => bail!(
                "{} exited before it was ready; see {}",
                self.program.display(),
                log.display()
            ),
            Err(_) => bail!(
                "{} did not say it was ready within 30 s; see {}",
                self.program.display(),
                log.display()
            ),
        };
        // Keep draining standard output so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((child, line))
    }
}

fn log_file(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not open {}", path.display()))
}

/// The process's peak resident set (`VmHWM`), in KiB; `None` once it has exited.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Stops a child and reaps it.
pub async fn stop(mut child: Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

/// The `http://HOST:PORT` inside a line such as `listening on http://127.0.0.1:PORT/ ...`.
pub fn url_in(line: &str) -> Option<String> {
    let start = line.find("http://")?;
    let rest = &line[start + "http://".len()..];
    let end = rest.find(['/', ' ']).unwrap_or(rest.len());
    Some(format!("http://{}", &rest[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_found_in_announcements() {
        assert_eq!(
            url_in("chatbot (dev) on http://127.0.0.1:4000/  API at http://127.0.0.1:4000/api"),
            Some("http://127.0.0.1:4000".into())
        );
        assert_eq!(
            url_in("fake-bedrock listening on http://127.0.0.1:5000"),
            Some("http://127.0.0.1:5000".into())
        );
        assert_eq!(url_in("no address here"), None);
    }

    #[test]
    fn peak_rss_of_this_process_is_positive_and_of_a_missing_one_absent() {
        assert!(peak_rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert_eq!(peak_rss_kib(u32::MAX), None);
    }
}
