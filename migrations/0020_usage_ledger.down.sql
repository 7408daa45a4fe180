DROP TRIGGER usage_daily_add ON agent_runs;
DROP FUNCTION usage_daily_add();
DROP TABLE usage_daily;
