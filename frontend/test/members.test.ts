import { describe, expect, it } from "vitest";
import { ApiClient, type SessionChange } from "../src/api/client";
import { addMember, canEdit, changePassword, listMembers, roleOf, updateDisplayName } from "../src/api/members";

const USER = { id: "u1", email: "a@example.com", display_name: "A", created_at: "2026-12-05T00:00:00Z" };

function session(n: number) {
  return {
    user: USER,
    access_token: `access-${n}`,
    token_type: "Bearer",
    expires_in: 900,
    refresh_token: `refresh-${n}`,
    refresh_expires_in: 2592000,
  };
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

async function signedIn(route: (method: string, path: string, body: unknown) => Response) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const client = new ApiClient({
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const path = new URL(String(input), "http://x").pathname;
      const method = init?.method ?? "GET";
      const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
      if (path === "/api/auth/login") return json(200, session(1));
      calls.push({ method, path, body });
      return route(method, path, body);
    }) as unknown as typeof fetch,
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  });
  await client.login("a@example.com", "password123", false);
  const changes: SessionChange[] = [];
  client.onSessionChange((c) => changes.push(c));
  return { client, calls, changes };
}

describe("roles", () => {
  it("a project without a role (an older server) is the caller's own", () => {
    expect(roleOf({})).toBe("owner");
    expect(roleOf(null)).toBe("owner");
    expect(roleOf({ role: "viewer" })).toBe("viewer");
  });

  it("owners and editors write; viewers read", () => {
    expect(canEdit("owner")).toBe(true);
    expect(canEdit("editor")).toBe(true);
    expect(canEdit("viewer")).toBe(false);
  });
});

describe("members", () => {
  it("lists members and invitations", async () => {
    const { client } = await signedIn(() =>
      json(200, { members: [{ user_id: "u1", email: "a@example.com", display_name: "A", role: "owner" }], role: "owner" }),
    );
    const r = await listMembers(client, "p1");
    expect(r.members).toHaveLength(1);
    expect(r.invitations).toEqual([]);
  });

  it("tells a member from an invitation", async () => {
    let answer: unknown = { member: { user_id: "u2", email: "b@example.com", display_name: "", role: "viewer" } };
    const { client, calls } = await signedIn(() => json(201, answer));
    expect((await addMember(client, "p1", "b@example.com", "viewer")).member?.user_id).toBe("u2");
    expect(calls[0]).toEqual({ method: "POST", path: "/api/projects/p1/members", body: { email: "b@example.com", role: "viewer" } });
    answer = { invitation: { id: "i1", email: "c@example.com", role: "editor" } };
    const r = await addMember(client, "p1", "c@example.com", "editor");
    expect(r.member).toBeNull();
    expect(r.invitation?.id).toBe("i1");
  });
});

describe("the account", () => {
  it("a new display name reaches every listener of the session", async () => {
    const { client, changes } = await signedIn(() => json(200, { user: { ...USER, display_name: "Ada" } }));
    await updateDisplayName(client, "Ada");
    expect(client.user?.display_name).toBe("Ada");
    expect(changes).toEqual([{ kind: "refreshed", user: { ...USER, display_name: "Ada" } }]);
  });

  it("a wrong current password is a 403 that keeps the session", async () => {
    const { client, changes } = await signedIn(() =>
      json(403, { error: { code: "wrong_password", message: "The current password is not right.", request_id: "r" } }),
    );
    await expect(changePassword(client, "wrong", "a new password")).rejects.toMatchObject({ status: 403, code: "wrong_password" });
    expect(client.signedIn).toBe(true);
    expect(changes).toEqual([]);
  });
});
