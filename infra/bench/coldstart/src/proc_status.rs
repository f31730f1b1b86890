//! Figures of a running process from /proc (Linux only, like Lambda).

/// The process's peak resident set size so far (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    vm_hwm_kib(&status)
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_peak_from_a_status_file() {
        let status = "Name:\tapi\nVmPeak:\t  123456 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(9876));
        assert_eq!(vm_hwm_kib("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn reads_this_process() {
        assert!(peak_rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
