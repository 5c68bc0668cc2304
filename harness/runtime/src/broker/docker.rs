//! Whether a Docker daemon answers (rung 2 needs one).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// True when a Docker daemon answers: `GET /_ping` on its Unix socket, or a TCP
/// connection for a `tcp://` `DOCKER_HOST`, within 2 s.
///
/// A docker *client* on the PATH proves nothing (CI machines have one and no
/// engine), so we ask the daemon itself.
pub fn docker_answers() -> bool {
    let socket = match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => PathBuf::from(&host["unix://".len()..]),
        Ok(host) if host.starts_with("tcp://") => {
            let address = host["tcp://".len()..].trim_end_matches('/');
            return std::net::ToSocketAddrs::to_socket_addrs(address)
                .ok()
                .and_then(|mut addrs| addrs.next())
                .and_then(|addr| {
                    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
                })
                .is_some();
        }
        _ => PathBuf::from("/var/run/docker.sock"),
    };
    ping_unix_socket(&socket).unwrap_or(false)
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
