use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::KeyError;
use crate::roles::{Role, StaffPosition, UserStatus};

/// The access token's body. Every field but `pos` is required: a token missing any of them
/// fails to deserialize and is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub role: Role,
    pub status: UserStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<StaffPosition>,
    pub jti: Uuid,
    /// The login session (refresh-token family); logout revokes it.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: "rentory-identity".into(),
            audience: "rentory".into(),
            access_ttl: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    /// Bad signature, wrong algorithm, audience or issuer, missing claims, malformed. The
    /// reason is for logs only; callers answer every case with the same 401.
    #[error("the access token is invalid: {0}")]
    Invalid(String),
    #[error("could not sign the access token")]
    Signing,
}

pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
    pub expires_in: Duration,
}

/// Signs access tokens. Only the identity service has one.
pub struct TokenIssuer {
    key: EncodingKey,
    settings: TokenSettings,
}

impl TokenIssuer {
    pub fn new(private_pem: &SecretString, settings: TokenSettings) -> Result<Self, KeyError> {
        let key = EncodingKey::from_ed_pem(private_pem.expose_secret().as_bytes())
            .map_err(|_| KeyError::InvalidPem("private key"))?;
        Ok(Self { key, settings })
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        role: Role,
        status: UserStatus,
        position: Option<StaffPosition>,
        session_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let iat = now.unix_timestamp();
        let ttl = self.settings.access_ttl;
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user_id,
            role,
            status,
            pos: position,
            jti: Uuid::now_v7(),
            sid: session_id,
            iat,
            exp: iat.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .map_err(|_| TokenError::Signing)?;
        Ok(IssuedToken {
            token,
            claims,
            expires_in: ttl,
        })
    }
}

/// Checks access tokens with the public key alone.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(public_pem: &str, settings: &TokenSettings) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ed_pem(public_pem.as_bytes())
            .map_err(|_| KeyError::InvalidPem("public key"))?;
        // `Validation::new` pins the algorithm list to EdDSA alone, so `alg: none`, HS256 with
        // the public key as secret and every other algorithm swap are refused.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self { key, validation })
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                other => TokenError::Invalid(format!("{other:?}")),
            })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::keys::SigningKeyPair;

    fn pair() -> (TokenIssuer, TokenVerifier) {
        let keys = SigningKeyPair::generate().expect("keys");
        let settings = TokenSettings::default();
        (
            TokenIssuer::new(&keys.private_pem, settings.clone()).expect("issuer"),
            TokenVerifier::new(&keys.public_pem, &settings).expect("verifier"),
        )
    }

    fn issue(issuer: &TokenIssuer, now: OffsetDateTime) -> IssuedToken {
        issuer
            .issue(
                Uuid::now_v7(),
                Role::Tenant,
                UserStatus::Pending,
                None,
                Uuid::now_v7(),
                now,
            )
            .expect("issue")
    }

    /// Re-encodes a token's header and body as given, keeping the original signature.
    fn forge(token: &str, header: serde_json::Value, body: serde_json::Value) -> String {
        let signature = token.rsplit('.').next().unwrap_or_default();
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(body.to_string()),
            signature
        )
    }

    fn body(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).expect("body part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
    }

    #[test]
    fn a_fresh_token_verifies_with_all_claims() {
        let (issuer, verifier) = pair();
        let issued = issue(&issuer, OffsetDateTime::now_utc());
        let claims = verifier.verify(&issued.token).expect("valid");
        assert_eq!(claims, issued.claims);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let (issuer, verifier) = pair();
        let issued = issue(
            &issuer,
            OffsetDateTime::now_utc() - Duration::from_secs(3600),
        );
        assert!(matches!(
            verifier.verify(&issued.token),
            Err(TokenError::Expired)
        ));
    }

    #[test]
    fn a_token_signed_by_another_key_is_refused() {
        let (issuer, _) = pair();
        let (_, other_verifier) = pair();
        let issued = issue(&issuer, OffsetDateTime::now_utc());
        assert!(matches!(
            other_verifier.verify(&issued.token),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn alg_none_and_hs256_are_refused() {
        let (issuer, verifier) = pair();
        let issued = issue(&issuer, OffsetDateTime::now_utc());
        let claims = body(&issued.token);
        for alg in ["none", "HS256", "RS256"] {
            let forged = forge(
                &issued.token,
                serde_json::json!({"alg": alg, "typ": "JWT"}),
                claims.clone(),
            );
            assert!(verifier.verify(&forged).is_err(), "{alg} accepted");
            let unsigned = format!("{}.", forged.rsplit_once('.').expect("dot").0);
            assert!(
                verifier.verify(&unsigned).is_err(),
                "{alg} unsigned accepted"
            );
        }
    }

    #[test]
    fn wrong_audience_or_issuer_is_refused_even_when_correctly_signed() {
        let keys = SigningKeyPair::generate().expect("keys");
        let expected = TokenSettings::default();
        let verifier = TokenVerifier::new(&keys.public_pem, &expected).expect("verifier");
        for settings in [
            TokenSettings {
                audience: "someone-else".into(),
                ..TokenSettings::default()
            },
            TokenSettings {
                issuer: "evil".into(),
                ..TokenSettings::default()
            },
        ] {
            let issuer = TokenIssuer::new(&keys.private_pem, settings).expect("issuer");
            let issued = issue(&issuer, OffsetDateTime::now_utc());
            assert!(verifier.verify(&issued.token).is_err());
        }
    }

    #[test]
    fn tampered_or_incomplete_claims_are_refused() {
        let (issuer, verifier) = pair();
        let issued = issue(&issuer, OffsetDateTime::now_utc());
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT"});
        let mut promoted = body(&issued.token);
        promoted["role"] = "ADMIN".into();
        assert!(
            verifier
                .verify(&forge(&issued.token, header, promoted))
                .is_err()
        );
        // Correctly signed bodies that lack one claim each: refused for the missing claim,
        // not for the signature.
        for claim in ["iss", "aud", "sub", "role", "status", "jti", "sid", "exp"] {
            let mut claims = body(&issued.token);
            claims.as_object_mut().expect("object").remove(claim);
            let signed = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &issuer.key)
                .expect("sign");
            assert!(
                verifier.verify(&signed).is_err(),
                "missing {claim} accepted"
            );
        }
        let complete = jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &body(&issued.token),
            &issuer.key,
        )
        .expect("sign");
        assert!(verifier.verify(&complete).is_ok());
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let (_, verifier) = pair();
        for token in ["", ".", "..", "a.b.c", "e30.e30.", "🙂.🙂.🙂"] {
            assert!(verifier.verify(token).is_err());
        }
    }
}
