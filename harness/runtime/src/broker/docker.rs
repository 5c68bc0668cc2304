//! Whether a Docker daemon answers (rung 2 needs one), and where it listens.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the Docker daemon listens, as `DOCKER_HOST` says (the Docker CLI's and
/// testcontainers' convention), else the default Unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerEndpoint {
    /// `unix:///path`, or `/var/run/docker.sock` when `DOCKER_HOST` is unset.
    Unix(PathBuf),
    /// `tcp://host:port`; `tls` when `DOCKER_TLS_VERIFY` or `DOCKER_CERT_PATH` is
    /// set (testcontainers then speaks HTTPS; our own plain-HTTP calls cannot).
    Tcp { address: String, tls: bool },
    /// Any other scheme (`ssh://`, `npipe://`, ...): the whole `DOCKER_HOST`.
    Unsupported(String),
}

impl DockerEndpoint {
    /// The endpoint `DOCKER_HOST` names, or the default Unix socket.
    pub fn from_env() -> DockerEndpoint {
        let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
        let tls = set("DOCKER_TLS_VERIFY") || set("DOCKER_CERT_PATH");
        match std::env::var("DOCKER_HOST") {
            Ok(host) if host.trim().is_empty() => Self::default_socket(),
            Ok(host) => Self::parse(&host, tls),
            Err(_) => Self::default_socket(),
        }
    }

    fn default_socket() -> DockerEndpoint {
        DockerEndpoint::Unix(PathBuf::from("/var/run/docker.sock"))
    }

    fn parse(host: &str, tls: bool) -> DockerEndpoint {
        if let Some(path) = host.strip_prefix("unix://") {
            DockerEndpoint::Unix(PathBuf::from(path))
        } else if let Some(address) = host.strip_prefix("tcp://") {
            DockerEndpoint::Tcp {
                address: address.trim_end_matches('/').to_string(),
                tls,
            }
        } else {
            DockerEndpoint::Unsupported(host.to_string())
        }
    }

    /// The first address a `tcp://` endpoint resolves to.
    pub fn tcp_address(address: &str) -> Option<SocketAddr> {
        std::net::ToSocketAddrs::to_socket_addrs(address)
            .ok()
            .and_then(|mut addrs| addrs.next())
    }
}

/// True when a Docker daemon answers: `GET /_ping` on its Unix socket, or a TCP
/// connection for a `tcp://` `DOCKER_HOST`, within 2 s. Other schemes (`ssh://`)
/// are not ones the tests' testcontainers can use: false.
///
/// A docker *client* on the PATH proves nothing (CI machines have one and no
/// engine), so we ask the daemon itself.
pub fn docker_answers() -> bool {
    match DockerEndpoint::from_env() {
        DockerEndpoint::Tcp { address, .. } => DockerEndpoint::tcp_address(&address)
            .and_then(|addr| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
            })
            .is_some(),
        DockerEndpoint::Unix(socket) => ping_unix_socket(&socket).unwrap_or(false),
        DockerEndpoint::Unsupported(_) => false,
    }
}

#[cfg(unix)]
fn ping_unix_socket(path: &Path) -> std::io::Result<bool> {
    let mut stream = std::os::unix::net::UnixStream::connect(path)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply.starts_with("HTTP/1.") && reply.contains(" 200 "))
}

#[cfg(not(unix))]
fn ping_unix_socket(_path: &Path) -> std::io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::DockerEndpoint;
    use std::path::PathBuf;

    #[test]
    fn docker_host_names_the_endpoint() {
        assert_eq!(
            DockerEndpoint::parse("unix:///tmp/dk/docker.sock", false),
            DockerEndpoint::Unix(PathBuf::from("/tmp/dk/docker.sock"))
        );
        assert_eq!(
            DockerEndpoint::parse("tcp://10.0.0.2:2376/", true),
            DockerEndpoint::Tcp {
                address: "10.0.0.2:2376".into(),
                tls: true
            }
        );
        assert_eq!(
            DockerEndpoint::parse("ssh://me@host", false),
            DockerEndpoint::Unsupported("ssh://me@host".into())
        );
    }
}
