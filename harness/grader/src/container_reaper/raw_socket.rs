//! HTTP/1.0 to the Docker daemon with raw system calls only.
//!
//! Everything here runs in the forked watcher, where only async-signal-safe
//! calls are allowed (see the parent module): no allocation, no locks, no Rust
//! I/O types. [`address_of`] is the exception: it runs before the fork.

use std::io;
use std::mem::{size_of, zeroed};

use harness::broker::DockerEndpoint;

/// A socket address ready for `connect(2)`, built before the fork.
pub(super) struct Address {
    pub(super) storage: libc::sockaddr_storage,
    pub(super) length: libc::socklen_t,
    pub(super) family: libc::c_int,
}

pub(super) fn address_of(endpoint: &DockerEndpoint) -> io::Result<Address> {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
    match endpoint {
        DockerEndpoint::Unix(path) => {
            use std::os::unix::ffi::OsStrExt;
            let bytes = path.as_os_str().as_bytes();
            // SAFETY: sockaddr_un fits in sockaddr_storage (that is its purpose).
            let unix = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_un) };
            if bytes.len() >= unix.sun_path.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("Docker socket path too long: {}", path.display()),
                ));
            }
            unix.sun_family = libc::AF_UNIX as libc::sa_family_t;
            for (slot, byte) in unix.sun_path.iter_mut().zip(bytes) {
                *slot = *byte as libc::c_char;
            }
            Ok(Address {
                storage,
                length: size_of::<libc::sockaddr_un>() as libc::socklen_t,
                family: libc::AF_UNIX,
            })
        }
        DockerEndpoint::Tcp { tls: true, .. } => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the Docker daemon speaks TLS (DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), and the reaper speaks plain HTTP only",
        )),
        DockerEndpoint::Unsupported(host) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("DOCKER_HOST={host} is neither unix:// nor tcp://"),
        )),
        DockerEndpoint::Tcp { address: host, .. } => {
            let resolved = DockerEndpoint::tcp_address(host).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("cannot resolve {host}"))
            })?;
            match resolved {
                std::net::SocketAddr::V4(v4) => {
                    // SAFETY: as above, sockaddr_in fits in sockaddr_storage.
                    let inet = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in) };
                    inet.sin_family = libc::AF_INET as libc::sa_family_t;
                    inet.sin_port = v4.port().to_be();
                    inet.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
                    Ok(Address {
                        storage,
                        length: size_of::<libc::sockaddr_in>() as libc::socklen_t,
                        family: libc::AF_INET,
                    })
                }
                std::net::SocketAddr::V6(v6) => {
                    // SAFETY: as above, sockaddr_in6 fits in sockaddr_storage.
                    let inet = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in6) };
                    inet.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                    inet.sin6_port = v6.port().to_be();
                    inet.sin6_addr.s6_addr = v6.ip().octets();
                    Ok(Address {
                        storage,
                        length: size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                        family: libc::AF_INET6,
                    })
                }
            }
        }
    }
}

/// One HTTP/1.0 request and its whole answer (read to the end: the daemon
/// must not see us hang up early, it may cancel a request whose client went
/// away). Returns how many bytes of the answer fit in `answer`, if any came.
pub(super) unsafe fn exchange(
    address: &Address,
    request: &[u8],
    answer: &mut [u8],
) -> Option<usize> {
    let socket = libc::socket(address.family, libc::SOCK_STREAM, 0);
    if socket < 0 {
        return None;
    }
    // Removing a running broker takes the daemon a few seconds; not forever.
    let timeout = libc::timeval {
        tv_sec: 60,
        tv_usec: 0,
    };
    for option in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        libc::setsockopt(
            socket,
            libc::SOL_SOCKET,
            option,
            &timeout as *const libc::timeval as *const libc::c_void,
            size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let connected = libc::connect(
        socket,
        &address.storage as *const libc::sockaddr_storage as *const libc::sockaddr,
        address.length,
    ) == 0;
    let answered = if connected && write_all(socket, request) {
        read_to_end(socket, answer)
    } else {
        None
    };
    libc::close(socket);
    answered.filter(|&n| n >= 12 && &answer[..5] == b"HTTP/")
}

/// The three status digits of an answer `exchange` returned (`HTTP/1.x NNN ...`).
pub(super) fn status(answer: &[u8]) -> &[u8] {
    answer.get(9..12).unwrap_or(b"")
}

unsafe fn write_all(socket: libc::c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let n = libc::write(socket, bytes.as_ptr() as *const libc::c_void, bytes.len());
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// Read until the daemon closes; what does not fit in `answer` is read and dropped.
unsafe fn read_to_end(socket: libc::c_int, answer: &mut [u8]) -> Option<usize> {
    let mut filled = 0usize;
    let mut overflow = [0u8; 512];
    loop {
        let room = &mut answer[filled..];
        let (target, len) = if room.is_empty() {
            (overflow.as_mut_ptr(), overflow.len())
        } else {
            (room.as_mut_ptr(), room.len())
        };
        let n = libc::read(socket, target as *mut libc::c_void, len);
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n < 0 {
            return None;
        }
        if n == 0 {
            return Some(filled);
        }
        if !room.is_empty() {
            filled += n as usize;
        }
    }
}

/// This thread's `errno` (reading it allocates nothing: an OS error is a plain code).
pub(super) fn errno() -> libc::c_int {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
