//! Printing an error with its causes, each once: `what failed: why: root
//! cause`. The error types in this crate never repeat their source in their
//! own message (thiserror's `source` carries it), so this is how an error
//! reaches a log line, a `check` line or a control-socket answer; the
//! binary's `{:#}` on anyhow does the same.

use std::error::Error;
use std::fmt;

/// Displays an error and its chain of sources.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read config x.toml")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn every_cause_once() {
        let e = Outer { source: std::io::Error::other("permission denied") };
        assert_eq!(Chain(&e).to_string(), "cannot read config x.toml: permission denied");
    }
}
