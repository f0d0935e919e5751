//! Telling whether a recorded process is still the one that was recorded:
//! a PID plus its start time (field 22 of `/proc/<pid>/stat`, in clock ticks
//! since boot) names a process uniquely until reboot, whereas a PID alone is
//! recycled.

/// The start time of process `pid`, or `None` if there is no such process
/// (a zombie still counts as existing).
pub fn start_time(pid: u32) -> Option<u64> {
    if pid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 2..];
    // after_name starts at field 3 (state); field 22 is the 20th from here.
    after_name.split(' ').nth(19)?.parse().ok()
}

/// Whether process `pid` still runs and is the one that started at `start`
/// (zombies are not alive).
pub fn alive(pid: u32, start: u64) -> bool {
    if start_time(pid) != Some(start) {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rfind(')').and_then(|i| stat.get(i + 2..i + 3));
    !matches!(state, Some("Z") | Some("X") | None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_with_its_start_time() {
        let me = std::process::id();
        let start = start_time(me).expect("own stat");
        assert!(alive(me, start));
        assert!(!alive(me, start + 1));
        assert_eq!(start_time(0), None);
        assert!(!alive(u32::MAX - 1, 0));
    }
}
