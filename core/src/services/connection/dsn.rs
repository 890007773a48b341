//! Connection URLs: `engine://user:password@host:port/database?option=value`, or
//! `engine:///absolute/file` and `engine:relative/file` for file engines.

use secrecy::SecretString;
use url::Url;

use super::{absolute_file, parse_ssl_mode, ConnectionSpec};
use crate::services::error::Failure;
use crate::services::sanitize::Sanitizer;

fn decode(text: &str, what: &str) -> Result<String, Failure> {
    percent_decode(text).ok_or_else(|| {
        Failure::invalid_input(format!(
            "the DSN's {what} is not valid percent-encoded UTF-8"
        ))
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a DSN. The password (percent-decoded) goes to `sanitizer` before anything can fail
/// with a message that might contain it; parse errors never quote the DSN.
pub fn parse_dsn(dsn: &str, sanitizer: &mut Sanitizer) -> Result<ConnectionSpec, Failure> {
    let url = Url::parse(dsn).map_err(|error| {
        Failure::invalid_input(format!(
            "the DSN is not a valid URL ({error}); expected engine://user@host:port/database"
        ))
    })?;
    let mut spec = ConnectionSpec {
        engine: url.scheme().to_ascii_lowercase(),
        ..ConnectionSpec::default()
    };
    if let Some(password) = url.password() {
        let decoded = decode(password, "password")?;
        sanitizer.add_secret(&decoded);
        sanitizer.add_secret(password);
        spec.password = Some(SecretString::from(decoded));
    }
    if !url.username().is_empty() {
        spec.user = Some(decode(url.username(), "user name")?);
    }
    let host = url.host_str().filter(|host| !host.is_empty());
    match host {
        Some(host) => {
            // IPv6 literals come back bracketed; drivers want them bare.
            spec.host = Some(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            );
            spec.port = url.port();
            let database = url.path().trim_start_matches('/');
            if !database.is_empty() {
                spec.database = Some(decode(database, "database")?);
            }
        }
        None => {
            let path = decode(url.path(), "file path")?;
            if !path.is_empty() {
                spec.file = Some(absolute_file(std::path::Path::new(&path))?);
            }
        }
    }
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "sslmode" | "ssl-mode" | "ssl_mode" => spec.ssl_mode = Some(parse_ssl_mode(&value)?),
            "sslrootcert" | "ssl-ca" | "ssl_ca" => {
                spec.ssl_ca = Some(absolute_file(std::path::Path::new(value.as_ref()))?)
            }
            "password" => {
                sanitizer.add_secret(&value);
                spec.password = Some(SecretString::from(value.into_owned()));
            }
            _ => spec.options.push((key.into_owned(), value.into_owned())),
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn network_dsn_is_decoded_and_the_password_is_registered() {
        let mut sanitizer = Sanitizer::new();
        let spec = parse_dsn(
            "postgres://app%20user:p%40ss%2Fw@db.example:6543/shop%20db?sslmode=require&application_name=x",
            &mut sanitizer,
        )
        .expect("valid DSN");
        assert_eq!(spec.engine, "postgres");
        assert_eq!(spec.user.as_deref(), Some("app user"));
        assert_eq!(spec.host.as_deref(), Some("db.example"));
        assert_eq!(spec.port, Some(6543));
        assert_eq!(spec.database.as_deref(), Some("shop db"));
        assert_eq!(spec.ssl_mode, Some(plenum_plugin_api::SslMode::Require));
        assert_eq!(spec.options, vec![("application_name".into(), "x".into())]);
        assert_eq!(
            spec.password.as_ref().map(|p| p.expose_secret().to_owned()),
            Some("p@ss/w".to_owned())
        );
        assert_eq!(sanitizer.scrub("x p@ss/w y p%40ss%2Fw"), "x *** y ***");
    }

    #[test]
    fn file_dsn_gives_an_absolute_file() {
        let spec = parse_dsn("sqlite:///tmp/app.db", &mut Sanitizer::new()).expect("valid");
        assert_eq!(spec.engine, "sqlite");
        assert_eq!(
            spec.file.as_deref(),
            Some(std::path::Path::new("/tmp/app.db"))
        );
        assert!(spec.host.is_none());
    }

    #[test]
    fn bad_dsn_error_does_not_quote_the_dsn() {
        let error =
            parse_dsn("postgres://u:s3cr3t@[bad", &mut Sanitizer::new()).expect_err("invalid");
        assert!(!error.message.contains("s3cr3t"), "{}", error.message);
    }
}
