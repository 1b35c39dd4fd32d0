//! A `moto_server` of the test's own: started on a free loopback port, stopped on drop.
//!
//! The binary is `$CHATBOT_MOTO_SERVER` (`cargo xtask test` sets it after installing moto), or
//! the one `cargo xtask` installs into `target/tools/moto/`. The endpoint uses `localhost`, not
//! `127.0.0.1`: moto reads S3 bucket names from the host otherwise.
//!
//! moto's server answers requests on many threads and does not lock an item between reading a
//! condition and writing the update, so two concurrent conditional updates can both pass:
//! 200 concurrent `ADD n` with `n < 10` admitted 11. DynamoDB applies each write to an item
//! atomically. So moto runs here as `moto_server` does, from the same venv and with the same
//! app and request handler, except that one request is handled at a time ([`Mode::Serial`]).
//! Deploy rehearsals and benchmarks, which only need its speed, run `moto_server` itself
//! ([`Mode::Threaded`]).

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long moto may take to listen; it imports a lot of Python on a cold machine.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How moto handles concurrent requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One request at a time ([`SERIAL_SERVER`]): conditional updates are atomic, as in
    /// DynamoDB. For tests that count.
    Serial,
    /// `moto_server` itself, a thread per request: for runs where only throughput matters
    /// (deploy rehearsals, benchmarks).
    Threaded,
}

/// Which `moto_server`, how it runs and where its output goes.
#[derive(Debug, Clone)]
pub struct MotoOptions {
    /// The `moto_server` script; its venv's `python` runs the serial server.
    pub binary: PathBuf,
    pub mode: Mode,
    /// A file for moto's output (appended to); discarded when `None`.
    pub log: Option<PathBuf>,
}

impl Default for MotoOptions {
    /// The serial server from [`default_binary`], its output discarded.
    fn default() -> Self {
        MotoOptions {
            binary: default_binary(),
            mode: Mode::Serial,
            log: None,
        }
    }
}

pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// The serial server from [`default_binary`].
    pub fn start() -> anyhow::Result<MotoServer> {
        MotoServer::start_with(MotoOptions::default())
    }

    pub fn start_with(options: MotoOptions) -> anyhow::Result<MotoServer> {
        let binary = &options.binary;
        if !binary.exists() {
            bail!(
                "{} does not exist: run `cargo xtask test`, or set CHATBOT_MOTO_SERVER to a moto_server",
                binary.display()
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = match options.mode {
            Mode::Serial => {
                let mut command = Command::new(binary.with_file_name("python"));
                command.args(["-c", SERIAL_SERVER, &port.to_string()]);
                command
            }
            Mode::Threaded => {
                let mut command = Command::new(binary);
                command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                command
            }
        };
        let (stdout, stderr) = match &options.log {
            Some(path) => {
                let file = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("could not open {}", path.display()))?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = command
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting moto from {}", binary.display()))?;
        let mut server = MotoServer { child, port };
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("moto_server exited before listening: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("moto_server did not listen on port {port} within {START_TIMEOUT:?}")
    }

    /// `http://localhost:PORT`, for `AWS_ENDPOINT_URL` or an SDK client's `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// The loopback address it listens on, for a proxy in front of it.
    pub fn address(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$CHATBOT_MOTO_SERVER`, or the `moto_server` `cargo xtask` installs into `target/tools/moto/`.
pub fn default_binary() -> PathBuf {
    std::env::var_os("CHATBOT_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/moto/bin/moto_server")
        })
}

/// `moto_server`'s own start-up, with every request handled under one lock.
const SERIAL_SERVER: &str = r#"
import signal, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication, MotoRequestHandler, create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()

def one_at_a_time(environ, start_response):
    with lock:
        return list(app(environ, start_response))

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
run_simple("127.0.0.1", int(sys.argv[1]), one_at_a_time, threaded=True,
           request_handler=MotoRequestHandler)
"#;
