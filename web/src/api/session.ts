// The API key lives in sessionStorage only: never in a URL, a cookie or localStorage, and it
// is gone when the tab closes or the user signs out.
const KEY = "landmarket.apiKey";

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function clearApiKey(): void {
  sessionStorage.removeItem(KEY);
}
