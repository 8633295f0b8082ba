//! Logging. Every line passes through a writer that scrubs registered
//! secrets, so a token that reaches a log line by any path comes out as
//! `[REDACTED]`.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Writes whole log lines to an inner writer after scrubbing secrets.
#[derive(Clone)]
pub struct Redacting<M>(pub M);

/// One log event, buffered so a secret split across writes is still found.
pub struct RedactingWriter<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buffer: Vec::with_capacity(256),
        }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let result = match cairn_core::secret::scrub(&text) {
            Some(clean) => self.inner.write_all(clean.as_bytes()),
            None => self.inner.write_all(&self.buffer),
        };
        self.buffer.clear();
        result.and_then(|_| self.inner.flush())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Installs the global subscriber: logs go to standard error.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = Redacting(io::stderr);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&io::stderr()));
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Pretty => builder.with_target(false).try_init(),
    };
    if let Err(error) = result {
        eprintln!("logging was already set up: {error}");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn registered_secrets_never_reach_a_log_line() {
        let capture = Capture::default();
        let sink = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(Redacting(move || sink.clone()))
            .finish();
        let token = cairn_core::secret::Secret::new("glpat-SuperSecretToken123");
        let copied = format!(
            "https://gitlab.example/api/v4/user?private_token={}",
            token.expose()
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(url = %copied, token = ?token, "calling GitLab");
            tracing::warn!("request failed for {}", copied);
        });
        let out = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(!out.contains("SuperSecretToken123"), "{out}");
        assert!(out.contains("private_token=[REDACTED]"), "{out}");
    }
}
