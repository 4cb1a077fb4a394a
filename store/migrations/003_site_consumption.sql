-- One source of truth per site (domain brief): flow meter > IC card > power
-- conversion. The other methods stay in `consumption` for reconciliation; budget
-- execution counts only this view, so no water is counted twice.
CREATE VIEW site_truth AS
SELECT site_id,
       min(CASE channel WHEN 'flow' THEN 1 WHEN 'card' THEN 2 ELSE 3 END) AS rank
FROM meters
GROUP BY site_id;

CREATE VIEW site_consumption AS
SELECT c.*
FROM consumption c
JOIN meters m USING (meter_id)
JOIN site_truth t ON t.site_id = c.site_id
WHERE (CASE m.channel WHEN 'flow' THEN 1 WHEN 'card' THEN 2 ELSE 3 END) = t.rank;
