//! Removes the tests' Kafka container when the test process ends, however it ends.
//!
//! testcontainers-rs has no Ryuk (the reaper container that testcontainers-java
//! and -go start next to your containers), and the broker a test binary shares
//! is parked for the whole process, so nothing ever drops it: without this module
//! every `cargo test` left one idle 400 MiB broker per test binary behind.
//!
//! We do what Ryuk does, without an image to pull:
//!
//! 1. Before the container is created, this process forks a tiny *watcher*
//!    that holds the read end of a pipe. Only this process holds the write end.
//!    The container is then created with a label naming this process's session.
//! 2. When this process ends (tests passed, failed or panicked, Ctrl-C, a
//!    `SIGKILL` from a timeout, even while the container is still starting), the
//!    kernel closes the write end, and the watcher's blocking `read` returns 0.
//! 3. The watcher asks the Docker daemon for the containers with that label and
//!    sends each a `DELETE /containers/{id}?force=true&v=true` (kill, remove, and
//!    remove its anonymous volumes). It sweeps again a few seconds later, and
//!    again, until two sweeps in a row find nothing (a create request still in
//!    flight when we died lands in between), for about a minute at most.
//!
//! "However it ends" has one limit: a kill of the whole process tree or cgroup
//! (a cancelled CI job, `docker stop` of the container the tests run in) takes
//! the watcher too. The label is there for that case: see the README's cleanup.
//!
//! Why this and not testcontainers' reusable containers (one labelled broker kept
//! across runs)? A reused broker accumulates every run's topics and groups, and
//! it outlives reboots and version bumps: after a Docker restart it comes back
//! on a new host port while still advertising the old one. A broker per test
//! binary that is always removed costs 15-20 s of start-up per binary, but every
//! run starts from an empty, known broker and leaves nothing behind.
//!
//! Why a forked watcher and not a spawned helper: no helper binary is guaranteed
//! to sit next to a test binary, and the `docker` CLI may be missing where the
//! daemon runs. The price of `fork` in a multi-threaded process is that the
//! child may only make async-signal-safe calls (another thread may have held the
//! allocator's lock at the fork), so everything it needs (the address, the
//! request bytes) is prepared before the fork, and the child uses raw system
//! calls only: no allocation, no locks, no Rust I/O types.

//! ## Layout
//!
//! | module | concern |
//! |---|---|
//! | this file | the public call, the label, and why |
//! | `watcher` | the fork, and the watcher's life: wait for the end, sweep, exit |
//! | `raw_socket` | HTTP/1.0 to the Docker daemon with raw system calls only |

#[cfg(unix)]
mod raw_socket;
#[cfg(unix)]
mod watcher;
#[cfg(unix)]
use watcher as imp;

use std::io;

use harness::broker::DockerEndpoint;

/// The label key that ties a container to the test process that started it.
pub const SESSION_LABEL: &str = "kafka-resilience-lab.session";

/// Fork the watcher for this process, and return the value of [`SESSION_LABEL`]
/// that every container this process starts must carry. Call it before creating
/// the container, so that no moment of its life is left unwatched.
///
/// An error means nothing was arranged: the caller says how to remove the
/// container by hand.
pub fn watch_this_process(endpoint: &DockerEndpoint) -> io::Result<String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let session = format!("{}-{nanos}", std::process::id());
    let filters = format!(r#"{{"label":["{SESSION_LABEL}={session}"]}}"#);
    let list = format!(
        "GET /containers/json?all=true&filters={} HTTP/1.0\r\nHost: docker\r\n\r\n",
        percent_encode(&filters)
    );
    imp::fork_watcher(endpoint, list.into_bytes())?;
    Ok(session)
}

/// Every byte but ASCII letters and digits as `%XX` (enough for a query value).
fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(not(unix))]
mod imp {
    use std::io;

    use harness::broker::DockerEndpoint;

    pub fn fork_watcher(_endpoint: &DockerEndpoint, _request: Vec<u8>) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "removing the container at exit needs a Unix system",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn the_label_filter_is_percent_encoded() {
        assert_eq!(
            percent_encode(r#"{"label":["a.b=1-2"]}"#),
            "%7B%22label%22%3A%5B%22a%2Eb%3D1%2D2%22%5D%7D"
        );
    }

    #[cfg(unix)]
    #[test]
    fn ids_are_read_from_a_container_list_and_nothing_else_is() {
        let first = "8dfafdbc3a40".repeat(5) + "0123";
        let second = "0123abcd".repeat(8);
        let answer = format!(
            r#"HTTP/1.0 200 OK

[{{"Id":"{first}","Names":["/x"],"Labels":{{"Id":"not an id","x":"Id"}}}},{{"Id":"{second}"}},{{"Id":"short0123"}}]"#
        );
        let mut rest = answer.as_bytes();
        let mut ids = Vec::new();
        while let Some(id) = super::watcher::next_id(&mut rest) {
            ids.push(String::from_utf8_lossy(id).into_owned());
        }
        assert_eq!(ids, [first, second]);
    }
}
