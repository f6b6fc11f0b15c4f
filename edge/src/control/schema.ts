/**
 * The control plane's own tables, in its Durable Object's SQLite. One instance serializes every
 * change, so epochs are assigned once and a merchant is created once. `audit` is append-only,
 * enforced by triggers, not only by the code never updating it.
 */
export const schema = `
create table if not exists merchants (
  id text primary key,
  name text not null,
  placement text not null,
  created_ms integer not null
);
create table if not exists api_keys (
  id text primary key,
  merchant_id text not null references merchants (id),
  hash text not null unique,
  mode text not null,
  status text not null,
  last4 text not null,
  created_ms integer not null,
  expires_ms integer
);
create table if not exists operator_keys (
  id text primary key,
  name text not null,
  hash text not null unique,
  status text not null,
  created_ms integer not null
);
create table if not exists audit (
  seq integer primary key autoincrement,
  at_ms integer not null,
  operator text not null,
  action text not null,
  target text not null,
  detail text not null
);
create trigger if not exists audit_no_update before update on audit
  begin select raise(abort, 'the audit log is append-only'); end;
create trigger if not exists audit_no_delete before delete on audit
  begin select raise(abort, 'the audit log is append-only'); end;
create table if not exists moves (
  id integer primary key autoincrement,
  merchant_id text not null references merchants (id),
  from_region text not null,
  to_region text not null,
  from_epoch integer not null,
  target text not null,
  state text not null,
  markers text not null default '{}',
  pending text not null default '[]',
  started_ms integer not null,
  updated_ms integer not null,
  finished_ms integer
);
create unique index if not exists moves_one_active on moves (merchant_id) where state <> 'done';
create table if not exists evacuations (
  region text not null,
  merchant_id text not null,
  to_region text not null,
  primary key (region, merchant_id)
);
`
