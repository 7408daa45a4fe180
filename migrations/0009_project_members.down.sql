-- Back to owner-only projects: projects.owner_id was kept throughout.
DROP INDEX refresh_tokens_live_family_idx;
DROP TABLE project_invitations;
DROP TABLE project_members;
