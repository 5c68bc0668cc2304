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
    /// `tcp://host:port` (plain TCP; a TLS daemon is reached by testcontainers
    /// itself, not by our ping or our container reaper).
    Tcp(String),
}

impl DockerEndpoint {
    /// The endpoint `DOCKER_HOST` names, or the default Unix socket.
    pub fn from_env() -> DockerEndpoint {
        match std::env::var("DOCKER_HOST") {
            Ok(host) if host.starts_with("unix://") => {
                DockerEndpoint::Unix(PathBuf::from(&host["unix://".len()..]))
            }
            Ok(host) if host.starts_with("tcp://") => {
                DockerEndpoint::Tcp(host["tcp://".len()..].trim_end_matches('/').to_string())
            }
            _ => DockerEndpoint::Unix(PathBuf::from("/var/run/docker.sock")),
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
/// connection for a `tcp://` `DOCKER_HOST`, within 2 s.
///
/// A docker *client* on the PATH proves nothing (CI machines have one and no
/// engine), so we ask the daemon itself.
pub fn docker_answers() -> bool {
    match DockerEndpoint::from_env() {
        DockerEndpoint::Tcp(address) => DockerEndpoint::tcp_address(&address)
            .and_then(|addr| {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
            })
            .is_some(),
        DockerEndpoint::Unix(socket) => ping_unix_socket(&socket).unwrap_or(false),
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
