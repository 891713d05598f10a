import { ApiError } from "../../api/client";
import { clear, h } from "../../dom";
import { t } from "../../i18n";
import { createPlotMap, type PlotMap } from "../../map/map";
import type { View } from "../view";
import { detailPanel, loadPlot, type PlotDetail } from "./detail";
import { EMPTY, filterForm, toExpression, type FilterState } from "./filters";

/** Everyone's view: the published plots on our boundaries, filters, a plot's details. */
export class PublicMapView implements View {
  private filters: FilterState = EMPTY;
  private municipalities: { ags: string; name: string }[] = [];
  private plot: PlotDetail | null = null;
  private message: string | null = null;
  private plotMap: PlotMap | null = null;
  private readonly side = h("aside", { class: "side" });
  private readonly panel = h("section", { class: "panel", "aria-live": "polite" });
  private readonly mapEl = h("div", { class: "map", id: "map" });

  constructor(private readonly initialPlot: string | null = null) {}

  mount(root: HTMLElement): void {
    root.append(h("div", { class: "public-map" }, this.side, this.mapEl, this.panel));
    this.relabel();
    try {
      this.plotMap = createPlotMap(this.mapEl, (id) => {
        // The address names the open plot without a navigation (the map stays as it is).
        history.replaceState(null, "", id ? `#/plots/${id}` : "#/");
        void this.show(id);
      });
    } catch {
      // No WebGL: say so instead of a blank area.
      this.mapEl.append(h("p", { class: "notice" }, t("map.unsupported")));
      return;
    }
    this.plotMap
      .municipalities()
      .then((list) => {
        this.municipalities = [...list].sort((a, b) => a.name.localeCompare(b.name));
        this.renderFilters();
        this.renderPanel(); // the open plot's municipality by name
      })
      .catch((error: unknown) => this.fail(error));
    if (this.initialPlot) void this.show(this.initialPlot, true);
  }

  update(param: string | null): void {
    void this.show(param, true);
  }

  relabel(): void {
    this.renderFilters();
    this.renderPanel();
    this.plotMap?.map.getCanvas().setAttribute("aria-label", t("map.label"));
  }

  destroy(): void {
    this.plotMap?.map.remove();
    this.plotMap = null;
  }

  private renderFilters(): void {
    clear(this.side);
    this.side.append(
      filterForm(this.filters, this.municipalities, (next) => {
        this.filters = next;
        this.plotMap?.setPlotFilter(toExpression(next));
        this.renderFilters();
      }),
    );
  }

  private renderPanel(): void {
    clear(this.panel);
    if (this.message) {
      this.panel.append(h("p", { class: "notice", role: "alert" }, this.message));
    } else if (this.plot) {
      const name = (ags: string): string =>
        this.municipalities.find((m) => m.ags === ags)?.name ?? ags;
      this.panel.append(detailPanel(this.plot, name, () => void this.show(null)));
    } else {
      this.panel.append(h("p", { class: "hint" }, t("map.hint")));
    }
  }

  /** Opens the details of plot `id` (none: closes them); `fly`: and brings it into view. */
  private async show(id: string | null, fly = false): Promise<void> {
    this.message = null;
    this.plot = null;
    if (id === null) {
      this.plotMap?.select(null);
      this.renderPanel();
      return;
    }
    clear(this.panel);
    this.panel.append(h("p", {}, t("plot.loading")));
    try {
      this.plot = await loadPlot(id);
      if (!this.plot) this.message = t("plot.notFound");
      else if (fly) this.plotMap?.showPlot(id, this.plot.geometry);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.renderPanel();
    this.panel.querySelector<HTMLElement>("h2")?.focus();
  }

  private fail(error: unknown): void {
    this.message = error instanceof ApiError && error.status !== 0 ? error.message : t("error.network");
    this.renderPanel();
  }
}
