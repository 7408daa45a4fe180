// Teams and accounts (docs/API.md "Members", "Accounts"): a project's
// members and invitations, and the signed-in person's own account.

import type { ApiClient } from "./client";
import type { Member, Role, User } from "./types";

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invited_by?: string | null;
  created_at?: string;
}

export interface MembersResponse {
  members: Member[];
  invitations: Invitation[];
}

function membersPath(projectId: string): string {
  return `/api/projects/${encodeURIComponent(projectId)}/members`;
}

export async function listMembers(client: ApiClient, projectId: string): Promise<MembersResponse> {
  const r = await client.request<Partial<MembersResponse>>("GET", membersPath(projectId));
  return { members: r.members ?? [], invitations: r.invitations ?? [] };
}

/**
 * Add a member by email (owners only). The answer is a member, or an
 * invitation when the email has no account yet and registration is by
 * invitation.
 */
export async function addMember(
  client: ApiClient,
  projectId: string,
  email: string,
  role: Role,
): Promise<{ member: Member | null; invitation: Invitation | null }> {
  const r = await client.request<Record<string, unknown>>("POST", membersPath(projectId), {
    body: { email, role },
  });
  if (r.invitation && typeof r.invitation === "object") return { member: null, invitation: r.invitation as Invitation };
  if (r.member && typeof r.member === "object") return { member: r.member as Member, invitation: null };
  if (typeof r.user_id === "string") return { member: r as unknown as Member, invitation: null };
  if (typeof r.id === "string" && typeof r.email === "string") return { member: null, invitation: r as unknown as Invitation };
  return { member: null, invitation: null };
}

export async function changeRole(client: ApiClient, projectId: string, userId: string, role: Role): Promise<Member | null> {
  const r = await client.request<Record<string, unknown> | undefined>(
    "PATCH",
    `${membersPath(projectId)}/${encodeURIComponent(userId)}`,
    { body: { role } },
  );
  if (!r) return null;
  if (r.member && typeof r.member === "object") return r.member as Member;
  return typeof r.user_id === "string" ? (r as unknown as Member) : null;
}

export function removeMember(client: ApiClient, projectId: string, userId: string): Promise<undefined> {
  return client.request("DELETE", `${membersPath(projectId)}/${encodeURIComponent(userId)}`);
}

export function cancelInvitation(client: ApiClient, projectId: string, invitationId: string): Promise<undefined> {
  return client.request(
    "DELETE",
    `/api/projects/${encodeURIComponent(projectId)}/invitations/${encodeURIComponent(invitationId)}`,
  );
}

/** Leave a project (any member; the last owner cannot). */
export function leaveProject(client: ApiClient, projectId: string): Promise<undefined> {
  return client.request("DELETE", `/api/projects/${encodeURIComponent(projectId)}/membership`);
}

// ---- the account -------------------------------------------------------------

export async function updateDisplayName(client: ApiClient, displayName: string): Promise<User> {
  const r = await client.request<{ user?: User } & Partial<User>>("PATCH", "/api/auth/me", {
    body: { display_name: displayName },
  });
  const user = r.user ?? (r as User);
  client.setUser(user);
  return user;
}

/** Change the password; every other session ends (this one is kept, refreshed if the server sends one). */
export async function changePassword(client: ApiClient, currentPassword: string, newPassword: string): Promise<void> {
  const r = await client.request<Record<string, unknown> | undefined>("POST", "/api/auth/password", {
    body: { current_password: currentPassword, new_password: newPassword },
  });
  if (r && typeof r.access_token === "string" && typeof r.refresh_token === "string") {
    client.adoptSession(r as never);
  }
}

/** Delete the account (and the projects it owns); the session ends here. */
export async function deleteAccount(client: ApiClient, password: string): Promise<void> {
  await client.request("DELETE", "/api/auth/me", { body: { password } });
  await client.logout();
}

export const ROLE_INFO: Record<Role, { label: string; can: string }> = {
  owner: { label: "Owner", can: "Everything, including members, renaming, archiving and deleting" },
  editor: { label: "Editor", can: "Reads, talks to the agents, changes the board, writes documents" },
  viewer: { label: "Viewer", can: "Reads the conversation, the board and the documents" },
};

export const ROLES: readonly Role[] = ["owner", "editor", "viewer"];

/** The caller's role in a project; a server without teams sends none: the caller owns it. */
export function roleOf(project: { role?: Role } | null | undefined): Role {
  return project?.role ?? "owner";
}

export function canEdit(role: Role): boolean {
  return role === "owner" || role === "editor";
}
