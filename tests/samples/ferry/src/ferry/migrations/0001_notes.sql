CREATE TABLE notes (
    id bigserial PRIMARY KEY,
    text text NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL DEFAULT now()
);
