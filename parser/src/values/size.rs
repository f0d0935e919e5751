//! Byte sizes as Docker reads them (`github.com/docker/go-units`):
//! [`ram_in_bytes`] (`RAMInBytes`, binary units: `-m 512m`, `--shm-size`,
//! `tmpfs-size`, a Dockerfile's `RUN --mount=type=tmpfs,size=`) and
//! [`from_human_size`] (`FromHumanSize`, decimal units: `1kB` = 1000).
//!
//! Both accept `NUMBER[ ][UNIT][i][b]` where UNIT is one of `kmgtp` (any
//! case), as go-units' regular expression does. Choices: surrounding
//! whitespace is trimmed (the CLI did so before), and a size at or beyond
//! `i64::MAX` bytes is refused instead of wrapping as Go's conversion does.

use super::ValueError;

/// `RAMInBytes`: `1024`, `1.5k`, `64m`, `64MB`, `2 GiB` (1k = 1024).
pub fn ram_in_bytes(text: &str) -> Result<i64, ValueError> {
    parse(text, 1024.0)
}

/// `FromHumanSize`: `1000`, `1kB`, `1.5M` (1k = 1000).
pub fn from_human_size(text: &str) -> Result<i64, ValueError> {
    parse(text, 1000.0)
}

fn parse(text: &str, base: f64) -> Result<i64, ValueError> {
    let invalid = || ValueError::InvalidSize {
        value: text.to_string(),
    };
    let trimmed = text.trim();
    let end = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(end);
    if !number.starts_with(|c: char| c.is_ascii_digit()) || number.ends_with('.') {
        return Err(invalid());
    }
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let power = unit_power(unit).ok_or_else(invalid)?;
    let bytes = value * base.powi(power);
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(ValueError::SizeTooLarge {
            value: text.to_string(),
        });
    }
    Ok(bytes as i64)
}

/// The power of the unit in ` ?([kKmMgGtTpP])?[iI]?[bB]?`, if it matches.
fn unit_power(unit: &str) -> Option<i32> {
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let mut rest = unit.as_str();
    let mut power = 0;
    if let Some(i) = rest.chars().next().and_then(|c| "kmgtp".find(c)) {
        power = i as i32 + 1;
        rest = &rest[1..];
    }
    rest = rest.strip_prefix('i').unwrap_or(rest);
    rest = rest.strip_prefix('b').unwrap_or(rest);
    rest.is_empty().then_some(power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_sizes_like_ram_in_bytes() {
        assert_eq!(ram_in_bytes("100").unwrap(), 100);
        assert_eq!(ram_in_bytes("1k").unwrap(), 1024);
        assert_eq!(ram_in_bytes("1.5k").unwrap(), 1536);
        assert_eq!(ram_in_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(ram_in_bytes("64MB").unwrap(), 64 << 20);
        assert_eq!(ram_in_bytes("2 GiB").unwrap(), 2 << 30);
        assert_eq!(ram_in_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(ram_in_bytes("1t").unwrap(), 1 << 40);
        assert_eq!(ram_in_bytes("10b").unwrap(), 10);
        assert_eq!(ram_in_bytes("9000000000000000000").unwrap(), 9e18 as i64);
        for bad in ["lots", "m", "10x", ".5k", "5.k", "-1", "1kk", "1ib2", ""] {
            assert_eq!(
                ram_in_bytes(bad).unwrap_err().to_string(),
                format!("invalid size: '{bad}'"),
                "{bad}"
            );
        }
        assert_eq!(
            ram_in_bytes("99999999999999999999")
                .unwrap_err()
                .to_string(),
            "invalid size: '99999999999999999999' (larger than 9223372036854775807 bytes)"
        );
    }

    #[test]
    fn decimal_sizes_like_from_human_size() {
        assert_eq!(from_human_size("1kB").unwrap(), 1000);
        assert_eq!(from_human_size("1.5M").unwrap(), 1_500_000);
        assert_eq!(from_human_size("32").unwrap(), 32);
        assert!(from_human_size("1q").is_err());
    }
}
