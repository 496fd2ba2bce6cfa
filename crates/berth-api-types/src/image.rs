//! Image endpoints: list, inspect, history, delete, prune, distribution; the JSON progress stream
//! of pull/push/load; registry auth (`X-Registry-Auth`, `POST /auth`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::{GraphDriver, HealthConfig};
use crate::header::HeaderError;
use crate::EmptyObject;

/// One item of `GET /images/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    /// `""` when there is none.
    pub parent_id: String,
    /// `[]` for an untagged image (older daemons sent `["<none>:<none>"]`).
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    pub size: i64,
    /// `Size` again, for clients of API versions before 1.44 (which removed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    /// -1 unless computed (`/system/df`).
    pub shared_size: i64,
    /// `null` when the image has none.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// -1 unless computed.
    pub containers: i64,
    /// The image's OCI descriptor (API 1.48+; absent for images without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<OciDescriptor>,
}

/// `GET /images/{name}/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    /// The image's OCI descriptor (API 1.48+; absent for images without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<OciDescriptor>,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// RFC 3339; absent when the image config has no date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The container an image was committed from (API versions before 1.45 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// That container's configuration (API versions before 1.45 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ImageConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ImageConfig>,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    pub size: i64,
    /// `Size` again, for clients of API versions before 1.44 (which removed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ImageMetadata>,
}

/// The image's runtime defaults: a subset of the container [`crate::container::Config`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// `RootFS`: `{"Type":"layers","Layers":["sha256:..."]}` (diff IDs, not layer digests).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageMetadata {
    /// RFC 3339; absent when never tagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tag_time: Option<String>,
}

/// One item of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryItem {
    /// The image ID for layers that are an image of their own, else `<missing>`.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub created_by: String,
    /// `null` when untagged.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    pub size: i64,
    pub comment: String,
}

/// One item of `DELETE /images/{name}`: exactly one of the two is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageDeleteResponseItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// `POST /images/prune` answer. `ImagesDeleted` is `null` when none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagePruneResponse {
    #[serde(default)]
    pub images_deleted: Option<Vec<ImageDeleteResponseItem>>,
    pub space_reclaimed: u64,
}

/// One line of the progress stream of `POST /images/create` (pull), `/images/{name}/push` and
/// `/images/load`: JSON objects separated by newlines, all camelCase.
///
/// A failure midway is reported in the stream with `error` and `errorDetail`, since the status
/// line (200) has already been sent; the docker CLI prints `errorDetail.message`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressMessage {
    /// The layer short ID or tag this line is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Pulling fs layer`, `Downloading`, `Pull complete`, `Digest: sha256:...`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Plain text for the client to print as is (`Loaded image: busybox:latest\n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// A pre-rendered bar (`[=====>    ] 1.2MB/3.4MB`), for old clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<ProgressDetail>,
    /// Deprecated duplicate of `errorDetail.message`, still read by clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorDetail>,
    /// Extra data such as the push result (`{"Tag","Digest","Size"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

/// Pull progress lines (`CreateImageInfo` in the API definition).
pub type CreateImageInfo = ProgressMessage;
/// Push progress lines (`PushImageInfo` in the API definition).
pub type PushImageInfo = ProgressMessage;

/// `progressDetail`: bytes so far and in total; `{}` on lines without a count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    pub message: String,
}

/// Registry credentials: the body of `POST /auth`, and, base64url-encoded, the
/// `X-Registry-Auth` header of pull and push. Never log it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Deprecated; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(
        rename = "serveraddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_address: Option<String>,
    /// A registry token, used instead of username and password.
    #[serde(
        rename = "identitytoken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub identity_token: Option<String>,
    #[serde(
        rename = "registrytoken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub registry_token: Option<String>,
    /// `user:password` base64, as in `~/.docker/config.json`; some clients send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
}

impl std::fmt::Debug for AuthConfig {
    /// Names the user and the registry; never the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("username", &self.username)
            .field("server_address", &self.server_address)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// The `X-Registry-Auth` value: base64url (with padding) of the JSON, as docker CLI and
    /// docker-py write it.
    pub fn to_header(&self) -> String {
        let json = serde_json::to_vec(self).expect("a struct of strings always serializes");
        crate::header::encode_url(&json)
    }

    /// Reads an `X-Registry-Auth` value. An empty header is no credentials, as in dockerd; both
    /// base64 alphabets are accepted, with or without padding.
    pub fn from_header(value: &str) -> Result<Self, HeaderError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(AuthConfig::default());
        }
        let bytes = crate::header::decode(value).ok_or(HeaderError::Base64)?;
        serde_json::from_slice(&bytes).map_err(HeaderError::Json)
    }
}

/// `POST /auth` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthResponse {
    /// `Login Succeeded`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_token: Option<String>,
}

/// `GET /distribution/{name}/json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DistributionInspect {
    pub descriptor: OciDescriptor,
    pub platforms: Vec<OciPlatform>,
}

