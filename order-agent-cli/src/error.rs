//! The one error of the command line, with the exit code it maps to.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

/// Why a command could not run. Messages are lowercase, concrete, and name the user's input in
/// backticks.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// A usage or input problem (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 2,
        }
    }

    /// A file that could not be read or written (exit code 2).
    pub(crate) fn io(path: &Path, action: &str, error: &std::io::Error) -> CliError {
        CliError::usage(format!("cannot {action} `{}`: {error}", path.display()))
    }

    /// A check that failed (exit code 1).
    pub(crate) fn failed(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 1,
        }
    }

    /// The process exit code.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
