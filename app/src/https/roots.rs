//! Which certificate authorities the HTTPS client trusts: the certificates of one PEM bundle
//! file, read once at start.
//!
//! - `SSL_CERT_FILE` when it is set: the standard way to trust a private CA (OpenSSL,
//!   rustls-native-certs and botocore's `AWS_CA_BUNDLE` work the same way).
//! - Otherwise the system's bundle file, the first of [`SYSTEM_BUNDLES`] that exists. Lambda's
//!   `provided.al2023` keeps it at `/etc/pki/tls/certs/ca-bundle.crt`.
//! - A certificate folder is read only when `SSL_CERT_DIR` names one. The default client read
//!   `/etc/ssl/certs/` too, one file per certificate (about 150 on Debian), which cost about
//!   7 ms of every cold start here for certificates the bundle already holds.
//!
//! Why the system bundle rather than a list compiled into the binary (webpki-roots): the
//! bundle is updated with the image (on Lambda, with the runtime's patches), so a root that is
//! distrusted leaves it without a redeploy of the function, and it holds the private roots an
//! organisation adds to its images. A compiled-in list changes only when the function is
//! rebuilt. Reading and parsing a system bundle (about 145 certificates) costs about 0.4 ms,
//! once per process.
//!
//! Certificates that do not parse are left out and counted, so one bad entry in a bundle is a
//! warning at start instead of a failure inside the TLS library at the first request.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::CertificateDer;

/// Where systems keep their CA bundle: Amazon Linux, Fedora and RHEL; Debian and Ubuntu;
/// openSUSE; the extracted p11-kit bundle; Alpine.
pub const SYSTEM_BUNDLES: [&str; 5] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Where trusted roots may come from.
#[derive(Debug, Clone, Default)]
pub struct RootSources {
    /// `SSL_CERT_FILE`.
    pub cert_file: Option<PathBuf>,
    /// `SSL_CERT_DIR`.
    pub cert_dir: Option<PathBuf>,
    /// Bundle files to try, in order, when `cert_file` is not given.
    pub system_bundles: Vec<PathBuf>,
}

impl RootSources {
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR` (empty values count as unset) and [`SYSTEM_BUNDLES`].
    pub fn from_env() -> RootSources {
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        RootSources {
            cert_file: path("SSL_CERT_FILE"),
            cert_dir: path("SSL_CERT_DIR"),
            system_bundles: SYSTEM_BUNDLES.iter().map(PathBuf::from).collect(),
        }
    }
}

/// The roots the client trusts.
#[derive(Debug, Clone)]
pub enum TrustedRoots {
    /// The certificates of one bundle file.
    Bundle {
        path: PathBuf,
        /// The certificates that parse, parsed once for the TLS client.
        store: Arc<rustls::RootCertStore>,
        certificates: usize,
        /// Entries that are not certificates a TLS client can trust.
        skipped: usize,
    },
    /// What rustls-native-certs finds: `SSL_CERT_DIR` and `SSL_CERT_FILE` if set, else the
    /// places OpenSSL looks. Used when `SSL_CERT_DIR` is set or no bundle file exists.
    Native,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RootsError {
    #[error("SSL_CERT_FILE names {path}, which cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("SSL_CERT_FILE names {path}, which holds no certificate a TLS client can trust")]
    Empty { path: PathBuf },
}

impl TrustedRoots {
    /// The roots of [`RootSources::from_env`].
    pub fn from_env() -> Result<TrustedRoots, RootsError> {
        TrustedRoots::load(&RootSources::from_env())
    }

    pub fn load(sources: &RootSources) -> Result<TrustedRoots, RootsError> {
        if sources.cert_dir.is_some() {
            return Ok(TrustedRoots::Native);
        }
        if let Some(path) = &sources.cert_file {
            let unreadable = |err: std::io::Error| RootsError::Unreadable {
                path: path.clone(),
                reason: err.to_string(),
            };
            let file = File::open(path).map_err(unreadable)?;
            return match TrustedRoots::read_bundle(path, file).map_err(unreadable)? {
                TrustedRoots::Bundle {
                    certificates: 0, ..
                } => Err(RootsError::Empty { path: path.clone() }),
                roots => Ok(roots),
            };
        }
        for path in &sources.system_bundles {
            let roots = File::open(path).and_then(|file| TrustedRoots::read_bundle(path, file));
            if let Ok(
                roots @ TrustedRoots::Bundle {
                    certificates: 1.., ..
                },
            ) = roots
            {
                return Ok(roots);
            }
        }
        Ok(TrustedRoots::Native)
    }

    /// Reads a PEM bundle line by line through one small buffer, decoding each certificate into
    /// one reused buffer. Reading the whole file and decoding each certificate into memory of
    /// its own took about 1.3 ms of a cold start for a 220 kB system bundle, most of it first
    /// touches of fresh pages, the dearest thing about a new process's memory; this way, 0.4 ms.
    fn read_bundle(path: &Path, file: File) -> std::io::Result<TrustedRoots> {
        const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
        const END: &[u8] = b"-----END CERTIFICATE-----";
        let mut reader = BufReader::with_capacity(16 * 1024, file);
        let mut line = Vec::with_capacity(128);
        let mut base64 = Vec::with_capacity(8 * 1024);
        let mut der = Vec::with_capacity(8 * 1024);
        let mut store = rustls::RootCertStore::empty();
        let (mut inside, mut skipped) = (false, 0);
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let line = line.trim_ascii();
            if line == BEGIN {
                // A block left open by a missing end line is not a certificate.
                skipped += usize::from(inside);
                inside = true;
                base64.clear();
            } else if !inside {
                continue;
            } else if line == END {
                inside = false;
                der.clear();
                let usable = STANDARD.decode_vec(&base64, &mut der).is_ok()
                    && store.add(CertificateDer::from(der.as_slice())).is_ok();
                skipped += usize::from(!usable);
            } else {
                base64.extend_from_slice(line);
            }
        }
        skipped += usize::from(inside);
        Ok(TrustedRoots::Bundle {
            path: path.to_path_buf(),
            certificates: store.len(),
            store: Arc::new(store),
            skipped,
        })
    }

    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            TrustedRoots::Bundle {
                path,
                certificates,
                skipped,
                ..
            } => {
                let plural = if *certificates == 1 { "" } else { "s" };
                let mut line =
                    format!("{certificates} certificate{plural} from {}", path.display());
                if *skipped > 0 {
                    line.push_str(&format!(
                        " ({skipped} skipped: not usable as trusted roots)"
                    ));
                }
                line
            }
            TrustedRoots::Native => {
                "the system's certificates, found by rustls-native-certs".to_owned()
            }
        }
    }

    /// The roots as the TLS client takes them: the bundle's, parsed when it was read, or those
    /// rustls-native-certs finds (certificates that do not parse are left out).
    pub(super) fn root_store(&self) -> Arc<rustls::RootCertStore> {
        match self {
            TrustedRoots::Bundle { store, .. } => Arc::clone(store),
            TrustedRoots::Native => {
                let found = rustls_native_certs::load_native_certs();
                if !found.errors.is_empty() {
                    tracing::warn!(errors = ?found.errors, "some system certificates could not be read");
                }
                let mut store = rustls::RootCertStore::empty();
                store.add_parsable_certificates(found.certs);
                Arc::new(store)
            }
        }
    }
}
