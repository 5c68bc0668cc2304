//! The pinned Apache Kafka version.

/// The pinned Apache Kafka version, read at compile time from the repository's `.env`
/// (the same file `docker compose` and `scripts/kafka-local` read).
pub const KAFKA_VERSION: &str = pinned_kafka_version();

const fn pinned_kafka_version() -> &'static str {
    // A tiny const parser: `.env` holds `KAFKA_VERSION=x.y.z` on its own line.
    const ENV: &str = include_str!("../../../../.env");
    const KEY: &[u8] = b"KAFKA_VERSION=";
    let bytes = ENV.as_bytes();
    let mut i = 0;
    while i + KEY.len() <= bytes.len() {
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        let mut matches = at_line_start;
        let mut k = 0;
        while matches && k < KEY.len() {
            matches = bytes[i + k] == KEY[k];
            k += 1;
        }
        if matches {
            let start = i + KEY.len();
            let mut end = start;
            while end < bytes.len() && bytes[end] != b'\n' && bytes[end] != b'\r' {
                end += 1;
            }
            let (_, rest) = bytes.split_at(start);
            let (value, _) = rest.split_at(end - start);
            return match std::str::from_utf8(value) {
                Ok(v) => v,
                Err(_) => panic!(".env: KAFKA_VERSION is not UTF-8"),
            };
        }
        i += 1;
    }
    panic!(".env has no KAFKA_VERSION line")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_version_comes_from_dot_env() {
        assert!(KAFKA_VERSION.starts_with("4."), "{KAFKA_VERSION}");
    }
}
