//! The one error type of the report module: every variant names the file.

use std::io;
use std::path::{Path, PathBuf};

/// Why reading or writing a results file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// An I/O call failed.
    #[error("cannot {op} {}", path.display())]
    Io {
        /// What we tried to do (`open`, `write`, `lock`, …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file is not valid JSON or does not hold what we expected.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (with the line, when we know it).
        what: String,
    },
}

impl ReportError {
    /// A content error for `path`.
    pub(crate) fn invalid(path: &Path, what: impl Into<String>) -> Self {
        ReportError::Invalid {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

/// Attaches the operation and path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T, ReportError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T, ReportError> {
        self.map_err(|source| ReportError::Io {
            op,
            path: path.to_path_buf(),
            source,
        })
    }
}
