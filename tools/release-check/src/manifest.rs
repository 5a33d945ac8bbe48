//! The part of a Knative `serving.knative.dev/v1` Service that Rentory's manifests use, as
//! Cloud Run reads it (`gcloud run services replace`). Unknown fields are allowed: Cloud Run
//! takes more than these checks look at.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a Cloud Run service manifest: {source}")]
    Parse {
        path: String,
        source: serde_norway::Error,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: ServiceSpec,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    /// The service's name; a revision template's metadata has none.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct ServiceSpec {
    pub template: RevisionTemplate,
}

#[derive(Debug, Deserialize)]
pub struct RevisionTemplate {
    pub metadata: Metadata,
    pub spec: RevisionSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSpec {
    pub container_concurrency: u32,
    pub timeout_seconds: u32,
    pub service_account_name: String,
    pub containers: Vec<Container>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub image: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    pub resources: Resources,
    pub startup_probe: Option<Probe>,
    pub liveness_probe: Option<Probe>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    pub name: String,
    pub container_port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    pub value_from: Option<EnvSource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvSource {
    pub secret_key_ref: SecretKeyRef,
}

/// A Secret Manager secret (`name`) and version (`key`: a number or `latest`).
#[derive(Debug, Deserialize)]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Deserialize)]
pub struct Resources {
    pub limits: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    pub http_get: Option<HttpGet>,
    pub grpc: Option<GrpcProbe>,
    #[serde(default)]
    pub initial_delay_seconds: u32,
    pub period_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub failure_threshold: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct HttpGet {
    pub path: String,
    pub port: Option<u16>,
}

#[derive(Debug, Deserialize)]
pub struct GrpcProbe {
    pub port: Option<u16>,
    pub service: Option<String>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: shown.clone(),
            source,
        })?;
        serde_norway::from_str(&text).map_err(|source| ManifestError::Parse {
            path: shown,
            source,
        })
    }

    /// The one container Rentory's services run (Cloud Run allows sidecars; none is used).
    pub fn container(&self) -> Option<&Container> {
        match self.spec.template.spec.containers.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// A revision annotation (`autoscaling.knative.dev/minScale`, `run.googleapis.com/...`).
    pub fn revision_annotation(&self, key: &str) -> Option<&str> {
        self.spec
            .template
            .metadata
            .annotations
            .get(key)
            .map(String::as_str)
    }

    pub fn service_annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.get(key).map(String::as_str)
    }
}

impl Container {
    pub fn env_names(&self) -> Vec<&str> {
        self.env.iter().map(|e| e.name.as_str()).collect()
    }

    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value.as_deref())
    }
}
