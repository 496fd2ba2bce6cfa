//! Healthchecks (`HEALTHCHECK`, `--health-cmd`): while a container runs, its probe runs as an
//! exec every interval (the start interval during the start period), with a timeout; the
//! result sets `State.Health` (`starting`, `healthy`, `unhealthy`, the failing streak and the
//! last five probes), which inspect, `ps` (`Up 5 seconds (healthy)`), the `health` filter and
//! `health_status` events show. Failures during the start period do not count. The monitor
//! ends when the container exits; a daemon restart starts it again for running containers.

use std::sync::Arc;
use std::time::Duration;

use berth_api_types::container::inspect::{Health, HealthcheckResult};
use berth_api_types::container::HealthConfig;
use berth_api_types::exec::ExecConfig;
use tokio::io::AsyncReadExt;

use super::record::Status;
use super::Ctr;
use crate::error::{Error, Result};
use crate::policy::Principal;
use crate::Engine;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Probe output kept per result, as Docker keeps it.
const OUTPUT_MAX: usize = 4096;
/// Results kept in `State.Health.Log`.
const LOG_MAX: usize = 5;

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

/// The probe's command, or `None` when there is no healthcheck (none set, or `NONE`).
pub fn probe_command(h: Option<&HealthConfig>) -> Option<Vec<String>> {
    let test = h?.test.as_ref()?;
    match test.first().map(String::as_str) {
        Some("CMD") if test.len() > 1 => Some(test[1..].to_vec()),
        Some("CMD-SHELL") if test.len() > 1 => Some(vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")]),
        _ => None,
    }
}

/// Checks a healthcheck as dockerd does at create.
pub fn validate(h: Option<&HealthConfig>) -> Result<()> {
    let Some(h) = h else { return Ok(()) };
    let bad = |m: &str| Err(Error::InvalidParameter(m.to_owned()));
    for (v, name) in [(h.interval, "Interval"), (h.timeout, "Timeout"), (h.start_period, "StartPeriod"), (h.start_interval, "StartInterval")] {
        if let Some(v) = v.filter(|v| *v != 0) {
            if v < 1_000_000 {
                return bad(&format!("{name} in Healthcheck cannot be less than 1ms"));
            }
        }
    }
    if h.retries.is_some_and(|r| r < 0) {
        return bad("Retries in Healthcheck cannot be negative");
    }
    match h.test.as_ref().and_then(|t| t.first()).map(String::as_str) {
        None | Some("NONE" | "CMD" | "CMD-SHELL") => Ok(()),
        Some(other) => bad(&format!("unknown healthcheck type {other:?}: want CMD, CMD-SHELL or NONE")),
    }
}

fn nanos(v: Option<i64>, default: Duration) -> Duration {
    v.filter(|n| *n > 0).map(|n| Duration::from_nanos(n as u64)).unwrap_or(default)
}

/// Docker's status suffix for `ps`: ` (healthy)`, ` (health: starting)`, ` (unhealthy)`.
pub fn status_suffix(h: Option<&Health>) -> String {
    match h.map(|h| h.status.as_str()) {
        Some(STARTING) => " (health: starting)".into(),
        Some(s @ (HEALTHY | UNHEALTHY)) => format!(" ({s})"),
        _ => String::new(),
    }
}

impl Engine {
    /// Starts the health monitor of `ctr` when it has a probe; `fresh` (a start, not a daemon
    /// restart) resets its health to `starting`.
    pub(crate) fn watch_health(self: &Arc<Self>, ctr: Arc<Ctr>, fresh: bool) {
        let config = ctr.rec().config.healthcheck.clone();
        let Some(cmd) = probe_command(config.as_ref()) else { return };
        let config = config.unwrap_or_default();
        if fresh || ctr.rec().state.health.is_none() {
            ctr.rec().state.health = Some(Health { status: STARTING.into(), failing_streak: 0, log: Some(Vec::new()) });
        }
        let exits = ctr.life.borrow().exits;
        let engine = self.clone();
        tokio::spawn(async move {
            let interval = nanos(config.interval, DEFAULT_INTERVAL);
            let start_interval = nanos(config.start_interval, DEFAULT_START_INTERVAL);
            let start_period = nanos(config.start_period, Duration::ZERO);
            let timeout = nanos(config.timeout, DEFAULT_TIMEOUT);
            let retries = config.retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES);
            let started = std::time::Instant::now();
            let mut life = ctr.life.subscribe();
            loop {
                let in_start = started.elapsed() < start_period;
                let wait = if in_start { start_interval.min(interval) } else { interval };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = life.wait_for(|l| l.exits != exits || l.removed) => return,
                }
                let status = ctr.rec().state.status;
                if life.borrow().exits != exits || engine.shutting_down() {
                    return;
                }
                if status != Status::Running {
                    continue; // paused: no probe
                }
                let result = engine.probe(&ctr, &cmd, timeout).await;
                if life.borrow().exits != exits {
                    return;
                }
                engine.record_probe(&ctr, result, retries, started.elapsed() < start_period);
            }
        });
    }

    /// Runs the probe once as an exec; a timeout kills it and reads as exit code -1.
    async fn probe(self: &Arc<Self>, ctr: &Arc<Ctr>, cmd: &[String], timeout: Duration) -> HealthcheckResult {
        let start = crate::time::now();
        let fail = |code: i64, output: String| HealthcheckResult { start: start.clone(), end: crate::time::now(), exit_code: code, output };
        let cfg = ExecConfig { cmd: Some(cmd.to_vec()), attach_stdout: Some(true), attach_stderr: Some(true), ..Default::default() };
        let exec_id = match self.exec_create(&Principal::Admin, &ctr.id, cfg) {
            Ok(id) => id,
            Err(e) => return fail(-1, crate::error::chain(&e)),
        };
        let result = async {
            let (mut stream, _) = match self.exec_start(&Principal::Admin, &exec_id, false).await {
                Ok(Some(s)) => s,
                Ok(None) => return fail(-1, "the probe did not attach".into()),
                Err(e) => return fail(-1, crate::error::chain(&e)),
            };
            let mut raw = Vec::new();
            let read = tokio::time::timeout(timeout, async {
                let mut buf = [0u8; 8192];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) if raw.len() < 4 * OUTPUT_MAX => raw.extend_from_slice(&buf[..n]),
                        Ok(_) => {}
                    }
                }
            })
            .await;
            if read.is_err() {
                self.kill_exec(&exec_id);
                return fail(-1, format!("Health check exceeded timeout ({}s)", timeout.as_secs_f64()));
            }
            let mut output = String::from_utf8_lossy(&crate::logs::take_frames(&mut raw)).into_owned();
            if output.len() > OUTPUT_MAX {
                let mut cut = OUTPUT_MAX;
                while !output.is_char_boundary(cut) {
                    cut -= 1;
                }
                output.truncate(cut);
            }
            let code = self.exec_exit_code(&exec_id).await.unwrap_or(-1);
            HealthcheckResult { start: start.clone(), end: crate::time::now(), exit_code: code, output }
        }
        .await;
        self.forget_exec(&exec_id);
        result
    }

    /// Applies a probe's result to `ctr`'s health; a change of status is an event.
    fn record_probe(&self, ctr: &Arc<Ctr>, result: HealthcheckResult, retries: i64, in_start_period: bool) {
        let changed = {
            let mut r = ctr.rec();
            let h = r.state.health.get_or_insert_with(|| Health { status: STARTING.into(), failing_streak: 0, log: Some(Vec::new()) });
            let before = h.status.clone();
            if result.exit_code == 0 {
                h.status = HEALTHY.into();
                h.failing_streak = 0;
            } else if !(in_start_period && h.status == STARTING) {
                h.failing_streak += 1;
                if h.failing_streak >= retries {
                    h.status = UNHEALTHY.into();
                }
            }
            let log = h.log.get_or_insert_with(Vec::new);
            log.push(result);
            if log.len() > LOG_MAX {
                log.remove(0);
            }
            let now = h.status.clone();
            if let Err(e) = r.save(&self.cfg.containers_dir()) {
                tracing::warn!(container = &ctr.id[..12], error = %crate::error::chain(&e), "saving the health status failed");
            }
            (before != now).then_some(now)
        };
        if let Some(status) = changed {
            self.container_event(ctr, &format!("health_status: {status}"), &[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_and_checks_follow_docker() {
        let h = |t: &[&str]| HealthConfig { test: Some(t.iter().map(|s| s.to_string()).collect()), ..Default::default() };
        assert_eq!(probe_command(Some(&h(&["CMD", "true"]))), Some(vec!["true".to_owned()]));
        assert_eq!(probe_command(Some(&h(&["CMD-SHELL", "exit 1"]))), Some(vec!["/bin/sh".to_owned(), "-c".into(), "exit 1".into()]));
        assert_eq!(probe_command(Some(&h(&["NONE"]))), None);
        assert_eq!(probe_command(None), None);
        assert!(validate(Some(&HealthConfig { interval: Some(10), ..h(&["CMD", "true"]) })).is_err());
        assert!(validate(Some(&HealthConfig { retries: Some(-1), ..h(&["CMD", "true"]) })).is_err());
        assert!(validate(Some(&h(&["SHELL", "x"]))).is_err());
        assert!(validate(Some(&HealthConfig { interval: Some(1_000_000_000), ..h(&["CMD", "true"]) })).is_ok());
        let mut mux = vec![1, 0, 0, 0, 0, 0, 0, 2, b'o', b'k', 2, 0, 0, 0, 0, 0, 0, 1, b'!', 1, 0];
        assert_eq!(crate::logs::take_frames(&mut mux), b"ok!");
        assert_eq!(mux, [1, 0], "a partial header waits");
        assert_eq!(status_suffix(Some(&Health { status: STARTING.into(), ..Default::default() })), " (health: starting)");
    }
}
