-- A refunded CONTACT_UNLOCK (rentory.payments.transaction.refunded) no longer opens the
-- landlord's contact. Unlocks are kept per transaction, so a refund removes exactly the
-- unlock it paid for (a tenant who is refunded and pays again keeps the second), and
-- refunded transactions are remembered, so a refund handled before its success (two
-- consumers, no order between them) still wins.
ALTER TABLE listings.contact_unlocks DROP CONSTRAINT contact_unlocks_pkey;
ALTER TABLE listings.contact_unlocks ADD CONSTRAINT contact_unlocks_pkey PRIMARY KEY (transaction_id);
ALTER TABLE listings.contact_unlocks DROP CONSTRAINT contact_unlocks_transaction_id_key;
CREATE INDEX contact_unlocks_pair_idx ON listings.contact_unlocks (tenant_id, property_id);

CREATE TABLE listings.refunded_unlocks (
    transaction_id uuid PRIMARY KEY,
    refunded_at    timestamptz NOT NULL
);
