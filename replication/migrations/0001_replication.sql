-- Cross-region replication's bookkeeping: what each region has applied (effectively once), where
-- it is in each replicated topic, and how each link is doing. The contradictions merges find
-- (replication_conflicts) are a region table: the region's duplicate compensator reads them.

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
