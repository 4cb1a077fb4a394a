-- SZY206 terminals are bound to the gateway they are reached through (issue 11): a frame
-- is accepted only on that gateway's topic {prefix}/{gateway}/szy206; a terminal without
-- a gateway (NULL) only over the TCP listener (docs/registry.md, SZY206 terminals).
ALTER TABLE szy206_terminals
  ADD COLUMN gateway text
  CHECK (gateway IS NULL OR (gateway ~ '^[^/+#[:space:][:cntrl:]]{1,64}$'
                             AND gateway NOT LIKE 'tcp:%'));
