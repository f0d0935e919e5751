//! The connection an `ADD <url>` download reads from: plain TCP for
//! `http://`, TLS (rustls, TLS 1.2 and 1.3) for `https://`.
//!
//! Certificates are checked against the system's trusted roots, read once
//! per process with `rustls-native-certs`: on Debian `/etc/ssl/certs`
//! (package ca-certificates). As with Docker and Go programs,
//! `SSL_CERT_FILE` (a PEM bundle) or `SSL_CERT_DIR` replace them, which is
//! how a private CA is trusted. The server name must match the URL's host
//! (a DNS name or an IP address).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// An open connection to a server.
pub(super) enum Connection {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Connection {
    /// Connects to `host:port`, with TLS when `tls`.
    pub(super) fn open(host: &str, port: u16, tls: bool) -> io::Result<Connection> {
        let stream = TcpStream::connect((host, port))?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
        if !tls {
            return Ok(Connection::Plain(stream));
        }
        let config = client_config()?;
        // A bracketed IPv6 literal is named without its brackets.
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(name.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
        let session = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Connection::Tls(Box::new(StreamOwned::new(session, stream))))
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Connection::Plain(s) => s.read(buf),
            Connection::Tls(s) => match s.read(buf) {
                // A server that closes without close_notify after a
                // complete body (common) is the end of a close-delimited
                // body; lengths and chunking are still checked by the caller.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Connection::Plain(s) => s.write(buf),
            Connection::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Connection::Plain(s) => s.flush(),
            Connection::Tls(s) => s.flush(),
        }
    }
}

/// The TLS client settings: the system's roots (see the module docs),
/// loaded once.
fn client_config() -> io::Result<Arc<ClientConfig>> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 {
                let why = loaded
                    .errors
                    .first()
                    .map_or("none found".to_string(), |e| e.to_string());
                return Err(format!(
                    "no trusted root certificates ({why}); install ca-certificates or set SSL_CERT_FILE"
                ));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(io::Error::other)
}
