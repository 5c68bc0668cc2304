//! Which Kafka a broker is, asked of the broker itself: one `ApiVersions` v3
//! request over plain TCP, read by hand (a few dozen bytes; a Kafka protocol
//! crate would cost more build time than this file).
//!
//! Since Kafka 3.3 (KIP-778) the response's tagged fields carry the
//! `metadata.version` feature: the highest level the broker's software
//! *supports* and the level the cluster has *finalized*. Each level belongs to
//! one release (`MetadataVersion.java` in apache/kafka), so the supported level
//! names the release the broker runs (`4.1`; the protocol never says the patch
//! number), and the finalized one what the cluster uses (an operator may keep
//! it lower during an upgrade).
//!
//! Over SASL or SSL we do not speak the handshake: the answer is
//! "version unknown (SASL/SSL)", never an error.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the probe waits for a connection and an answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// `metadata.version` feature levels (1 = 3.0-IV1 … 34 = 4.5-IV0), from
/// apache/kafka's `server-common/.../MetadataVersion.java`.
const METADATA_VERSIONS: &[&str] = &[
    "3.0-IV1", "3.1-IV0", "3.2-IV0", "3.3-IV0", "3.3-IV1", "3.3-IV2", "3.3-IV3", "3.4-IV0",
    "3.5-IV0", "3.5-IV1", "3.5-IV2", "3.6-IV0", "3.6-IV1", "3.6-IV2", "3.7-IV0", "3.7-IV1",
    "3.7-IV2", "3.7-IV3", "3.7-IV4", "3.8-IV0", "3.9-IV0", "4.0-IV0", "4.0-IV1", "4.0-IV2",
    "4.0-IV3", "4.1-IV0", "4.1-IV1", "4.2-IV0", "4.2-IV1", "4.3-IV0", "4.4-IV0", "4.4-IV1",
    "4.4-IV2", "4.5-IV0",
];

/// The name of a `metadata.version` level, e.g. `4.1-IV1` for 27.
pub fn metadata_version_name(level: i16) -> Option<&'static str> {
    let index = usize::try_from(level).ok()?.checked_sub(1)?;
    METADATA_VERSIONS.get(index).copied()
}

/// What an `ApiVersions` answer says about `metadata.version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeatureLevels {
    /// The highest level the broker's software supports (SupportedFeatures).
    pub supported_max: Option<i16>,
    /// The level the cluster has finalized (FinalizedFeatures).
    pub finalized: Option<i16>,
}

impl FeatureLevels {
    /// `Apache Kafka 4.1.x (metadata.version 4.1-IV1)`, or what can be said.
    pub fn describe(&self) -> String {
        let release = self
            .supported_max
            .and_then(metadata_version_name)
            .map(|name| name.split('-').next().unwrap_or(name));
        let finalized = self
            .finalized
            .map(|level| match metadata_version_name(level) {
                Some(name) => format!("metadata.version {name}"),
                None => format!("metadata.version level {level}"),
            });
        match (release, finalized) {
            (Some(release), Some(finalized)) => format!("Apache Kafka {release}.x ({finalized})"),
            (Some(release), None) => format!("Apache Kafka {release}.x"),
            (None, Some(finalized)) => format!("Apache Kafka ({finalized})"),
            (None, None) => match self.supported_max {
                Some(level) => {
                    format!("Apache Kafka newer than 4.5 (metadata.version level {level})")
                }
                None => "Kafka older than 3.3, or not Apache Kafka (no metadata.version)".into(),
            },
        }
    }
}

/// Ask the first of `bootstrap_servers` that answers which Kafka it is.
/// `None` when none answers an `ApiVersions` request in time.
pub async fn probe_version(bootstrap_servers: &str) -> Option<String> {
    for server in bootstrap_servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let asked = tokio::time::timeout(PROBE_TIMEOUT, ask(without_scheme(server))).await;
        match asked {
            Ok(Ok(levels)) => return Some(levels.describe()),
            Ok(Err(reason)) => tracing::debug!("ApiVersions probe of {server}: {reason}"),
            Err(_) => {
                tracing::debug!("ApiVersions probe of {server}: no answer in {PROBE_TIMEOUT:?}")
            }
        }
    }
    None
}

