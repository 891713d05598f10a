import { api, ApiError, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { currentUser } from "../../auth";
import { clear, h } from "../../dom";
import { formatArea, formatDate, t } from "../../i18n";
import { STATUS } from "../../i18n/labels";
import type { View } from "../view";

type Plot = components["schemas"]["PlotRead"];
const PAGE = 100;

/** A municipality's own plots, every status (the API shows drafts to their municipality only). */
export class MyPlotsView implements View {
  private plots: Plot[] = [];
  private next: string | null = null;
  private error: string | null = null;
  // Scrolls by itself (the header stays): focusable so that the keyboard can scroll it.
  private readonly root = h("section", {
    class: "my-plots",
    "aria-labelledby": "my-plots-title",
    tabindex: "0",
  });

  mount(root: HTMLElement): void {
    root.append(this.root);
    this.render();
    void this.load(null);
  }

  relabel(): void {
    this.render();
  }

  destroy(): void {}

  private async load(cursor: string | null): Promise<void> {
    const me = currentUser();
    if (!me || me.kind !== "municipality") return;
    try {
      const page = await unwrap(
        api.GET("/v1/plots", {
          params: { query: { municipality: me.ags, limit: PAGE, ...(cursor ? { cursor } : {}) } },
        }),
      );
      this.plots.push(...page.features);
      const next = page.links.find((link) => link.rel === "next");
      this.next = next ? new URL(next.href, location.href).searchParams.get("cursor") : null;
    } catch (error) {
      this.error = error instanceof ApiError && error.status !== 0 ? error.message : t("error.network");
    }
    this.render();
  }

  private render(): void {
    clear(this.root);
    this.root.append(h("h1", { id: "my-plots-title" }, t("myPlots.title")));
    const me = currentUser();
    if (!me || me.kind !== "municipality") {
      this.root.append(h("p", { class: "notice" }, t("myPlots.needsMunicipality")));
      return;
    }
    if (this.error) this.root.append(h("p", { class: "notice", role: "alert" }, this.error));
    if (!this.plots.length) {
      this.root.append(h("p", {}, t("myPlots.empty")));
      return;
    }
    const head = h(
      "tr",
      {},
      ...(["myPlots.col.title", "myPlots.col.externalId", "myPlots.col.status", "myPlots.col.area", "myPlots.col.updated"] as const).map(
        (key) => h("th", { scope: "col" }, t(key)),
      ),
    );
    const rows = this.plots.map((plot) => {
      const p = plot.properties;
      return h(
        "tr",
        {},
        h("td", {}, p.title),
        h("td", {}, p.external_id),
        h("td", {}, t(STATUS[p.status])),
        h("td", { class: "num" }, formatArea(p.area_m2)),
        h("td", {}, formatDate(p.updated_at)),
      );
    });
    this.root.append(h("table", {}, h("thead", {}, head), h("tbody", {}, ...rows)));
    if (this.next) {
      const more = h("button", { type: "button" }, t("myPlots.more"));
      const cursor = this.next;
      more.addEventListener("click", () => void this.load(cursor));
      this.root.append(more);
    }
  }
}
