-- Shipments: what the API creates and lists.
CREATE TABLE IF NOT EXISTS shipments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    destination text        NOT NULL CHECK (length(destination) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);
