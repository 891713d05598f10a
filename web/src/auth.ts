import { api, ApiError, unwrap } from "./api/client";
import type { components } from "./api/schema";
import { apiKey, clearApiKey, setApiKey } from "./api/session";

export type Me = components["schemas"]["MeRead"];

let me: Me | null = null;
const listeners = new Set<() => void>();

export function currentUser(): Me | null {
  return me;
}

export function onAuthChange(listener: () => void): void {
  listeners.add(listener);
}

function changed(): void {
  for (const listener of listeners) listener();
}

/** Checks `key` against /v1/me and keeps it (sessionStorage) only when the API accepts it. */
export async function signIn(key: string): Promise<Me> {
  const previous = apiKey();
  setApiKey(key);
  try {
    me = await unwrap(api.GET("/v1/me"));
  } catch (error) {
    if (previous) setApiKey(previous);
    else clearApiKey();
    throw error;
  }
  changed();
  return me;
}

export function signOut(): void {
  clearApiKey();
  me = null;
  changed();
}

/** On start: a key kept in this tab is checked again (it may have been revoked since). */
export async function restore(): Promise<void> {
  if (!apiKey()) return;
  try {
    me = await unwrap(api.GET("/v1/me"));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) clearApiKey();
    me = null;
  }
  changed();
}
