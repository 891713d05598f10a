// The few OGC API shapes the app reads (that API is described by /ogc/api, not openapi.json).
import type { Geometry } from "geojson";
import { getJson } from "./client";

export interface OgcLink {
  href: string;
  rel: string;
  type?: string;
}

export interface OgcFeature<P> {
  type: "Feature";
  id: string;
  geometry: Geometry | null;
  properties: P;
}

export interface OgcFeatures<P> {
  type: "FeatureCollection";
  features: OgcFeature<P>[];
  links?: OgcLink[];
}

export interface MunicipalityProps {
  name: string;
  kind?: string;
  district_ags?: string;
}

export interface PublicPlotProps {
  title: string;
  municipality_ags: string;
  category: string | null;
  zoning: string | null;
  tenure: string | null;
  area_m2: number;
  price_eur_per_m2: number | null;
  fibre_available: boolean;
  rail_siding: boolean;
  available_from: string | null;
  status?: string;
  updated_at?: string;
}

export const PLOT_TILES = "/ogc/collections/plots/tiles/WebMercatorQuad/{z}/{x}/{y}"; // our template: tileMatrix/tileCol/tileRow

export function plotFeatureUrl(id: string): string {
  return `/ogc/collections/plots/items/${encodeURIComponent(id)}`;
}

/** Every feature of a collection, following `next` links (bounded, for the base layer). */
export async function allFeatures<P>(collection: string, maxPages = 20): Promise<OgcFeature<P>[]> {
  const out: OgcFeature<P>[] = [];
  let url: string | null = `/ogc/collections/${collection}/items?f=json&limit=1000`;
  for (let page = 0; url && page < maxPages; page++) {
    const body: OgcFeatures<P> = await getJson<OgcFeatures<P>>(url);
    out.push(...body.features);
    const next = body.links?.find((link) => link.rel === "next");
    url = next ? sameOrigin(next.href) : null;
  }
  return out;
}

function sameOrigin(href: string): string {
  const parsed = new URL(href, location.href);
  return parsed.pathname + parsed.search; // never follow a link to another host
}
