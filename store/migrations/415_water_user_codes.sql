-- Short sign-in codes of the farmers' page (issue 15): 8 characters from an alphabet
-- without look-alikes, typed on a phone instead of the 43-character token. One per
-- water_user token; only the SHA-256 is stored; revoking the token locks the code too.
CREATE TABLE water_user_codes (
  code_sha256 bytea PRIMARY KEY,
  token_id    bigint NOT NULL UNIQUE REFERENCES budget_api_tokens ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now()
);
