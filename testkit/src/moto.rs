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
//! app and request handler, except that one request is handled at a time ([`SERIAL_SERVER`]).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long moto may take to listen; it imports a lot of Python on a cold machine.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    pub fn start() -> anyhow::Result<MotoServer> {
        let binary = binary();
        if !binary.exists() {
            bail!(
                "{} does not exist: run `cargo xtask test`, or set CHATBOT_MOTO_SERVER to a moto_server",
                binary.display()
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let python = binary.with_file_name("python");
        let child = Command::new(&python)
            .args(["-c", SERIAL_SERVER, &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting moto with {}", python.display()))?;
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
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
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
