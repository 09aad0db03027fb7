//! Restate's invocation ids: the `inv_1…` text the admin API shows, the bytes the start message
//! carries, and the random seed Restate derives from them.
//!
//! The text is `inv_`, the id scheme's version `1`, then two fixed-width base62 numbers (digits,
//! lower case, upper case): 11 digits for the partition key and 22 for the invocation's UUID.
//! Each number is the big-endian bytes read as a little-endian integer, so the id's bytes are
//! each number's little-endian bytes: the partition key's 8, then the UUID's 16.

use std::hash::{DefaultHasher, Hash, Hasher};

/// The bytes of an invocation id.
pub(crate) type InvocationIdBytes = [u8; 24];

const PREFIX: &str = "inv_1";
const PARTITION_KEY_DIGITS: usize = 11;
const UUID_DIGITS: usize = 22;

/// The bytes of the invocation id `text` (`inv_1…`), or what is wrong with it.
pub(crate) fn decode(text: &str) -> Result<InvocationIdBytes, String> {
    let digits = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| format!("`{text}` is not an invocation id (`{PREFIX}…`)"))?;
    if digits.len() != PARTITION_KEY_DIGITS + UUID_DIGITS {
        return Err(format!(
            "`{text}` is not an invocation id: {} characters after `{PREFIX}`, not {}",
            digits.len(),
            PARTITION_KEY_DIGITS + UUID_DIGITS
        ));
    }
    let (partition_key, uuid) = digits.split_at(PARTITION_KEY_DIGITS);
    let partition_key = u64::try_from(base62(partition_key, text)?)
        .map_err(|_| format!("`{text}`: its partition key does not fit in 64 bits"))?;
    let uuid = base62(uuid, text)?;
    let mut bytes = [0; 24];
    bytes[..8].copy_from_slice(&partition_key.to_le_bytes());
    bytes[8..].copy_from_slice(&uuid.to_le_bytes());
    Ok(bytes)
}

/// The random seed Restate hands the invocation `id` when it stored none of its own: a hash of
/// the id's bytes with the standard library's default hasher, as restate-server computes it.
///
/// Servers that enable the experimental `unique_random_seeds` store a seed mixed with the time
/// the invocation was created instead; no admin table shows it.
pub(crate) fn random_seed(id: &InvocationIdBytes) -> u64 {
    let mut hasher = DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

fn base62(digits: &str, text: &str) -> Result<u128, String> {
    digits.bytes().try_fold(0u128, |value, digit| {
        let digit = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'z' => digit - b'a' + 10,
            b'A'..=b'Z' => digit - b'A' + 36,
            _ => {
                return Err(format!(
                    "`{text}`: `{}` is not a base62 digit",
                    digit as char
                ));
            }
        };
        value
            .checked_mul(62)
            .and_then(|value| value.checked_add(u128::from(digit)))
            .ok_or_else(|| format!("`{text}`: a number too large for its width"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An id restate-server 1.7.12 gave a workflow `approval.Approval` keyed `a1`; its
    /// `state` rows name partition key 8190933209586040159.
    const ID: &str = "inv_18chTyKUhmg15lka5F9GcIn7soLM5flo2N";

    #[test]
    fn the_partition_key_comes_first_big_endian() {
        let bytes = decode(ID).unwrap();
        let partition_key = u64::from_be_bytes(bytes[..8].try_into().unwrap());
        assert_eq!(partition_key, 8_190_933_209_586_040_159);
    }

    #[test]
    fn malformed_ids_are_refused_with_the_reason() {
        assert!(decode("dp_18chTyKUhmg15lka5F9GcIn7soLM5flo2N").is_err());
        assert!(decode("inv_18chTy").unwrap_err().contains("characters"));
        assert!(
            decode("inv_18chTyKUhmg15lka5F9GcIn7soLM5flo2-")
                .unwrap_err()
                .contains("base62")
        );
        // 22 digits of `Z` overflow 128 bits.
        let too_large = format!("inv_1{}{}", "0".repeat(11), "Z".repeat(22));
        assert!(decode(&too_large).unwrap_err().contains("too large"));
    }

    #[test]
    fn the_seed_is_a_function_of_the_bytes() {
        let bytes = decode(ID).unwrap();
        assert_eq!(random_seed(&bytes), random_seed(&bytes));
        let mut other = bytes;
        other[23] ^= 1;
        assert_ne!(random_seed(&bytes), random_seed(&other));
    }
}
