import { de, type Catalogue, type MessageKey } from "./de";
import { en } from "./en";

export type Lang = "de" | "en";
export const LANGS: readonly Lang[] = ["de", "en"];
const CATALOGUES: Record<Lang, Catalogue> = { de, en };
const LANG_KEY = "landmarket.lang";
const listeners = new Set<() => void>();

function initial(): Lang {
  // The language is a preference, not a secret: localStorage is fine for it (the API key is not).
  const stored = localStorage.getItem(LANG_KEY);
  if (stored === "de" || stored === "en") return stored;
  return "de"; // German first, whatever the browser says (the product's audience)
}

let current: Lang = initial();

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  if (next === current) return;
  current = next;
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next;
  for (const listener of listeners) listener();
}

/** Calls `listener` after every language change; returns the unsubscribe function. */
export function onLangChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The message for `key` in the current language, `{name}` placeholders filled in. */
export function t(key: MessageKey, params: Record<string, string> = {}): string {
  const template = CATALOGUES[current][key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}

const locale = (): string => (current === "de" ? "de-DE" : "en-GB");

export function formatNumber(value: number, digits = 0): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

export function formatArea(m2: number): string {
  return m2 >= 10_000
    ? `${formatNumber(m2 / 10_000, 2)} ha`
    : `${formatNumber(m2)} m²`;
}

export function formatMoney(value: number): string {
  return new Intl.NumberFormat(locale(), { style: "currency", currency: "EUR" }).format(value);
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium" }).format(date);
}

export type { MessageKey };
