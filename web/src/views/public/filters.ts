import type { FilterSpecification } from "maplibre-gl";
import { h } from "../../dom";
import { t, type MessageKey } from "../../i18n";
import { CATEGORY, TENURE, ZONING } from "../../i18n/labels";

export interface FilterState {
  category: string;
  zoning: string;
  tenure: string;
  municipality: string;
  areaMin: string;
  areaMax: string;
}

export const EMPTY: FilterState = { category: "", zoning: "", tenure: "", municipality: "", areaMin: "", areaMax: "" };

/** The MapLibre filter for the plot layers: applied in the browser, no tile is fetched again. */
export function toExpression(state: FilterState): FilterSpecification | null {
  const parts: unknown[] = [];
  if (state.category) parts.push(["==", ["get", "category"], state.category]);
  if (state.zoning) parts.push(["==", ["get", "zoning"], state.zoning]);
  if (state.tenure) parts.push(["==", ["get", "tenure"], state.tenure]);
  if (state.municipality) parts.push(["==", ["get", "municipality_ags"], state.municipality]);
  const min = Number.parseFloat(state.areaMin);
  const max = Number.parseFloat(state.areaMax);
  if (Number.isFinite(min)) parts.push([">=", ["get", "area_m2"], min]);
  if (Number.isFinite(max)) parts.push(["<=", ["get", "area_m2"], max]);
  return parts.length ? (["all", ...parts] as FilterSpecification) : null;
}

function select(
  id: string,
  labelKey: MessageKey,
  options: [string, string][],
  value: string,
  onChange: (v: string) => void,
): HTMLElement {
  const el = h("select", { id, name: id });
  el.append(h("option", { value: "" }, t("filters.any")));
  for (const [v, text] of options) el.append(h("option", { value: v, selected: v === value }, text));
  el.addEventListener("change", () => onChange(el.value));
  return h("div", { class: "field" }, h("label", { for: id }, t(labelKey)), el);
}

function number(id: string, labelKey: MessageKey, value: string, onChange: (v: string) => void): HTMLElement {
  const el = h("input", { id, name: id, type: "number", min: "0", step: "100", inputmode: "numeric", value });
  el.addEventListener("change", () => onChange(el.value));
  return h("div", { class: "field" }, h("label", { for: id }, t(labelKey)), el);
}

function labelled(table: Record<string, MessageKey>): [string, string][] {
  return Object.entries(table).map(([value, key]) => [value, t(key)]);
}

/** The filter form, rendered in the current language from `state`. */
export function filterForm(
  state: FilterState,
  municipalities: { ags: string; name: string }[],
  onChange: (next: FilterState) => void,
): HTMLElement {
  const set = (patch: Partial<FilterState>): void => onChange({ ...state, ...patch });
  const form = h(
    "form",
    { class: "filters", "aria-labelledby": "filters-title" },
    h("h2", { id: "filters-title" }, t("filters.title")),
    select("f-category", "filters.category", labelled(CATEGORY), state.category, (v) => set({ category: v })),
    select("f-zoning", "filters.zoning", labelled(ZONING), state.zoning, (v) => set({ zoning: v })),
    select("f-tenure", "filters.tenure", labelled(TENURE), state.tenure, (v) => set({ tenure: v })),
    select(
      "f-municipality",
      "filters.municipality",
      municipalities.map((m) => [m.ags, m.name]),
      state.municipality,
      (v) => set({ municipality: v }),
    ),
    number("f-area-min", "filters.areaMin", state.areaMin, (v) => set({ areaMin: v })),
    number("f-area-max", "filters.areaMax", state.areaMax, (v) => set({ areaMax: v })),
  );
  const reset = h("button", { type: "button", class: "secondary" }, t("filters.reset"));
  reset.addEventListener("click", () => onChange(EMPTY));
  form.append(reset);
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}
