-- Processing: what each processor knows the payment or refund by, and when it was authorized
-- (authorizations expire).
alter table payments add column processor_ref text;
alter table payments add column authorized_at timestamptz;
alter table refunds add column processor_ref text;

create index payments_stuck on payments (updated_at) where status = 'pending' or pending_operation is not null;
create index payments_authorized on payments (authorized_at) where status = 'authorized';
create index refunds_pending on refunds (created_at) where status = 'pending';

-- Webhooks: endpoints, deliveries (at least once, retried with backoff) and dead letters.
create table webhook_endpoints (
  id text primary key,
  merchant_id text not null,
  url text not null,
  -- The signing secret is shown to the merchant once, at creation; it never appears in a log.
  secret text not null,
  enabled_events text[] not null,
  status text not null default 'enabled' check (status in ('enabled', 'disabled')),
  created_at timestamptz not null default now()
);

create index webhook_endpoints_merchant on webhook_endpoints (merchant_id);

create table webhook_deliveries (
  id text primary key,
  endpoint_id text not null references webhook_endpoints (id),
  merchant_id text not null,
  event_id text not null,
  event_type text not null,
  payload text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  first_attempt_at timestamptz,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null default now(),
  unique (endpoint_id, event_id)
);

create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';

create table webhook_dead_letters (
  delivery_id text primary key references webhook_deliveries (id),
  endpoint_id text not null,
  merchant_id text not null,
  event_id text not null,
  attempts integer not null,
  last_error text,
  dead_at timestamptz not null default now(),
  replayed_at timestamptz
);
