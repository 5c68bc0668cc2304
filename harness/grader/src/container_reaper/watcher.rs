//! The fork, and the watcher's life: wait for this process to end, then remove
//! every container with its session label (see the parent module for why).

use std::io;

use harness::broker::DockerEndpoint;

use super::raw_socket::{address_of, errno, exchange, status, Address};

/// What the watcher needs, all allocated before the fork.
struct Prepared {
    address: Address,
    /// `GET /containers/json?...` for this session's label.
    list_request: Vec<u8>,
    /// The daemon's answer to the list (a few KiB per container).
    list_answer: Vec<u8>,
    /// Room to build each `DELETE` request in.
    delete_request: Vec<u8>,
}

pub fn fork_watcher(endpoint: &DockerEndpoint, list_request: Vec<u8>) -> io::Result<()> {
    let prepared = Prepared {
        address: address_of(endpoint)?,
        list_request,
        list_answer: vec![0; 256 * 1024],
        delete_request: Vec::with_capacity(DELETE_HEAD.len() + ID_LENGTH + DELETE_TAIL.len()),
    };
    // Highest descriptor the watcher closes (it must not keep this process's
    // stdout/stderr pipes open: `grade` and cargo wait for their end).
    let max_fd = match unsafe { libc::sysconf(libc::_SC_OPEN_MAX) } {
        n if n > 0 => n.min(65_536) as libc::c_int,
        _ => 1024,
    };
    let (read_end, write_end) = cloexec_pipe()?;
    // SAFETY: the child runs `watch_then_remove` only, which makes
    // async-signal-safe system calls on memory prepared above, and never
    // returns (it ends in `_exit`).
    match unsafe { libc::fork() } {
        -1 => {
            let error = io::Error::last_os_error();
            unsafe {
                libc::close(read_end);
                libc::close(write_end);
            }
            Err(error)
        }
        0 => unsafe { watch_then_remove(read_end, max_fd, prepared) },
        _ => {
            // The parent keeps the write end open, on purpose, for the rest
            // of its life: its closing at exit is the signal. It is
            // close-on-exec, so the processes the tests spawn (cargo, the
            // lab binaries) do not inherit it and cannot delay the signal.
            unsafe { libc::close(read_end) };
            Ok(())
        }
    }
}

