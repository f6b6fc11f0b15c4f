-- Exactly once across regions (docs/ARCHITECTURE.md, "Exactly once").
--
-- Captures and cancels become objects of their own, as refunds are: each has an id derived from
-- the request (or the system decision) that is also its processor idempotency key, and its own
-- status. Regions replicate them as a set, so an operation one region accepted is never
-- overwritten by another region's payment snapshot; the payment's pending_operation and
-- amount_capture_requested are derived from the open ones.
create table payment_operations (
  id text primary key,
  payment_id text not null references payments (id),
  merchant_id text not null,
  kind text not null check (kind in ('capture', 'cancel')),
  amount bigint not null check (amount >= 0),
  currency char(3) not null,
  -- A cancel's reason: the merchant's cancellation_reason, 'expired' or 'duplicate'.
  reason text,
  status text not null check (status in ('pending', 'succeeded', 'failed')),
  failure_code text,
  failure_message text,
  origin_region text not null,
  hlc text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null default now()
);

create index payment_operations_payment on payment_operations (payment_id);
create index payment_operations_pending on payment_operations (updated_at) where status = 'pending';

-- A capture or cancel in progress before this migration was sent under the key
-- '<payment>:capture' or '<payment>:void': it keeps that key as its id, so a resend after the
-- upgrade is the same call to the processor, not a second one.
insert into payment_operations (id, payment_id, merchant_id, kind, amount, currency, reason, status,
  origin_region, hlc, created_at)
select id || case pending_operation when 'capture' then ':capture' else ':void' end, id, merchant_id,
  pending_operation, case pending_operation when 'capture' then amount_capture_requested else 0 end,
  currency, null, 'pending', origin_region, hlc, updated_at
from payments where pending_operation is not null;

-- Ids of payments, refunds and operations now derive from the request (UUIDv8 bodies, not
-- time-ordered): lists order by creation time, then id.
drop index payments_merchant_id;
create index payments_merchant_created on payments (merchant_id, created_at desc, id desc);

-- Refunds are ordered the same way wherever several are processed or listed.
create index refunds_payment_created on refunds (payment_id, created_at, id);
drop index refunds_payment;

-- Local bookkeeping (not replicated, not in the state digest): payments found to share one
-- Idempotency-Key with another, and what this region did to undo them. The loser's origin
-- region compensates: it cancels an authorization or refunds what was captured, with webhooks.
create table duplicate_payments (
  payment_id text primary key,
  merchant_id text not null,
  idempotency_key text not null,
  kept_payment_id text not null,
  detected_at timestamptz not null default now(),
  -- 'cancel' or 'refund' once issued; 'none' when nothing was charged (declined, failed, …).
  action text check (action in ('cancel', 'refund', 'none')),
  operation_id text,
  settled_at timestamptz
);
