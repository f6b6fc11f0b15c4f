-- The fast path: payments, their idempotency records and the transactional outbox.
-- Money columns are bigint minor units; no numeric/float column ever holds an amount.

create table payments (
  id text primary key,
  merchant_id text not null,
  amount bigint not null check (amount > 0),
  currency char(3) not null,
  status text not null check (status in (
    'pending', 'authorized', 'captured', 'partially_refunded', 'refunded',
    'declined', 'failed', 'canceled', 'expired')),
  capture_method text not null check (capture_method in ('automatic', 'manual')),
  amount_captured bigint not null default 0 check (amount_captured >= 0 and amount_captured <= amount),
  amount_refunded bigint not null default 0 check (amount_refunded >= 0 and amount_refunded <= amount_captured),
  -- What is being captured or refunded right now but not yet confirmed by the processor.
  amount_capture_requested bigint not null default 0 check (amount_capture_requested >= 0),
  amount_refund_requested bigint not null default 0 check (amount_refund_requested >= 0),
  payment_method jsonb not null,
  description text,
  metadata jsonb not null default '{}',
  decline_code text,
  failure_message text,
  processor text,
  origin_region text not null,
  hlc text not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Cursor pagination lists a merchant's payments newest first; ids sort by creation time.
create index payments_merchant_id on payments (merchant_id, id desc);

create table idempotency_keys (
  merchant_id text not null,
  key text not null,
  -- SHA-256 of method, path and canonical body: same key with another request is a 422.
  request_hash text not null,
  response_status integer not null,
  response_body jsonb not null,
  resource_id text,
  origin_region text not null,
  created_at timestamptz not null default now(),
  primary key (merchant_id, key)
);

create index idempotency_keys_created on idempotency_keys (created_at);

create table outbox (
  seq bigserial primary key,
  event_id text not null unique,
  merchant_id text not null,
  type text not null,
  envelope jsonb not null,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);

-- The relay scans only what it has not published yet.
create index outbox_unsent on outbox (seq) where sent_at is null;