/// `host:port` of a bootstrap entry: librdkafka also accepts a listener name in
/// front (`PLAINTEXT://host:port`, `SASL_SSL://host:port`), a TCP connect does not.
fn without_scheme(server: &str) -> &str {
    server
        .split_once("://")
        .map_or(server, |(_, address)| address)
}

/// One `ApiVersions` v3 round trip with `server`.
async fn ask(server: &str) -> Result<FeatureLevels, String> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(&api_versions_request(1))
        .await
        .map_err(|e| e.to_string())?;
    let size = stream.read_i32().await.map_err(|e| e.to_string())?;
    // A real answer is a few kilobytes; anything else is not Kafka speaking.
    let size = usize::try_from(size)
        .ok()
        .filter(|s| (4..=1 << 20).contains(s))
        .ok_or_else(|| format!("answer of absurd size {size}"))?;
    let mut body = vec![0; size];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| e.to_string())?;
    parse_api_versions_response(&body, 1)
}

/// `ApiVersions` (key 18) v3, request header v2, size-prefixed.
fn api_versions_request(correlation_id: i32) -> Vec<u8> {
    const CLIENT: &[u8] = b"kafka-resilience-lab";
    let mut message = Vec::new();
    message.extend_from_slice(&18i16.to_be_bytes());
    message.extend_from_slice(&3i16.to_be_bytes());
    message.extend_from_slice(&correlation_id.to_be_bytes());
    message.extend_from_slice(&(CLIENT.len() as i16).to_be_bytes());
    message.extend_from_slice(CLIENT);
    message.push(0); // header tagged fields
    for text in [CLIENT, env!("CARGO_PKG_VERSION").as_bytes()] {
        message.push(text.len() as u8 + 1); // compact string: uvarint length + 1
        message.extend_from_slice(text);
    }
    message.push(0); // body tagged fields
    let mut framed = (message.len() as i32).to_be_bytes().to_vec();
    framed.extend(message);
    framed
}

/// A cursor over a response that never reads past its end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err("the answer ends early".into());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16, String> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn uvarint(&mut self) -> Result<usize, String> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let byte = self.take(1)?[0];
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint longer than 5 bytes".into())
    }
    /// A compact array's or string's length (stored + 1; 0 is null).
    fn compact_len(&mut self) -> Result<usize, String> {
        Ok(self.uvarint()?.saturating_sub(1))
    }
    fn compact_string(&mut self) -> Result<String, String> {
        let n = self.compact_len()?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn skip_tagged_fields(&mut self) -> Result<(), String> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let n = self.uvarint()?;
            self.take(n)?;
        }
        Ok(())
    }
}

