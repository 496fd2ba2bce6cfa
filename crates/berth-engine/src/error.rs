//! The engine's errors. Each has an [`ErrorKind`], which `berth-api` turns into a status code in
//! one place; the text uses Docker's words where Docker clients match on them.

use std::path::PathBuf;

/// What kind of failure an [`Error`] is: decides the API status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    InvalidParameter,
    /// Credentials missing or refused (a registry login).
    Unauthorized,
    Conflict,
    Forbidden,
    NotModified,
    Unavailable,
    NotImplemented,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    /// Something else that is not there (a path in a container, a volume); the text says what.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidParameter(String),
    /// `create --platform` for an image of another platform: dockerd's words and its 404,
    /// which tells the CLI to pull the image for that platform.
    #[error("image with reference {reference} was found but does not match the specified platform: wanted {wanted}, actual: {actual}")]
    PlatformMismatch { reference: String, wanted: String, actual: String },
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("cannot remove container \"/{name}\": container is running: stop the container before removing or force remove")]
    RemoveRunning { name: String },
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Container {0} is paused, unpause the container before stopping or killing")]
    Paused(String),
    #[error("{0}")]
    Conflict(String),
    /// Nothing to do (start a running container, stop a stopped one): 304, no body.
    #[error("container {0} is already in that state")]
    NotModified(String),
    #[error("{what} is not allowed on this socket: {why}")]
    Refused { what: String, why: &'static str },
    /// Docker answers 403 (a pre-defined network cannot be removed, say).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} is not supported by berth yet")]
    NotImplemented(String),
    #[error("the daemon is shutting down")]
    ShuttingDown,
    #[error("{what} of container {id}")]
    Shim { what: &'static str, id: String, #[source] source: berth_shim::Error },
    #[error("{what} container {id}: {message}")]
    ShimSaid { what: &'static str, id: String, message: String },
    #[error("{what}: {}", path.display())]
    Io { what: &'static str, path: PathBuf, #[source] source: std::io::Error },
    #[error("image store")]
    Image(#[source] berth_image::ImageStoreError),
    #[error("load image")]
    Load(#[source] berth_image::LayoutError),
    #[error("container {id}: {what}")]
    Snapshot { id: String, what: &'static str, #[source] source: berth_image::SnapshotError },
    /// A registry refused, failed or sent something wrong; the text is Docker's where clients
    /// match on it.
    #[error(transparent)]
    Registry(#[from] berth_image::registry::RegistryError),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NoSuchContainer(_) | Error::NoSuchImage(_) | Error::NoSuchExec(_) | Error::NotFound(_) | Error::PlatformMismatch { .. } => ErrorKind::NotFound,
            Error::InvalidParameter(_) => ErrorKind::InvalidParameter,
            Error::NameInUse { .. } | Error::RemoveRunning { .. } | Error::NotRunning(_) | Error::Paused(_) | Error::Conflict(_) => ErrorKind::Conflict,
            Error::NotModified(_) => ErrorKind::NotModified,
            Error::Refused { .. } | Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::NotImplemented(_) => ErrorKind::NotImplemented,
            Error::ShuttingDown => ErrorKind::Unavailable,
            Error::Load(_) => ErrorKind::InvalidParameter,
            Error::Registry(e) => registry_kind(e),
            Error::Image(_) | Error::Shim { .. } | Error::ShimSaid { .. } | Error::Io { .. } | Error::Snapshot { .. } | Error::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(what: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_owned();
        move |source| Error::Io { what, path, source }
    }
}

impl From<berth_image::ImageStoreError> for Error {
    fn from(e: berth_image::ImageStoreError) -> Error {
        match e {
            berth_image::ImageStoreError::NotFound { name } => Error::NoSuchImage(name),
            other => Error::Image(other),
        }
    }
}

/// What a registry failure means for the client (dockerd's mapping: a name the registry does
/// not know is 404, refused credentials 401, a reference or image berth cannot take 400).
fn registry_kind(e: &berth_image::registry::RegistryError) -> ErrorKind {
    use berth_image::registry::RegistryError as R;
    match e {
        R::ManifestUnknown { .. } | R::AccessDenied { .. } | R::NoMatchingPlatform { .. } | R::PlatformMismatch { .. } => ErrorKind::NotFound,
        R::Status { status: 404, .. } => ErrorKind::NotFound,
        R::Unauthorized { .. } => ErrorKind::Unauthorized,
        R::Token { source, .. } => registry_kind(source),
        R::InvalidEndpoint { .. } | R::Schema1 { .. } | R::UnsupportedMediaType { .. } => ErrorKind::InvalidParameter,
        _ => ErrorKind::Internal,
    }
}

/// The error and its sources, joined with ": ", as the API and the logs show it.
pub fn chain(e: &dyn std::error::Error) -> String {
    berth_image::error_chain(e)
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
