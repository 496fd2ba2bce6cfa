//! `GET /containers/{id}/top`: the container's processes (from its cgroup) as `ps` shows them.
//! Docker runs the host's `ps` with the caller's arguments and keeps the rows whose PID is in
//! the container; berth does the same.

use berth_api_types::container::ContainerTop;

use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

/// Keeps the header and the rows of `ps` output whose PID column is one of `pids`.
pub fn filter_ps(output: &str, pids: &[i32]) -> Result<ContainerTop> {
    let mut lines = output.lines();
    let header = lines.next().ok_or_else(|| Error::Internal("ps printed nothing".into()))?;
    let titles: Vec<String> = header.split_whitespace().map(str::to_owned).collect();
    let pid_col = titles.iter().position(|t| t == "PID").ok_or_else(|| Error::InvalidParameter("Couldn't find PID field in ps output".into()))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let Ok(pid) = fields[pid_col].parse::<i32>() else { continue };
        if !pids.contains(&pid) {
            continue;
        }
        // The last column (the command) keeps its spaces.
        let mut row: Vec<String> = fields[..titles.len() - 1].iter().map(|s| s.to_string()).collect();
        row.push(fields[titles.len() - 1..].join(" "));
        processes.push(row);
    }
    Ok(ContainerTop { titles, processes })
}

impl Engine {
    pub async fn top(&self, principal: &Principal, key: &str, ps_args: &str) -> Result<ContainerTop> {
        let ctr = self.find(principal, key)?;
        if !ctr.rec().state.status.is_live() {
            return Err(Error::Conflict(format!("Container {} is not running", ctr.id)));
        }
        let runtime = ctr.rec().host_config.runtime.clone();
        let pids = self
            .with_backend(runtime.as_deref(), &ctr.id, |rt, id| rt.pids(id))
            .await?
            .map_err(|e| Error::Internal(format!("list the processes of container {}: {}", &ctr.id[..12], crate::error::chain(&e))))?;
        let args: Vec<String> = if ps_args.trim().is_empty() { vec!["-ef".into()] } else { ps_args.split_whitespace().map(str::to_owned).collect() };
        let a = args.clone();
        let out = tokio::task::spawn_blocking(move || std::process::Command::new("ps").args(&a).output())
            .await
            .map_err(|e| Error::Internal(format!("top task: {e}")))?
            .map_err(|e| Error::Internal(format!("run ps (install procps for `top`): {e}")))?;
        if !out.status.success() {
            return Err(Error::InvalidParameter(format!("ps {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())));
        }
        filter_ps(&String::from_utf8_lossy(&out.stdout), &pids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_rows_are_filtered_by_pid() {
        let out = "UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 /sbin/init\nroot        4242       1  0 10:01 ?        00:00:00 sleep 600 now\n";
        let t = filter_ps(out, &[4242]).expect("top");
        assert_eq!(t.titles, ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
        assert_eq!(t.processes, vec![vec!["root", "4242", "1", "0", "10:01", "?", "00:00:00", "sleep 600 now"]]);
        assert!(filter_ps("USER COMMAND\n", &[1]).is_err());
    }
}