/// An OCI content descriptor (lower camelCase, as in the OCI spec).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub digest: String,
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<OciPlatform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::round_trip;

    #[test]
    fn image_summary_and_inspect_round_trip() {
        let list: Vec<ImageSummary> = round_trip(
            r#"[{"Id":"sha256:ec3f0931a6e6b6855d76b2d7b0be30e81860baccd891b2e243280bf1cd8ad710",
          "ParentId":"","RepoTags":["busybox:latest"],"RepoDigests":[],"Created":1644009612,"Size":172064416,
          "SharedSize":-1,"Labels":null,"Containers":-1}]"#,
        );
        assert_eq!(list[0].repo_tags, ["busybox:latest"]);
        let json = r#"{"Id":"sha256:ec3f0931a6e6","RepoTags":["busybox:latest"],"RepoDigests":[],"Parent":"","Comment":"",
          "Created":"2022-02-04T21:20:12.497794809Z","DockerVersion":"","Author":"",
          "Config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"Labels":null},
          "Architecture":"amd64","Variant":"v8","Os":"linux","Size":1922936,
          "GraphDriver":{"Name":"overlayfs","Data":null},
          "RootFS":{"Type":"layers","Layers":["sha256:6d3e7d1b0e8c"]},
          "Metadata":{"LastTagTime":"2025-01-01T00:00:00Z"}}"#;
        // `Labels: null` inside Config is dropped on output (absent and null are both None).
        let img: ImageInspect = serde_json::from_str(json).unwrap();
        assert_eq!(img.root_fs.layers.as_ref().unwrap().len(), 1);
        assert_eq!(
            img.config.as_ref().unwrap().cmd.as_deref(),
            Some(&["sh".to_owned()][..])
        );
        let out = serde_json::to_value(&img).unwrap();
        assert_eq!(out["RootFS"]["Type"], "layers");
        assert_eq!(out["GraphDriver"]["Name"], "overlayfs");
        assert_eq!(out["Metadata"]["LastTagTime"], "2025-01-01T00:00:00Z");
    }

    #[test]
    fn history_delete_prune() {
        let h: Vec<HistoryItem> = round_trip(
            r#"[{"Id":"sha256:3e1f","Created":1398108230,
          "CreatedBy":"/bin/sh -c #(nop) CMD [\"sh\"]","Tags":["busybox:latest"],"Size":0,"Comment":""},
          {"Id":"<missing>","Created":1398108222,"CreatedBy":"ADD file:abc in /","Tags":null,"Size":1922936,"Comment":""}]"#,
        );
        assert_eq!(h[1].tags, None);
        let d: Vec<ImageDeleteResponseItem> =
            round_trip(r#"[{"Untagged":"busybox:latest"},{"Deleted":"sha256:3e1f"}]"#);
        assert_eq!(d[1].deleted.as_deref(), Some("sha256:3e1f"));
        let p: ImagePruneResponse =
            round_trip(r#"{"ImagesDeleted":[{"Deleted":"sha256:3e1f"}],"SpaceReclaimed":1922936}"#);
        assert_eq!(p.space_reclaimed, 1922936);
    }

    #[test]
    fn progress_stream_lines() {
        let lines = [
            r#"{"status":"Pulling from library/busybox","id":"latest"}"#,
            r#"{"status":"Downloading","progressDetail":{"current":524288,"total":2152262},"progress":"[============>      ]  524.3kB/2.152MB","id":"9ad63333ebc9"}"#,
            r#"{"status":"Pull complete","progressDetail":{},"id":"9ad63333ebc9"}"#,
            r#"{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}"#,
            r#"{"progressDetail":{},"aux":{"Tag":"latest","Digest":"sha256:abc","Size":527}}"#,
        ];
        let msgs: Vec<ProgressMessage> = lines.iter().map(|l| round_trip(l)).collect();
        assert_eq!(
            msgs[1].progress_detail.as_ref().unwrap().total,
            Some(2152262)
        );
        assert_eq!(msgs[2].progress_detail, Some(ProgressDetail::default()));
        assert_eq!(
            msgs[3].error_detail.as_ref().unwrap().message,
            "manifest unknown"
        );
        assert_eq!(msgs[4].aux.as_ref().unwrap()["Size"], 527);
    }

    #[test]
    fn registry_auth_header_round_trips_and_reads_docker_py() {
        let auth = AuthConfig {
            username: Some("me".into()),
            password: Some("s3cret?>".into()),
            server_address: Some("localhost:5000".into()),
            ..AuthConfig::default()
        };
        let header = auth.to_header();
        assert!(
            !header.contains('+') && !header.contains('/'),
            "base64url: {header}"
        );
        assert_eq!(AuthConfig::from_header(&header).unwrap(), auth);
        // docker-py: base64.urlsafe_b64encode(json.dumps({"username":"u","password":"p"}))
        let py = "eyJ1c2VybmFtZSI6ICJ1IiwgInBhc3N3b3JkIjogInAifQ==";
        let parsed = AuthConfig::from_header(py).unwrap();
        assert_eq!(parsed.username.as_deref(), Some("u"));
        assert_eq!(parsed.password.as_deref(), Some("p"));
        assert_eq!(AuthConfig::from_header("").unwrap(), AuthConfig::default());
        assert!(matches!(
            AuthConfig::from_header("%%%"),
            Err(HeaderError::Base64)
        ));
        assert!(matches!(
            AuthConfig::from_header("bm90IGpzb24"),
            Err(HeaderError::Json(_))
        ));
        assert!(!format!("{auth:?}").contains("s3cret"));
        let _: AuthResponse =
            round_trip(r#"{"Status":"Login Succeeded","IdentityToken":"9cbaf023786cd7"}"#);
    }

    #[test]
    fn distribution_inspect_round_trips() {
        let d: DistributionInspect = round_trip(
            r#"{"Descriptor":{"mediaType":"application/vnd.oci.image.index.v1+json",
          "digest":"sha256:c0537ff6a5218ef531ece93d4984efc99bbf3f7497c0a7726c88e2bb7584dc96","size":3987495},
          "Platforms":[{"architecture":"arm","os":"linux","variant":"v7","os.features":["sse4"]}]}"#,
        );
        assert_eq!(
            d.platforms[0].os_features.as_deref(),
            Some(&["sse4".to_owned()][..])
        );
    }
}
