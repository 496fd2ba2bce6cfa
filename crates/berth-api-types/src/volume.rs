//! Volume endpoints: create, inspect, list, prune.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /volumes/create` body. An absent or empty `Name` asks for a generated one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeCreateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `local` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// For `local`: `type`, `device`, `o` (as mount(8)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `GET /volumes/{name}` and the items of the list.
///
/// dockerd answers `"Labels": {}` but `"Options": null` when none were given; both stay as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Driver-specific status, free-form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// `local` or `global`.
    pub scope: String,
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// Only from `GET /system/df`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsageData>,
}

/// `-1` in either field means "not computed".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeUsageData {
    pub size: i64,
    pub ref_count: i64,
}

/// `GET /volumes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeListResponse {
    pub volumes: Vec<Volume>,
    /// `null` when none, in dockerd 28.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// `POST /volumes/prune` answer. `VolumesDeleted` is `null` when none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumePruneResponse {
    #[serde(default)]
    pub volumes_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    #[test]
    fn docker_cli_volume_create() {
        // `docker volume create --label x=y -o type=tmpfs -o device=tmpfs v1`, from docker 28.2.2.
        let req: VolumeCreateRequest =
            round_trip(include_str!("../testdata/docker-cli-28-volume-create.json"));
        assert_eq!(req.name.as_deref(), Some("v1"));
        assert_eq!(req.driver_opts.as_ref().unwrap()["type"], "tmpfs");
        assert_eq!(req.labels.as_ref().unwrap()["x"], "y");
    }

    #[test]
    fn volume_and_list_round_trip() {
        let json = r#"{"Volumes":[{"Name":"v1","Driver":"local","Mountpoint":"/var/lib/berth/volumes/v1/_data",
          "CreatedAt":"2016-06-07T20:31:11.853781916Z","Status":{"hello":"world"},"Labels":{},"Scope":"local",
          "Options":null,"UsageData":{"Size":-1,"RefCount":-1}}],"Warnings":null}"#;
        let list: VolumeListResponse = round_trip(json);
        let v = &list.volumes[0];
        assert_eq!(v.labels.as_ref().map(|l| l.len()), Some(0));
        assert_eq!(v.options, None);
        assert_eq!(v.usage_data.as_ref().unwrap().ref_count, -1);
        let p: VolumePruneResponse = round_trip(r#"{"VolumesDeleted":null,"SpaceReclaimed":0}"#);
        assert_eq!(p.space_reclaimed, 0);
    }
}
