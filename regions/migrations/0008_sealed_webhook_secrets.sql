-- Webhook signing secrets are stored sealed (envelope encryption: regions/src/webhooks/secret-box.ts),
-- as in the merchant configuration document they are materialized from. One endpoint holds
-- several while a secret is rolled: [{"id", "sealed", "createdMs", "expiresMs"?}], newest first.
-- The plaintext column goes: an endpoint created before this migration has no secret left and
-- signs nothing until its secret is rolled (no deployment predates it).
alter table webhook_endpoints add column secrets jsonb not null default '[]'::jsonb;
alter table webhook_endpoints drop column secret;
