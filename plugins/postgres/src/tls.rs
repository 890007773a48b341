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
    let policy = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => CertificatePolicy::EncryptionOnly,
        SslMode::VerifyCa => CertificatePolicy::TrustedCaAnyName(trusted_roots(ca_file)?),
        SslMode::VerifyFull => {
            // rustls's own verifier checks both the chain and the host name.
            let config = builder
                .with_root_certificates(trusted_roots(ca_file)?)
                .with_no_client_auth();
            return Ok(MakeRustlsConnect::new(config));
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PolicyVerifier { policy, provider }))
        .with_no_client_auth();
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

/// Which certificates a [`PolicyVerifier`] accepts.
enum CertificatePolicy {
    /// `prefer` / `require`: encrypts, but accepts any certificate (as libpq does in these
    /// modes).
    EncryptionOnly,
    /// `verify-ca`: the certificate must chain to one of these CAs; its host names are not
    /// checked.
    TrustedCaAnyName(RootCertStore),
}

/// The verifier for the modes rustls has no built-in policy for. Whatever the policy, the
/// handshake signature is still checked against the presented certificate.
struct PolicyVerifier {
    policy: CertificatePolicy,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for PolicyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A root store has no Debug of its own; its size is what tells policies apart.
        let trusted_roots = match &self.policy {
            CertificatePolicy::EncryptionOnly => None,
            CertificatePolicy::TrustedCaAnyName(roots) => Some(roots.len()),
        };
        f.debug_struct("PolicyVerifier")
            .field("trusted_roots", &trusted_roots)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for PolicyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let CertificatePolicy::TrustedCaAnyName(roots) = &self.policy {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
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
