//! The gRPC handlers: who is calling and what they may do, then the rules and storage of
//! the other modules.

use std::time::Duration;

use rentory_auth::{Actor, Capability, RequestContext, Role, TokenVerifier, on_behalf};
use rentory_paystack::{PaystackClient, RefundRequest, SubaccountRequest};
use rentory_proto::events::v1::TransactionRefunded;
use rentory_proto::identity::v1 as identity;
use rentory_proto::identity::v1::identity_service_client::IdentityServiceClient;
use rentory_proto::listings::v1 as listings;
use rentory_proto::listings::v1::listings_client::ListingsClient;
use rentory_proto::payments::v1 as pb;
use rentory_proto::payments::v1::payments_server::Payments;
use rentory_runtime::grpc::PeerChannel;
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::audit::{self, Cause, Source, Transition};
use crate::checkout::{Checkouts, Plan, Started};
use crate::error::Error;
use crate::payout::{self, BankAccount};
use crate::rent::{self, Leases};
use crate::settlement::Settler;
use crate::transaction::{self, Status as TxStatus, Subject, Transaction, db};
use crate::webhook::Inbox;

pub const REFUNDED: &str = "rentory.payments.transaction.refunded";
/// A listing whose contact can be bought.
const ACTIVE_LISTING: &str = "ACTIVE";
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;
pub const MAX_REFUND_REASON_CHARS: usize = 500;

#[derive(Clone)]
pub struct PaymentsApi {
    pool: PgPool,
    verifier: TokenVerifier,
    identity: IdentityServiceClient<PeerChannel>,
    listings: ListingsClient<PeerChannel>,
    paystack: PaystackClient,
    checkouts: Checkouts,
    settler: Settler,
    inbox: Inbox,
    leases: Leases,
    contact_unlock_kobo: i64,
    payout_percentage_charge: f64,
    /// Longest a Paystack call can take, retries included.
    paystack_budget: Duration,
}

/// The parts of [`PaymentsApi`] built by `serve`.
pub struct Parts {
    pub pool: PgPool,
    pub verifier: TokenVerifier,
    pub identity: IdentityServiceClient<PeerChannel>,
    pub listings: ListingsClient<PeerChannel>,
    pub leases: Leases,
    pub paystack: PaystackClient,
    pub checkouts: Checkouts,
    pub settler: Settler,
    pub inbox: Inbox,
    pub contact_unlock_kobo: i64,
    pub payout_percentage_charge: f64,
    pub paystack_budget: Duration,
}

impl PaymentsApi {
    pub fn new(parts: Parts) -> Self {
        Self {
            pool: parts.pool,
            verifier: parts.verifier,
            identity: parts.identity,
            listings: parts.listings,
            paystack: parts.paystack,
            checkouts: parts.checkouts,
            settler: parts.settler,
            inbox: parts.inbox,
            leases: parts.leases,
            contact_unlock_kobo: parts.contact_unlock_kobo,
            payout_percentage_charge: parts.payout_percentage_charge,
            paystack_budget: parts.paystack_budget,
        }
    }

    fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Error> {
        Actor::from_metadata(request.metadata(), &self.verifier).map_err(Error::Unauthenticated)
    }
}

fn parse_id(field: &'static str, text: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text.trim()).map_err(|_| Error::invalid(field, "not a valid id"))
}

/// A transaction `actor` may see, by reference: their own, or any for finance staff. Others'
/// are "not found", like references that name nothing.
async fn visible(pool: &PgPool, actor: &Actor, reference: &str) -> Result<Transaction, Error> {
    if !transaction::is_valid_reference(reference) {
        return Err(Error::NotFound("transaction"));
    }
    db::find_by_reference(pool, reference)
        .await?
        .filter(|t| t.payer_id == actor.user_id || actor.can(Capability::ReadAllTransactions))
        .ok_or(Error::NotFound("transaction"))
}

fn checkout(started: Started) -> Result<pb::Checkout, Error> {
    let t = started.transaction;
    let (Some(url), Some(code)) = (t.authorization_url.clone(), t.access_code.clone()) else {
        return Err(Error::corrupt("a checkout without its authorization URL"));
    };
    Ok(pb::Checkout {
        reference: t.reference.clone(),
        authorization_url: url,
        access_code: code,
        amount_kobo: t.amount_kobo,
        transaction: Some(t.to_proto()),
        reused: started.reused,
    })
}

