-- Public rate tables and forex quotes. A price is mantissa / 10**scale yuan for `unit`
-- units of the foreign currency (Chinese banks quote CNY per 100 units).

CREATE TABLE forex_rates (
    currency TEXT PRIMARY KEY REFERENCES currencies (code),
    unit INTEGER NOT NULL CHECK (unit > 0),
    scale INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 8),
    buy BIGINT NOT NULL CHECK (buy > 0),
    sell BIGINT NOT NULL CHECK (sell >= buy),
    updated_at TEXT NOT NULL
);

CREATE TABLE forex_quotes (
    id TEXT PRIMARY KEY,
    currency TEXT NOT NULL REFERENCES currencies (code),
    unit INTEGER NOT NULL,
    scale INTEGER NOT NULL,
    buy BIGINT NOT NULL,
    sell BIGINT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE interest_rates (
    product TEXT NOT NULL,
    term_months INTEGER NOT NULL,
    rate_bp INTEGER NOT NULL,
    PRIMARY KEY (product, term_months)
);

CREATE TABLE fees (
    service TEXT PRIMARY KEY,
    fixed BIGINT NOT NULL,
    rate_bp INTEGER NOT NULL,
    minimum BIGINT NOT NULL,
    maximum BIGINT NOT NULL
);
