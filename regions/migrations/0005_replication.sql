-- Cross-region replication: what each region has applied (effectively once), where it is in each
-- replicated topic, the contradictions merges found, merchant configuration documents and
-- per-region usage counters.

-- Every status any region recorded for the payment (a grow-only set); two that cannot lead to
-- one another are a contradiction for the reconciler.
alter table payments add column seen_statuses text[] not null default '{}';
update payments set seen_statuses = array[status];

-- When (HLC) and where an idempotency record was first made: the earliest wins a conflict.
alter table idempotency_keys add column hlc text not null default '';

create table replication_applied (
  origin_region text not null,
  event_id text not null,
  applied_at timestamptz not null default now(),
  primary key (origin_region, event_id)
);

create index replication_applied_age on replication_applied (applied_at);

create table replication_positions (
  topic text not null,
  partition integer not null,
  -- The next offset to apply: written in the same transaction as the merged state.
  next_offset bigint not null,
  updated_at timestamptz not null default now(),
  primary key (topic, partition)
);

create table replication_links (
  origin_region text primary key,
  last_event_applied_at timestamptz,
  last_event_latency_ms bigint,
  last_heartbeat_sent_ms bigint,
  last_heartbeat_applied_at timestamptz
);

create table replication_conflicts (
  kind text not null check (kind in ('payment_status', 'idempotency', 'ledger_entry')),
  subject text not null,
  detail jsonb not null,
  detected_at timestamptz not null default now(),
  primary key (kind, subject)
);

create table merchant_configs (
  merchant_id text primary key,
  -- An Automerge document (binary): webhook endpoints, limits, home region, failover order.
  doc bytea not null,
  -- Changes that arrived before the changes they depend on (from a third region), kept until
  -- their dependencies arrive.
  pending_changes text[] not null default '{}',
  updated_at timestamptz not null default now()
);

create table usage_counters (
  merchant_id text not null,
  day date not null,
  region text not null,
  count bigint not null,
  primary key (merchant_id, day, region)
);
