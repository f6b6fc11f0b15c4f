-- Refunds are objects of their own (several per payment, each pending until the processor
-- confirms), and a payment has at most one capture or cancel in progress at a time.

alter table payments
  add column pending_operation text check (pending_operation in ('capture', 'cancel'));

alter table payments rename column amount_refund_requested to amount_refund_pending;

create table refunds (
  id text primary key,
  payment_id text not null references payments (id),
  merchant_id text not null,
  amount bigint not null check (amount > 0),
  currency char(3) not null,
  status text not null check (status in ('pending', 'succeeded', 'failed')),
  reason text,
  metadata jsonb not null default '{}',
  failure_message text,
  origin_region text not null,
  hlc text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index refunds_payment on refunds (payment_id);

-- Replays must return the stored response byte for byte; jsonb would reorder its keys.
alter table idempotency_keys alter column response_body type text using response_body::text;
