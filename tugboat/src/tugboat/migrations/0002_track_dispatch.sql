-- Dispatch tracking for the worker. Expand only: the previous release, which knows nothing of
-- these columns, keeps inserting and reading shipments (the default fills `status`).
ALTER TABLE shipments
    ADD COLUMN IF NOT EXISTS status        text        NOT NULL DEFAULT 'pending',
    ADD COLUMN IF NOT EXISTS dispatched_at timestamptz NULL;

CREATE INDEX IF NOT EXISTS shipments_pending_idx ON shipments (created_at) WHERE status = 'pending';
