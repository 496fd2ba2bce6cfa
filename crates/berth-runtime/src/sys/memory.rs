//! Keeping a long-lived small process small: its executable's pages beyond those it uses.

use std::io;

/// Drops the resident pages of this process's own executable (its read-only file mappings)
/// and marks them for random access, so later faults bring in single pages instead of the
/// kernel's fault-around neighbourhood. What the process still runs faults back in from the
/// page cache; the rest stops counting in its RSS. For a process that then loops over a
/// small part of a big binary (the shim's serving image).
pub fn shed_executable_pages() -> io::Result<()> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy().into_owned();
    // smaps, not maps: a read-only mapping may still hold written pages (RELRO, relocated at
    // start and then made read-only); its `Anonymous` count says so, and those are kept.
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut candidates = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-').filter(|(a, _)| a.bytes().all(|c| c.is_ascii_hexdigit())) {
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            current = None;
            if path == exe && !perms.contains('w') && perms.ends_with('p') {
                if let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                    current = Some((start, end));
                }
            }
        } else if first == "Anonymous:" {
            if let Some(range) = current.take() {
                if f.next() == Some("0") {
                    candidates.push(range);
                }
            }
        }
    }
    for (start, end) in candidates {
        // SAFETY: [start, end) is a whole private, read-only, file-backed mapping of our own
        // executable with no written (anonymous) page in it, per /proc/self/smaps: its pages
        // are the file's. MADV_RANDOM only changes read-ahead, and MADV_DONTNEED only unmaps
        // them; they fault back in from the unchanged file on the next access. No Rust object
        // lives in it.
        let r = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_RANDOM) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above.
        let r = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
