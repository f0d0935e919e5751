//! How the CLI shows sizes and ages, the way Docker shows them.

/// Docker's "5 minutes ago" style.
pub(crate) fn human_age(epoch: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = now.saturating_sub(epoch);
    let (n, unit) = match secs {
        0..=59 => return "Less than a minute ago".to_string(),
        60..=3_599 => (secs / 60, "minute"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        86_400..=1_209_599 => (secs / 86_400, "day"),
        1_209_600..=5_183_999 => (secs / 604_800, "week"),
        5_184_000..=63_071_999 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Docker's `HumanDuration` (go-units): "Less than a second", "5 seconds",
/// "About a minute", "3 hours", …, as `ps` shows in "Up 5 seconds".
pub(crate) fn human_duration(secs: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (minutes, hours) = (secs / 60, secs / 3600);
    match secs {
        0 => "Less than a second".to_string(),
        1..=59 => plural(secs, "second"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => plural(minutes, "minute"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => plural(hours, "hour"),
        _ if hours < 24 * 14 => plural(hours / 24, "day"),
        _ if hours < 24 * 60 => plural(hours / 24 / 7, "week"),
        _ if hours < 24 * 730 => plural(hours / 24 / 30, "month"),
        _ => plural(hours / 24 / 365, "year"),
    }
}

/// Docker's decimal sizes: `4.26MB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + UNITS[unit]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
    }

    #[test]
    fn formats_sizes_like_docker() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_260_000), "4.26MB");
        assert_eq!(human_size(1_000), "1kB");
    }
}
