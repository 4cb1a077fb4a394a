-- The source of truth of a site is decided per interval, among the meters
-- installed then: a flow meter fitted in July does not erase the card or
-- converted volumes of May (flow meter > IC card > power conversion).
CREATE OR REPLACE FUNCTION wb_channel_rank(channel text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE channel WHEN 'flow' THEN 1 WHEN 'card' THEN 2 ELSE 3 END
$$;

CREATE INDEX meters_site ON meters (site_id, installed_at);

CREATE OR REPLACE VIEW site_consumption AS
SELECT c.*
FROM consumption c
JOIN meters m USING (meter_id)
WHERE wb_channel_rank(m.channel) = (
  SELECT min(wb_channel_rank(other.channel))
  FROM meters other
  WHERE other.site_id = c.site_id
    AND other.installed_at < c.ts_end
    AND (other.removed_at IS NULL OR other.removed_at >= c.ts_end)
);
