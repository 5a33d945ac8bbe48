//! Who is calling, and what they may do.
//!
//! Identity alone holds the Ed25519 private key and issues access tokens ([`TokenIssuer`]);
//! every other service verifies them with the public key ([`TokenVerifier`]) and reads the
//! caller from gRPC metadata ([`Actor::from_metadata`]). Roles, statuses and staff positions are
//! the spec's (section 2.1); what a staff position may do is [`Capability`].

mod actor;
mod keys;
pub mod revocation;
mod roles;
mod token;

pub use actor::{Actor, AuthError, RequestContext, metadata, on_behalf};
pub use keys::{KeyError, SigningKeyPair};
pub use roles::{Capability, ParseEnumError, Role, StaffPosition, UserStatus};
pub use token::{Claims, IssuedToken, TokenError, TokenIssuer, TokenSettings, TokenVerifier};
