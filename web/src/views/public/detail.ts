import { ApiError, getJson } from "../../api/client";
import { plotFeatureUrl, type OgcFeature, type PublicPlotProps } from "../../api/ogc";
import { h } from "../../dom";
import { formatArea, formatDate, formatNumber, t, type MessageKey } from "../../i18n";
import { CATEGORY, STATUS, TENURE, ZONING, label } from "../../i18n/labels";

export type PlotDetail = OgcFeature<PublicPlotProps>;

/** The public properties of a published plot, from the OGC API (no key needed). */
export async function loadPlot(id: string): Promise<PlotDetail | null> {
  try {
    return await getJson<PlotDetail>(`${plotFeatureUrl(id)}?f=json`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function enumText(table: Record<string, MessageKey>, value: string | null | undefined): string {
  if (!value) return t("unknown");
  const key = label(table, value);
  return key ? t(key) : value;
}

/** The detail panel's content for `plot` in the current language. */
export function detailPanel(
  plot: PlotDetail,
  municipalityName: (ags: string) => string,
  onClose: () => void,
): HTMLElement {
  const p = plot.properties;
  const rows: [MessageKey, string][] = [
    ["plot.area", formatArea(p.area_m2)],
    ["plot.category", enumText(CATEGORY, p.category)],
    ["plot.zoning", enumText(ZONING, p.zoning)],
    ["plot.tenure", enumText(TENURE, p.tenure)],
    ["plot.price", p.price_eur_per_m2 === null ? t("unknown") : t("plot.perM2", { value: formatNumber(p.price_eur_per_m2, 2) })],
    ["plot.fibre", p.fibre_available ? t("yes") : t("no")],
    ["plot.rail", p.rail_siding ? t("yes") : t("no")],
    ["plot.availableFrom", p.available_from ? formatDate(p.available_from) : t("unknown")],
    ["plot.municipality", municipalityName(p.municipality_ags)],
  ];
  if (p.status) rows.push(["plot.status", enumText(STATUS, p.status)]);
  if (p.updated_at) rows.push(["plot.updated", formatDate(p.updated_at)]);
  const close = h("button", { type: "button", class: "secondary close" }, t("plot.close"));
  close.addEventListener("click", onClose);
  return h(
    "article",
    { class: "plot-detail", "aria-labelledby": "plot-title" },
    h("h2", { id: "plot-title", tabindex: "-1" }, p.title || t("plot.title")),
    h("dl", {}, ...rows.flatMap(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, value)])),
    h("p", {}, h("a", { href: plotFeatureUrl(plot.id), class: "ogc-link" }, t("plot.ogcLink"))),
    close,
  );
}
