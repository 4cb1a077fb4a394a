-- Issue 15: an alert's detail holds its facts (monitor/alert_text.py: figures
-- as JSON); these are the facts worded in Chinese and in English, written with
-- every insert and update, for SQL readers (Grafana's tables and annotations,
-- reports). NULL on rows written by something else (benchmarks): read
-- coalesce(message_zh, detail).
ALTER TABLE monitor_alerts ADD COLUMN message_zh text, ADD COLUMN message_en text;
UPDATE monitor_alerts SET message_zh = detail, message_en = detail;