/// Read an `ApiVersions` v3 response (header v0: the correlation id only).
fn parse_api_versions_response(body: &[u8], correlation_id: i32) -> Result<FeatureLevels, String> {
    let mut reader = Reader { bytes: body };
    if reader.i32()? != correlation_id {
        return Err("the answer is to another request".into());
    }
    let error = reader.i16()?;
    if error == 35 {
        // UNSUPPORTED_VERSION: the broker predates ApiVersions v3 (Kafka 2.4).
        return Ok(FeatureLevels::default());
    }
    if error != 0 {
        return Err(format!("ApiVersions error code {error}"));
    }
    for _ in 0..reader.compact_len()? {
        reader.take(6)?; // api key, min and max version
        reader.skip_tagged_fields()?;
    }
    reader.i32()?; // throttle time
    let mut levels = FeatureLevels::default();
    for _ in 0..reader.uvarint()? {
        let tag = reader.uvarint()?;
        let size = reader.uvarint()?;
        let mut field = Reader {
            bytes: reader.take(size)?,
        };
        match tag {
            // SupportedFeatures: name, min_version, max_version.
            0 => {
                for _ in 0..field.compact_len()? {
                    let name = field.compact_string()?;
                    let (_min, max) = (field.i16()?, field.i16()?);
                    field.skip_tagged_fields()?;
                    if name == "metadata.version" {
                        levels.supported_max = Some(max);
                    }
                }
            }
            // FinalizedFeatures: name, max_version_level, min_version_level.
            2 => {
                for _ in 0..field.compact_len()? {
                    let name = field.compact_string()?;
                    let (max, _min) = (field.i16()?, field.i16()?);
                    field.skip_tagged_fields()?;
                    if name == "metadata.version" {
                        levels.finalized = Some(max);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_name_in_front_of_the_address_is_dropped() {
        assert_eq!(
            without_scheme("PLAINTEXT://localhost:9092"),
            "localhost:9092"
        );
        assert_eq!(
            without_scheme("SASL_SSL://b-1.example:9096"),
            "b-1.example:9096"
        );
        assert_eq!(without_scheme("127.0.0.1:39092"), "127.0.0.1:39092");
    }

    /// A v3 response with one API key and the two feature fields, as Kafka 4.1 sends.
    fn response(supported: i16, finalized: i16) -> Vec<u8> {
        let mut body = 1i32.to_be_bytes().to_vec();
        body.extend(0i16.to_be_bytes());
        body.push(2); // one api key
        body.extend([0, 18, 0, 0, 0, 4, 0]);
        body.extend(0i32.to_be_bytes());
        // One `metadata.version` entry; its two levels in wire order.
        let feature = |first: i16, second: i16| {
            let mut f = vec![2, 17];
            f.extend(b"metadata.version");
            f.extend(first.to_be_bytes());
            f.extend(second.to_be_bytes());
            f.push(0);
            f
        };
        // SupportedFeatures: min, max. FinalizedFeatures: max level, min level.
        let supported_field = feature(7, supported);
        let finalized_field = feature(finalized, finalized);
        body.push(2); // two tagged fields
        for (tag, field) in [(0u8, supported_field), (2u8, finalized_field)] {
            body.push(tag);
            body.push(field.len() as u8);
            body.extend(field);
        }
        body
    }

    #[test]
    fn the_request_is_a_framed_api_versions_v3() {
        let request = api_versions_request(7);
        let size = i32::from_be_bytes(request[..4].try_into().unwrap()) as usize;
        assert_eq!(size, request.len() - 4);
        assert_eq!(&request[4..8], &[0, 18, 0, 3]);
        assert_eq!(&request[8..12], &7i32.to_be_bytes());
    }

    #[test]
    fn kafka_4_1_is_named_from_its_feature_levels() {
        let levels = parse_api_versions_response(&response(27, 27), 1).unwrap();
        assert_eq!(levels.supported_max, Some(27));
        assert_eq!(levels.finalized, Some(27));
        assert_eq!(
            levels.describe(),
            "Apache Kafka 4.1.x (metadata.version 4.1-IV1)"
        );
    }

    #[test]
    fn truncated_or_foreign_answers_are_errors_not_panics() {
        let whole = response(27, 27);
        for cut in 0..whole.len() {
            let _ = parse_api_versions_response(&whole[..cut], 1);
        }
        assert!(parse_api_versions_response(&whole, 2).is_err());
        assert!(parse_api_versions_response(&[0xff; 64], 1).is_err());
    }

    #[test]
    fn levels_map_to_releases() {
        assert_eq!(metadata_version_name(1), Some("3.0-IV1"));
        assert_eq!(metadata_version_name(21), Some("3.9-IV0"));
        assert_eq!(metadata_version_name(27), Some("4.1-IV1"));
        assert_eq!(metadata_version_name(0), None);
        assert_eq!(metadata_version_name(99), None);
    }
}

/// Against a real broker when one is configured (CI sets one); otherwise it
/// says so and checks nothing.
#[cfg(test)]
mod against_a_broker {
    #[tokio::test]
    async fn a_configured_broker_names_its_release() {
        let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP_SERVERS") else {
            eprintln!("not checked: no KAFKA_BOOTSTRAP_SERVERS");
            return;
        };
        if std::env::var_os("KAFKA_CLIENT_PROPERTIES").is_some() {
            eprintln!("not checked: KAFKA_CLIENT_PROPERTIES may mean SASL/SSL");
            return;
        }
        let version = super::probe_version(&bootstrap).await;
        eprintln!("{bootstrap}: {version:?}");
        let version = version.expect("the configured broker answered no ApiVersions request");
        assert!(version.starts_with("Apache Kafka "), "{version}");
    }
}