impl PaymentsApi {
    /// The payer's e-mail, which Paystack's checkout needs, from identity.
    async fn payer_email(&self, incoming: &MetadataMap) -> Result<String, Error> {
        let me = self
            .identity
            .clone()
            .get_me(on_behalf(incoming, identity::GetMeRequest {}))
            .await
            .map_err(Error::Upstream)?
            .into_inner();
        me.user
            .map(|u| u.email)
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| Error::corrupt("identity answered without the caller's e-mail"))
    }

    async fn init_contact_unlock(
        &self,
        request: Request<pb::InitContactUnlockRequest>,
    ) -> Result<pb::Checkout, Error> {
        let actor = self.actor(&request)?;
        if actor.role != Role::Tenant {
            return Err(Error::Forbidden("only tenants unlock a landlord's contact"));
        }
        if !actor.is_active() {
            return Err(Error::NotActive("unlock a landlord's contact"));
        }
        let property_id = parse_id("property_id", &request.get_ref().property_id)?;
        let incoming = request.metadata();
        let mut listings = self.listings.clone();
        let (property, email) = tokio::join!(
            listings.get_property(on_behalf(
                incoming,
                listings::GetPropertyRequest {
                    id: property_id.to_string(),
                },
            )),
            self.payer_email(incoming),
        );
        let property = property.map_err(Error::Upstream)?.into_inner();
        if property.status != ACTIVE_LISTING {
            return Err(Error::InvalidState(format!(
                "only an ACTIVE listing's contact can be unlocked; this one is {}",
                property.status
            )));
        }
        let plan = Plan {
            payer_id: actor.user_id,
            payer_email: email?,
            subject: Subject::Property(property_id),
            amount_kobo: self.contact_unlock_kobo,
            subaccount_code: None,
        };
        let started = self
            .checkouts
            .start(&plan, &Cause::person(Source::Checkout, &actor))
            .await?;
        checkout(started)
    }

    async fn init_rent(
        &self,
        request: Request<pb::InitRentRequest>,
    ) -> Result<pb::Checkout, Error> {
        let actor = self.actor(&request)?;
        if actor.role != Role::Tenant {
            return Err(Error::Forbidden("rent is paid by the lease's tenant"));
        }
        if !actor.is_active() {
            return Err(Error::NotActive("pay rent"));
        }
        let lease_id = parse_id("lease_id", &request.get_ref().lease_id)?;
        let incoming = request.metadata();
        let (lease, email) = tokio::join!(
            self.leases.find(incoming, lease_id),
            self.payer_email(incoming)
        );
        let lease = lease?;
        // The amount is the lease service's, whatever the client might think it owes.
        let (subject, amount_kobo) = rent::plan(actor.user_id, &lease)?;
        let payout = payout::find(&self.pool, lease.landlord_id).await?;
        let plan = Plan {
            payer_id: actor.user_id,
            payer_email: email?,
            subject,
            amount_kobo,
            subaccount_code: payout.map(|p| p.subaccount_code),
        };
        let started = self
            .checkouts
            .start(&plan, &Cause::person(Source::Checkout, &actor))
            .await?;
        checkout(started)
    }

    async fn verify(
        &self,
        request: Request<pb::VerifyTransactionRequest>,
    ) -> Result<Transaction, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let property = r
            .property_id
            .as_deref()
            .map(|p| parse_id("property_id", p))
            .transpose()?;
        let lease = r
            .lease_id
            .as_deref()
            .map(|l| parse_id("lease_id", l))
            .transpose()?;
        let found = visible(&self.pool, &actor, r.reference.trim()).await?;
        if property.is_some_and(|p| found.subject.property_id() != Some(p)) {
            return Err(Error::ReferenceMismatch(
                "reference belongs to another property",
            ));
        }
        if lease.is_some_and(|l| found.subject.lease_id() != Some(l)) {
            return Err(Error::ReferenceMismatch(
                "reference belongs to another lease",
            ));
        }
        let (outcome, now) = self
            .settler
            .check(found, &Cause::person(Source::ClientVerify, &actor))
            .await?;
        tracing::info!(reference = %now.reference, outcome = outcome.as_str(), caller = %actor.user_id, "verified on request");
        Ok(now)
    }

    async fn list(
        &self,
        request: Request<pb::ListTransactionsRequest>,
    ) -> Result<pb::ListTransactionsResponse, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        if r.all && !actor.can(Capability::ReadAllTransactions) {
            return Err(Error::Forbidden(
                "only ADMIN and FINANCIAL_CONTROLLER staff read everyone's transactions",
            ));
        }
        let limit = match r.limit {
            0 => DEFAULT_PAGE,
            n if n <= MAX_PAGE => n,
            _ => return Err(Error::invalid("limit", format!("1 - {MAX_PAGE}"))),
        };
        let before = match r.cursor.trim() {
            "" => None,
            cursor => Some(parse_id("cursor", cursor)?),
        };
        let payer = (!r.all).then_some(actor.user_id);
        let mut page = db::list(&self.pool, payer, before, i64::from(limit) + 1).await?;
        let next_cursor = if page.len() > limit as usize {
            page.truncate(limit as usize);
            page.last().map(|t| t.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListTransactionsResponse {
            transactions: page.iter().map(Transaction::to_proto).collect(),
            next_cursor,
        })
    }

    async fn has_unlock(
        &self,
        request: Request<pb::HasUnlockRequest>,
    ) -> Result<pb::HasUnlockResponse, Error> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let tenant = parse_id("tenant_id", &r.tenant_id)?;
        let property = parse_id("property_id", &r.property_id)?;
        if tenant != actor.user_id && !matches!(actor.role, Role::Admin | Role::Staff) {
            return Err(Error::Forbidden(
                "a tenant's unlocks are for that tenant and staff",
            ));
        }
        let reference = db::unlocked_reference(&self.pool, tenant, property).await?;
        Ok(pb::HasUnlockResponse {
            unlocked: reference.is_some(),
            reference: reference.unwrap_or_default(),
        })
    }

    async fn refund(
        &self,
        request: Request<pb::RefundTransactionRequest>,
    ) -> Result<Transaction, Error> {
        let actor = self.actor(&request)?;
        if !actor.can(Capability::IssueRefunds) {
            return Err(Error::Forbidden(
                "only ADMIN and FINANCIAL_CONTROLLER staff issue refunds",
            ));
        }
        let r = request.into_inner();
        let reason = r.reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("reason", "is required"));
        }
        if reason.chars().count() > MAX_REFUND_REASON_CHARS {
            return Err(Error::invalid(
                "reason",
                format!("at most {MAX_REFUND_REASON_CHARS} characters"),
            ));
        }
        let found = visible(&self.pool, &actor, r.reference.trim()).await?;
        if found.status == TxStatus::Refunded {
            // A retried refund answers as the first did.
            return Ok(found);
        }
        if found.status != TxStatus::Success {
            return Err(Error::InvalidState(format!(
                "only a SUCCESS transaction can be refunded; this one is {}",
                found.status
            )));
        }
        let Some(claimed) = db::start_refund(&self.pool, found.id, self.paystack_budget).await?
        else {
            return Err(Error::InvalidState(
                "a refund of this transaction is already under way".into(),
            ));
        };
        let asked = self
            .paystack
            .refund(&RefundRequest {
                transaction: claimed.reference.clone(),
                amount_kobo: None,
                merchant_note: Some(reason.to_owned()),
            })
            .await;
        let refund = match asked {
            Ok(refund) => refund,
            Err(e) => {
                db::abandon_refund(&self.pool, claimed.id).await?;
                return Err(Error::Paystack(e));
            }
        };
        let mut tx = self.pool.begin().await?;
        let refunded = db::refunded(&mut tx, claimed.id, reason)
            .await?
            .ok_or_else(|| Error::corrupt("a transaction being refunded left SUCCESS"))?;
        let cause = Cause::person(Source::Refund, &actor);
        let now = OffsetDateTime::now_utc();
        audit::append(
            &mut tx,
            &Transition {
                transaction_id: refunded.id,
                cause: &cause,
                from: Some(TxStatus::Success),
                to: TxStatus::Refunded,
                reason: Some(reason),
                at: now,
            },
        )
        .await?;
        rentory_events::enqueue(
            &mut tx,
            REFUNDED,
            &TransactionRefunded {
                transaction_id: refunded.id.to_string(),
                reference: refunded.reference.clone(),
                r#type: refunded.kind().as_str().to_owned(),
                payer_id: refunded.payer_id.to_string(),
                property_id: refunded.subject.property_id().map(|id| id.to_string()),
                lease_id: refunded.subject.lease_id().map(|id| id.to_string()),
                amount_kobo: refunded.amount_kobo,
                actor_id: actor.user_id.to_string(),
                reason: reason.to_owned(),
                at: Some(rentory_proto::timestamp(now)),
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(reference = %refunded.reference, paystack_refund_id = refund.id, refund_status = %refund.status, actor_id = %actor.user_id, "transaction refunded");
        Ok(refunded)
    }

    fn landlord(&self, actor: &Actor, what: &'static str) -> Result<(), Error> {
        if actor.role != Role::Landlord {
            return Err(Error::Forbidden("payout accounts are for landlords"));
        }
        if !actor.is_active() {
            return Err(Error::NotActive(what));
        }
        Ok(())
    }

    async fn set_payout(
        &self,
        request: Request<pb::SetPayoutAccountRequest>,
    ) -> Result<pb::PayoutAccount, Error> {
        let actor = self.actor(&request)?;
        self.landlord(&actor, "register a payout account")?;
        let account = BankAccount::check(request.get_ref()).map_err(Error::Invalid)?;
        let subaccount = self
            .paystack
            .create_subaccount(&SubaccountRequest {
                business_name: account.business_name.clone(),
                settlement_bank: account.bank_code.clone(),
                account_number: account.account_number.clone(),
                percentage_charge: self.payout_percentage_charge,
            })
            .await
            .map_err(Error::Paystack)?;
        let saved = payout::save(
            &self.pool,
            actor.user_id,
            &account,
            &subaccount.subaccount_code,
        )
        .await?;
        tracing::info!(landlord_id = %actor.user_id, bank_code = %saved.bank_code, subaccount_code = %saved.subaccount_code, "payout account set");
        Ok(saved.to_proto())
    }

    async fn get_payout(
        &self,
        request: Request<pb::GetPayoutAccountRequest>,
    ) -> Result<pb::PayoutAccount, Error> {
        let actor = self.actor(&request)?;
        self.landlord(&actor, "read a payout account")?;
        payout::find(&self.pool, actor.user_id)
            .await?
            .map(|p| p.to_proto())
            .ok_or(Error::NotFound("payout account"))
    }
}

