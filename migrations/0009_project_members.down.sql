-- Back to owner-only projects: projects.owner_id was kept throughout.
DROP INDEX refresh_tokens_live_family_idx;
DROP TABLE project_invitations;
DROP TRIGGER projects_owner_member ON projects;
DROP FUNCTION project_members_add_owner();
DROP TABLE project_members;
