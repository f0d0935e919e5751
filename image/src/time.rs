//! RFC 3339 timestamps as image configs and Docker's JSON use them, in whole
//! Unix seconds (UTC). Kept here so every crate formats and reads `created`
//! the same way, without a date library.

/// An RFC 3339 UTC timestamp (`2024-01-02T03:04:05Z`) of Unix seconds.
pub fn format_rfc3339(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Inverse of days_from_civil (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// An RFC 3339 UTC timestamp with Go's `RFC3339Nano` fraction (trailing zeros
/// dropped, none when zero), as Docker shows container times:
/// `2024-01-02T03:04:05.5Z`.
pub fn format_rfc3339_nanos(epoch: u64, nanos: u32) -> String {
    let whole = format_rfc3339(epoch);
    if nanos == 0 {
        return whole;
    }
    let fraction = format!("{nanos:09}");
    format!(
        "{}.{}Z",
        &whole[..whole.len() - 1],
        fraction.trim_end_matches('0')
    )
}

/// The current time as (Unix seconds, nanoseconds).
pub fn now() -> (u64, u32) {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (since.as_secs(), since.subsec_nanos())
}

/// Seconds since the epoch of an RFC 3339 timestamp (`2024-01-02T03:04:05Z`, any fraction/offset).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let hms: Vec<i64> = time
        .get(..8)?
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let offset = match time[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()) {
        "Z" | "" => 0,
        tz => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let (h, mi) = tz[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + mi.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(y, m, day);
    u64::try_from(days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2] - offset).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(946_684_800), "2000-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(format_rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_709_294_400), "2024-03-01T12:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn formats_nanosecond_timestamps() {
        assert_eq!(format_rfc3339_nanos(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339_nanos(0, 500_000_000),
            "1970-01-01T00:00:00.5Z"
        );
        assert_eq!(
            format_rfc3339_nanos(0, 123_456_789),
            "1970-01-01T00:00:00.123456789Z"
        );
    }

    #[test]
    fn parses_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-03-01T12:00:00.123456789Z"),
            Some(1_709_294_400)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T13:00:00+01:00"),
            Some(1_709_294_400)
        );
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}