#[tonic::async_trait]
impl Payments for PaymentsApi {
    async fn init_contact_unlock(
        &self,
        request: Request<pb::InitContactUnlockRequest>,
    ) -> Result<Response<pb::Checkout>, Status> {
        Ok(Response::new(
            PaymentsApi::init_contact_unlock(self, request).await?,
        ))
    }

    async fn init_rent(
        &self,
        request: Request<pb::InitRentRequest>,
    ) -> Result<Response<pb::Checkout>, Status> {
        Ok(Response::new(PaymentsApi::init_rent(self, request).await?))
    }

    async fn verify_transaction(
        &self,
        request: Request<pb::VerifyTransactionRequest>,
    ) -> Result<Response<pb::Transaction>, Status> {
        Ok(Response::new(self.verify(request).await?.to_proto()))
    }

    async fn handle_webhook(
        &self,
        request: Request<pb::HandleWebhookRequest>,
    ) -> Result<Response<pb::HandleWebhookResponse>, Status> {
        let delivery = RequestContext::from_metadata(request.metadata());
        let r = request.into_inner();
        let received = self.inbox.receive(&r.body, &r.signature, &delivery).await?;
        Ok(Response::new(pb::HandleWebhookResponse {
            event_id: received.event_id.to_string(),
            duplicate: received.duplicate,
        }))
    }

    async fn list_transactions(
        &self,
        request: Request<pb::ListTransactionsRequest>,
    ) -> Result<Response<pb::ListTransactionsResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn has_unlock(
        &self,
        request: Request<pb::HasUnlockRequest>,
    ) -> Result<Response<pb::HasUnlockResponse>, Status> {
        Ok(Response::new(PaymentsApi::has_unlock(self, request).await?))
    }

    async fn refund_transaction(
        &self,
        request: Request<pb::RefundTransactionRequest>,
    ) -> Result<Response<pb::Transaction>, Status> {
        Ok(Response::new(self.refund(request).await?.to_proto()))
    }

    async fn set_payout_account(
        &self,
        request: Request<pb::SetPayoutAccountRequest>,
    ) -> Result<Response<pb::PayoutAccount>, Status> {
        Ok(Response::new(self.set_payout(request).await?))
    }

    async fn get_payout_account(
        &self,
        request: Request<pb::GetPayoutAccountRequest>,
    ) -> Result<Response<pb::PayoutAccount>, Status> {
        Ok(Response::new(self.get_payout(request).await?))
    }
}
