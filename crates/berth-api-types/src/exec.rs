//! Exec endpoints: create (`POST /containers/{id}/exec`), start (`POST /exec/{id}/start`),
//! inspect (`GET /exec/{id}/json`). Resize has no body.

use serde::{Deserialize, Serialize};

/// `POST /containers/{id}/exec` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    /// `[height, width]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach_keys: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// Required; an empty or missing command is refused by the server (`No exec command specified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Sent by docker CLI 28 (`exec -d`) although the API ignores it at create time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach: Option<bool>,
}

/// `201` answer to exec create (`{"Id": "..."}`); the same shape as other ID answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecCreateResponse {
    pub id: String,
}

/// `POST /exec/{id}/start` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecStartConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<Vec<u64>>,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    pub running: bool,
    /// `null` until the process has exited.
    #[serde(default)]
    pub exit_code: Option<i64>,
    pub process_config: ExecProcessConfig,
    pub open_stdin: bool,
    pub open_stderr: bool,
    pub open_stdout: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// 0 until started.
    pub pid: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_remove: Option<bool>,
    #[serde(
        rename = "DetachKeys",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub detach_keys: Option<String>,
}

/// `ProcessConfig` of exec inspect: lower camelCase, unlike its parent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecProcessConfig {
    pub arguments: Vec<String>,
    pub entrypoint: String,
    pub privileged: bool,
    pub tty: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    #[test]
    fn docker_cli_exec_create_and_start() {
        // `docker exec -d -e X=1 -u root -w /tmp web ls`, captured from docker 28.2.2.
        let c: ExecConfig = round_trip(include_str!("../testdata/docker-cli-28-exec-create.json"));
        assert_eq!(c.cmd.as_deref(), Some(&["ls".to_owned()][..]));
        assert_eq!(c.user.as_deref(), Some("root"));
        assert_eq!(c.working_dir.as_deref(), Some("/tmp"));
        assert_eq!(c.detach, Some(true));
        let s: ExecStartConfig =
            round_trip(include_str!("../testdata/docker-cli-28-exec-start.json"));
        assert_eq!(s.detach, Some(true));
        let r: ExecCreateResponse = round_trip(r#"{"Id":"e1"}"#);
        assert_eq!(r.id, "e1");
    }

    #[test]
    fn exec_inspect_round_trips() {
        let json = r#"{"CanRemove":false,"ContainerID":"b53ee82b53a40c7dca428523e34f741f3abc51d9f297a14ff874bf761b995126",
          "DetachKeys":"","ExitCode":2,"ID":"f33bbfb39f5b142420f4759b2348913bd4a8d1a6d7fd56499cb41a1bb91d7b3b",
          "OpenStderr":true,"OpenStdin":true,"OpenStdout":true,
          "ProcessConfig":{"arguments":["-c","exit 2"],"entrypoint":"sh","privileged":false,"tty":true,"user":"1000"},
          "Running":false,"Pid":42000}"#;
        let e: ExecInspect = round_trip(json);
        assert_eq!(e.exit_code, Some(2));
        assert_eq!(e.process_config.entrypoint, "sh");
        let running: ExecInspect =
            round_trip(&json.replace(r#""ExitCode":2"#, r#""ExitCode":null"#));
        assert_eq!(running.exit_code, None);
    }
}
