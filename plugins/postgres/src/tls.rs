//! TLS for PostgreSQL connections: rustls with the ring provider, one certificate policy per
//! [`SslMode`].
//!
//! | mode          | TLS                          | certificate check                         |
//! |---------------|------------------------------|-------------------------------------------|
//! | `disable`     | never                        | —                                         |
//! | `prefer`      | if the server offers it      | none                                      |
//! | `require`     | always                       | none (encryption only)                    |
//! | `verify-ca`   | always                       | chain to a trusted CA, any host name      |
//! | `verify-full` | always                       | chain to a trusted CA and the host name   |
//!
//! Trusted CAs are the PEM file in `ssl_ca` when given, else the system's trust store.

use std::fmt;
use std::sync::Arc;

use plenum_plugin_api::{PluginError, PluginResult, SslMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector for `mode`, also used for cancel requests so they travel like the session.
///
/// `ca_file` is a PEM file of trusted CA certificates, used by `verify-ca` and `verify-full`.
pub fn connector(mode: SslMode, ca_file: Option<&str>) -> PluginResult<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| tls_setup_error(&error))?;
    let config = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptionOnly { provider }))
            .with_no_client_auth(),
        SslMode::VerifyCa => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(TrustedCaAnyName {
                roots: trusted_roots(ca_file)?,
                provider,
            }))
            .with_no_client_auth(),
        SslMode::VerifyFull => builder
            .with_root_certificates(trusted_roots(ca_file)?)
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The `sslmode` name of `mode`, as libpq spells it.
pub fn mode_name(mode: SslMode) -> &'static str {
    match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

fn tls_setup_error(error: &dyn fmt::Display) -> PluginError {
    PluginError::connection(format!("TLS setup failed: {error}"))
}

fn trusted_roots(ca_file: Option<&str>) -> PluginResult<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path).map_err(|error| {
                PluginError::connection(format!(
                    "TLS setup failed: cannot read CA file {path}: {error}"
                ))
            })?;
            for cert in certs {
                let cert = cert.map_err(|error| {
                    PluginError::connection(format!(
                        "TLS setup failed: bad PEM in CA file {path}: {error}"
                    ))
                })?;
                roots.add(cert).map_err(|error| {
                    PluginError::connection(format!(
                        "TLS setup failed: unusable certificate in CA file {path}: {error}"
                    ))
                })?;
            }
            if roots.is_empty() {
                return Err(PluginError::connection(format!(
                    "TLS setup failed: CA file {path} holds no certificate"
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(PluginError::connection(
                    "TLS setup failed: no CA file given and the system trust store is empty",
                ));
            }
        }
    }
    Ok(roots)
}

/// `prefer` / `require`: encrypts, but accepts any certificate (as libpq does in these modes).
/// The handshake signature is still checked against the presented certificate.
#[derive(Debug)]
struct EncryptionOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptionOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the certificate must chain to a trusted CA; its host names are not checked.
struct TrustedCaAnyName {
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for TrustedCaAnyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedCaAnyName")
            .field("roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for TrustedCaAnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
