//! What a report says about the machine and the moment it ran: results of
//! concurrent code mean little without the core count, the CPU, the kernel
//! and how busy the machine already was.

use std::ffi::CStr;

/// The machine a harness runs on.
#[derive(Clone, Debug)]
pub struct Machine {
    /// `std::thread::available_parallelism()`: the CPUs this process may use.
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub model: String,
    /// `sysname release machine`, as `uname -srm` prints them.
    pub os: String,
    /// The 1, 5 and 15 minute load averages from /proc/loadavg.
    pub load: String,
}

impl Machine {
    /// Reads the machine this process runs on.
    pub fn here() -> Machine {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            model,
            os: uname(),
            load,
        }
    }
}

/// `sysname release machine` from uname(2).
fn uname() -> String {
    // SAFETY: `utsname` is plain data (char arrays), valid when zeroed.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown OS".into();
    }
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates every field within its array.
        unsafe { CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

/// Current UTC date and time as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    // SAFETY: time(NULL) only returns the time; `tm` is plain data, valid when
    // zeroed, and gmtime_r writes only into it.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::gmtime_r(&now, &mut tm).is_null() {
            return "an unknown date".into();
        }
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min
        )
    }
}
