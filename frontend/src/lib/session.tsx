// The signed-in person, for every component: restored at start-up from the
// stored refresh token, ended by sign-out here or in another tab, or by a
// refresh the server refused (then the sign-in page says why).

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiClient, REFRESH_TOKEN_KEY, errorMessage } from "../api/client";
import type { User } from "../api/types";

export type SessionStatus = "restoring" | "signed_in" | "signed_out" | "error";

interface SessionValue {
  client: ApiClient;
  user: User | null;
  status: SessionStatus;
  /** Why the person is on the sign-in page (a session that ended). */
  notice: string | null;
  restoreError: string | null;
  clearNotice(): void;
  retryRestore(): void;
  demoModel: boolean | null;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  const [user, setUser] = useState<User | null>(client.user);
  const [status, setStatus] = useState<SessionStatus>(client.user ? "signed_in" : "restoring");
  const [notice, setNotice] = useState<string | null>(null);
  const [restoreError, setRestoreError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [demoModel, setDemoModel] = useState<boolean | null>(null);

  useEffect(() => {
    return client.onSessionChange((change) => {
      switch (change.kind) {
        case "signed_in":
        case "refreshed":
          setUser(change.user);
          setStatus("signed_in");
          if (change.kind === "signed_in") setNotice(null);
          break;
        case "signed_out":
          setUser(null);
          setStatus("signed_out");
          break;
        case "expired":
          setUser(null);
          setStatus("signed_out");
          setNotice("Your session has ended. Please sign in again.");
          break;
      }
    });
  }, [client]);

  useEffect(() => {
    if (client.user) return;
    let cancelled = false;
    client
      .restore()
      .then((u) => {
        if (cancelled) return;
        setUser(u);
        setStatus(u ? "signed_in" : "signed_out");
        setRestoreError(null);
      })
      .catch((e: unknown) => {
        if (cancelled) return;
        setRestoreError(errorMessage(e));
        setStatus("error");
      });
    return () => {
      cancelled = true;
    };
  }, [client, attempt]);

  // Another tab signed out (the shared refresh token went away).
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === REFRESH_TOKEN_KEY && e.newValue === null && e.storageArea === window.localStorage) {
        if (client.storedRefreshToken() === null) client.dropSession();
      }
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, [client]);

  // Whether the offline demo model answers (GET /api/agents), once signed in.
  useEffect(() => {
    if (status !== "signed_in") return;
    let cancelled = false;
    client
      .agents()
      .then((r) => {
        if (!cancelled) setDemoModel(r.demo_model);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [client, status]);

  const clearNotice = useCallback(() => setNotice(null), []);
  const retryRestore = useCallback(() => {
    setStatus("restoring");
    setAttempt((a) => a + 1);
  }, []);

  const value = useMemo(
    () => ({ client, user, status, notice, restoreError, clearNotice, retryRestore, demoModel }),
    [client, user, status, notice, restoreError, clearNotice, retryRestore, demoModel],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(SessionContext);
  if (v === null) throw new Error("useSession outside SessionProvider");
  return v;
}

export function useClient(): ApiClient {
  return useSession().client;
}
