CREATE INDEX project_members_user_idx ON project_members (user_id, project_id);
DROP INDEX project_members_user_order_idx;
DROP TRIGGER project_members_project_created_at ON project_members;
DROP FUNCTION project_members_project_created_at();
ALTER TABLE project_members DROP COLUMN project_created_at;
