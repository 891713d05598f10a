import "./style.css";
import { currentUser, onAuthChange, restore, signOut } from "./auth";
import { clear, h } from "./dom";
import { LANGS, lang, onLangChange, setLang, t, type Lang } from "./i18n";
import { ORG_KIND } from "./i18n/labels";
import { MyPlotsView } from "./views/municipality/plots";
import { PublicMapView } from "./views/public";
import { openSignIn } from "./views/signin";
import type { View } from "./views/view";

// Hash routes: the server serves one page at /, and nothing of the state goes to the server.
// "#/plots/<id>" is the map with that plot's details open (a link one can share).
const ROUTES: Record<string, (param: string | null) => View> = {
  "#/": (plot) => new PublicMapView(plot),
  "#/my-plots": () => new MyPlotsView(),
};

function parse(hash: string): [string, string | null] {
  const plot = /^#\/plots\/([0-9a-fA-F-]{36})$/.exec(hash);
  if (plot) return ["#/", plot[1] ?? null];
  return [hash in ROUTES ? hash : "#/", null];
}

const app = document.getElementById("app") as HTMLElement;
const header = h("header", { class: "top" });
const main = h("main", { id: "main", tabindex: "-1" });
app.append(h("a", { href: "#main", class: "skip" }, t("app.skip")), header, main);

let route = "";
let view: View | null = null;

function renderHeader(): void {
  clear(header);
  document.title = t("app.title");
  document.documentElement.lang = lang();
  const me = currentUser();
  const links: [string, string][] = [["#/", t("nav.map")]];
  if (me?.kind === "municipality") links.push(["#/my-plots", t("nav.myPlots")]);
  const nav = h(
    "nav",
    { "aria-label": t("nav.label") },
    ...links.map(([href, text]) =>
      h("a", { href, "aria-current": href === route ? "page" : undefined }, text),
    ),
  );
  const switcher = h("select", { id: "lang", "aria-label": t("lang.label") });
  for (const code of LANGS) {
    switcher.append(h("option", { value: code, selected: code === lang() }, t(`lang.${code}`)));
  }
  switcher.addEventListener("change", () => setLang(switcher.value as Lang));
  const account = h("div", { class: "account" });
  if (me) {
    account.append(
      h("span", { class: "who" }, t("auth.signedInAs", { name: me.name, kind: t(ORG_KIND[me.kind]) })),
    );
    const out = h("button", { type: "button", class: "secondary", id: "sign-out" }, t("auth.signOut"));
    out.addEventListener("click", () => signOut());
    account.append(out);
  } else {
    const signIn = h("button", { type: "button", id: "sign-in" }, t("auth.signIn"));
    signIn.addEventListener("click", () => openSignIn(() => undefined));
    account.append(signIn);
  }
  header.append(h("span", { class: "brand" }, "landmarket"), nav, account, switcher);
}

function navigate(): void {
  const [next, param] = parse(location.hash);
  if (next === route && view) {
    view.update?.(param); // same view, other plot: the map stays
    return;
  }
  view?.destroy();
  clear(main);
  route = next;
  view = (ROUTES[next] ?? ROUTES["#/"]!)(param);
  view.mount(main);
  renderHeader();
}

window.addEventListener("hashchange", navigate);
onLangChange(() => {
  renderHeader();
  view?.relabel();
});
onAuthChange(() => {
  // Signing out leaves views that need a key; signing in re-renders what the key may see.
  if (!currentUser() && route !== "#/") location.hash = "#/";
  renderHeader();
  view?.relabel();
});

navigate();
void restore();
