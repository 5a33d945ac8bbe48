use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the {0} is not a valid Ed25519 PEM key")]
    InvalidPem(&'static str),
    #[error("could not encode a generated key")]
    Encode,
}

/// An Ed25519 key pair in PEM (PKCS#8 private, SPKI public), as operators configure it in
/// `RENTORY_JWT_PRIVATE_KEY` / `RENTORY_JWT_PUBLIC_KEY`.
pub struct SigningKeyPair {
    pub private_pem: SecretString,
    pub public_pem: String,
}

impl SigningKeyPair {
    /// A fresh pair, for the local stack and tests: production keys come from Secret Manager.
    pub fn generate() -> Result<Self, KeyError> {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let private_pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)?;
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)?;
        Ok(Self {
            private_pem: SecretString::from(private_pem.as_str()),
            public_pem,
        })
    }
}

impl SigningKeyPair {
    /// The pair for a configured private key, deriving the public half so identity needs
    /// only one secret.
    pub fn from_private_pem(private_pem: SecretString) -> Result<Self, KeyError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        use secrecy::ExposeSecret;
        let signing = SigningKey::from_pkcs8_pem(private_pem.expose_secret())
            .map_err(|_| KeyError::InvalidPem("private key"))?;
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| KeyError::Encode)?;
        Ok(Self {
            private_pem,
            public_pem,
        })
    }
}
