import type * as GeoJSON from "geojson";
import maplibregl, { type FilterSpecification, type LngLatBoundsLike, type Map } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { allFeatures, type MunicipalityProps } from "../api/ogc";
import { t } from "../i18n";
import { baseStyle, PLOT_LAYERS, PLOT_SOURCE_LAYER } from "./style";

// Germany, until the boundaries are loaded and the map fits them.
const GERMANY: LngLatBoundsLike = [5.8, 47.2, 15.1, 55.1];

export interface PlotMap {
  map: Map;
  setPlotFilter(filter: FilterSpecification | null): void;
  select(id: string | null): void;
  /** Selects plot `id` and fits the map to its geometry. */
  showPlot(id: string, geometry: GeoJSON.Geometry | null): void;
  municipalities(): Promise<{ ags: string; name: string }[]>;
}

/** The public map in `container`; `onSelect` gets the id of a clicked plot (or null). */
export function createPlotMap(container: HTMLElement, onSelect: (id: string | null) => void): PlotMap {
  const map = new maplibregl.Map({
    container,
    style: baseStyle(location.origin),
    bounds: GERMANY,
    attributionControl: false,
    // Keyboard panning and zooming stay on (MapLibre's default); the canvas gets a label.
  });
  map.getCanvas().setAttribute("aria-label", t("map.label"));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(
    new maplibregl.AttributionControl({ compact: true, customAttribution: t("map.attribution") }),
  );

  let selected: string | null = null;
  const select = (id: string | null): void => {
    if (selected !== null) {
      map.setFeatureState({ source: "plots", sourceLayer: PLOT_SOURCE_LAYER, id: selected }, { selected: false });
    }
    selected = id;
    if (id !== null) {
      map.setFeatureState({ source: "plots", sourceLayer: PLOT_SOURCE_LAYER, id }, { selected: true });
    }
  };

  map.on("click", (event) => {
    const hit = map.queryRenderedFeatures(event.point, { layers: [...PLOT_LAYERS] })[0];
    const id = hit?.id === undefined ? null : String(hit.id);
    select(id);
    onSelect(id);
  });
  // "The map shows what it should": set when every tile is drawn, cleared while it changes
  // (the browser tests and the first-render benchmark wait for it).
  map.on("idle", () => (container.dataset.idle = "true"));
  map.on("dataloading", () => delete container.dataset.idle);
  map.on("movestart", () => delete container.dataset.idle);
  for (const layer of PLOT_LAYERS) {
    map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }

  // The base layer: our own municipality boundaries, loaded once.
  const boundaries = new Promise<{ ags: string; name: string }[]>((resolve, reject) => {
    map.once("load", () => {
      allFeatures<MunicipalityProps>("municipalities")
        .then((features) => {
          const source = map.getSource("municipalities") as maplibregl.GeoJSONSource;
          source.setData({ type: "FeatureCollection", features: features as GeoJSON.Feature[] });
          const box = bounds(features.map((f) => f.geometry));
          if (box) map.fitBounds(box, { padding: 20, animate: false });
          container.dataset.boundaries = String(features.length); // for tests and screen readers
          resolve(features.map((f) => ({ ags: String(f.id), name: f.properties.name })));
        })
        .catch(reject);
    });
  });

  return {
    map,
    setPlotFilter(filter) {
      for (const layer of PLOT_LAYERS) map.setFilter(layer, filter);
    },
    select,
    showPlot(id, geometry) {
      const box = bounds([geometry]);
      const go = (): void => {
        if (box) map.fitBounds(box, { padding: 80, maxZoom: 16, animate: false });
        select(id);
      };
      // After the boundaries' own fitBounds (which would otherwise move the map away again).
      void boundaries.finally(go);
    },
    municipalities: () => boundaries,
  };
}

function bounds(geometries: (GeoJSON.Geometry | null)[]): LngLatBoundsLike | null {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === "number" && typeof c[1] === "number") {
      minX = Math.min(minX, c[0]);
      maxX = Math.max(maxX, c[0]);
      minY = Math.min(minY, c[1]);
      maxY = Math.max(maxY, c[1]);
    } else if (Array.isArray(c)) {
      for (const inner of c) visit(inner);
    }
  };
  for (const g of geometries) if (g && "coordinates" in g) visit(g.coordinates);
  return Number.isFinite(minX) ? [minX, minY, maxX, maxY] : null;
}
