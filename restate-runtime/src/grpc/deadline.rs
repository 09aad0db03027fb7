//! The caller's deadline: the `grpc-timeout` request header of the gRPC protocol.

use std::time::Duration;

use tonic::metadata::MetadataMap;

/// The header carrying the deadline.
const GRPC_TIMEOUT: &str = "grpc-timeout";

/// How long the caller is willing to wait, if it said: `grpc-timeout` is at most eight digits
/// and a unit (`H`, `M`, `S`, `m`, `u`, `n`). A malformed value is ignored, as if absent.
pub(crate) fn timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get(GRPC_TIMEOUT)?.to_str().ok()?;
    parse(value)
}

fn parse(value: &str) -> Option<Duration> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(amount * 3600),
        'M' => Duration::from_secs(amount * 60),
        'S' => Duration::from_secs(amount),
        'm' => Duration::from_millis(amount),
        'u' => Duration::from_micros(amount),
        'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_malformed_values() {
        assert_eq!(parse("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse("99999999M"),
            Some(Duration::from_secs(99_999_999 * 60))
        );
        assert_eq!(parse("5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse("7n"), Some(Duration::from_nanos(7)));
        for bad in ["", "m", "123456789S", "1x", "-1S", "1.5S", "ü", "1ü"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