/// A pipe whose two ends are close-on-exec from the start: the tests spawn
/// processes on other threads, and one spawned between `pipe` and `fcntl` would
/// inherit the write end and hold the signal back for as long as it lives.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn cloexec_pipe() -> io::Result<(libc::c_int, libc::c_int)> {
    let mut fds = [0 as libc::c_int; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// Where `pipe2` is missing (macOS), `pipe` then `fcntl`: a spawn in between
/// can delay the sweep until that child exits.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn cloexec_pipe() -> io::Result<(libc::c_int, libc::c_int)> {
    let mut fds = [0 as libc::c_int; 2];
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for fd in fds {
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok((fds[0], fds[1]))
}

const DELETE_HEAD: &[u8] = b"DELETE /containers/";
const DELETE_TAIL: &[u8] = b"?force=true&v=true HTTP/1.0\r\nHost: docker\r\n\r\n";
/// Docker's container ids are 64 hex digits; nothing else is one.
const ID_LENGTH: usize = 64;

/// The watcher's whole life. Async-signal-safe calls only (see the module docs).
unsafe fn watch_then_remove(
    read_end: libc::c_int,
    max_fd: libc::c_int,
    mut prepared: Prepared,
) -> ! {
    // A session of its own: a Ctrl-C in the terminal goes to the foreground
    // process group, which must not take the watcher down with the tests.
    libc::setsid();
    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    libc::signal(libc::SIGINT, libc::SIG_IGN);
    libc::signal(libc::SIGHUP, libc::SIG_IGN);
    // Everything but the pipe's read end, the write end included: holding
    // the write end would keep the pipe open forever.
    for fd in 0..max_fd {
        if fd != read_end {
            libc::close(fd);
        }
    }
    let mut byte = 0u8;
    loop {
        let n = libc::read(read_end, &mut byte as *mut u8 as *mut libc::c_void, 1);
        if n == 0 || (n < 0 && errno() != libc::EINTR) {
            break; // the process we watch has ended
        }
    }
    // Sweep at once, then again: a create request still in flight at our death
    // (slow on a daemon whose storage driver copies the whole image) lands
    // later. Stop after two sweeps in a row that found nothing, or at the last
    // of SWEEP_PAUSES (about a minute in all).
    let mut failed = false;
    let mut empty_in_a_row = 0;
    for pause_after in SWEEP_PAUSES {
        match sweep(&mut prepared) {
            Swept::Nothing => empty_in_a_row += 1,
            Swept::Removed => empty_in_a_row = 0,
            Swept::Failed => {
                failed = true;
                empty_in_a_row = 0;
            }
        }
        if empty_in_a_row == 2 || pause_after == 0 {
            break;
        }
        pause(pause_after);
    }
    libc::_exit(if failed { 1 } else { 0 })
}

/// Seconds between sweeps (0: the last one).
const SWEEP_PAUSES: [libc::time_t; 5] = [3, 7, 20, 30, 0];

enum Swept {
    /// The daemon listed no container of this session.
    Nothing,
    /// Some were listed, and every one was removed.
    Removed,
    /// The daemon could not be asked, did not answer the list with 200, or
    /// refused a removal.
    Failed,
}

/// Remove every container with this session's label.
unsafe fn sweep(prepared: &mut Prepared) -> Swept {
    let mut answered = None;
    for _ in 0..5 {
        // Only a 200 is a list: a 4xx/5xx (a socket proxy, a daemon in trouble)
        // would otherwise read as "no containers" and leak silently.
        answered = exchange(
            &prepared.address,
            &prepared.list_request,
            &mut prepared.list_answer,
        )
        .filter(|&n| status(&prepared.list_answer[..n]) == b"200");
        if answered.is_some() {
            break;
        }
        pause(1);
    }
    let Some(length) = answered else {
        return Swept::Failed;
    };
    let mut listed = false;
    let mut all_removed = true;
    let mut rest = &prepared.list_answer[..length];
    while let Some(id) = next_id(&mut rest) {
        listed = true;
        prepared.delete_request.clear();
        prepared.delete_request.extend_from_slice(DELETE_HEAD); // within capacity: no allocation
        prepared.delete_request.extend_from_slice(id);
        prepared.delete_request.extend_from_slice(DELETE_TAIL);
        let mut answer = [0u8; 512];
        let mut removed = false;
        for _ in 0..3 {
            if let Some(n) = exchange(&prepared.address, &prepared.delete_request, &mut answer) {
                // 2xx removed; 404 already gone; 409 a removal already under way.
                let code = status(&answer[..n]);
                removed = code.first() == Some(&b'2') || code == b"404" || code == b"409";
                if removed {
                    break;
                }
            }
            pause(1);
        }
        all_removed &= removed;
    }
    match (listed, all_removed) {
        (false, _) => Swept::Nothing,
        (true, true) => Swept::Removed,
        (true, false) => Swept::Failed,
    }
}

/// The next `"Id":"..."` value in a `/containers/json` answer.
pub(super) fn next_id<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    const KEY: &[u8] = b"\"Id\":\"";
    loop {
        let at = rest.windows(KEY.len()).position(|window| window == KEY)?;
        let value = &rest[at + KEY.len()..];
        let end = value.iter().position(|&b| b == b'"')?;
        *rest = &value[end..];
        let id = &value[..end];
        if id.len() == ID_LENGTH && id.iter().all(u8::is_ascii_hexdigit) {
            return Some(id);
        }
    }
}

unsafe fn pause(seconds: libc::time_t) {
    let pause = libc::timespec {
        tv_sec: seconds,
        tv_nsec: 0,
    };
    libc::nanosleep(&pause, std::ptr::null_mut());
}
