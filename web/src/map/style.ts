import type { StyleSpecification } from "maplibre-gl";
import { PLOT_TILES } from "../api/ogc";

export const PLOT_LAYERS = ["plots-fill", "plots-line"] as const;
export const PLOT_SOURCE_LAYER = "plots"; // the MVT layer name is the collection id

// Colours by category, distinguishable for the common colour-vision deficiencies (Okabe-Ito).
const CATEGORY_COLOURS = [
  "match",
  ["get", "category"],
  "brownfield", "#D55E00",
  "vacant_building", "#CC79A7",
  "infill_gap", "#0072B2",
  "commercial_site", "#009E73",
  "greenfield_reserve", "#E69F00",
  "#555555",
] as const;

/**
 * Only our own sources: the municipality boundaries (GeoJSON, filled in once loaded) as the
 * base layer and the published plots as vector tiles. No glyphs or sprite: the style has no
 * symbol layers, so MapLibre fetches no fonts from anywhere.
 */
export function baseStyle(origin: string): StyleSpecification {
  return {
    version: 8,
    sources: {
      municipalities: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      plots: {
        type: "vector",
        tiles: [origin + PLOT_TILES],
        minzoom: 0,
        maxzoom: 16, // overzoomed beyond: the tile at 16 is exact enough for a plot outline
        promoteId: "id",
      },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#f4f1ea" } },
      {
        id: "municipalities-fill",
        type: "fill",
        source: "municipalities",
        paint: { "fill-color": "#ffffff", "fill-opacity": 0.8 },
      },
      {
        id: "municipalities-line",
        type: "line",
        source: "municipalities",
        paint: { "line-color": "#6b6b6b", "line-width": 1 },
      },
      {
        id: "plots-fill",
        type: "fill",
        source: "plots",
        "source-layer": PLOT_SOURCE_LAYER,
        paint: {
          "fill-color": CATEGORY_COLOURS as unknown as string,
          "fill-opacity": ["case", ["boolean", ["feature-state", "selected"], false], 0.9, 0.55],
        },
      },
      {
        id: "plots-line",
        type: "line",
        source: "plots",
        "source-layer": PLOT_SOURCE_LAYER,
        paint: {
          "line-color": "#1a1a1a",
          "line-width": ["case", ["boolean", ["feature-state", "selected"], false], 3, 0.8],
        },
      },
    ],
  };
}
