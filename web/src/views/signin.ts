import { ApiError } from "../api/client";
import { signIn } from "../auth";
import { h } from "../dom";
import { t } from "../i18n";

/** The sign-in dialog (a native <dialog>: focus is trapped and Escape closes it). */
export function openSignIn(onDone: () => void): void {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    required: true,
    "aria-describedby": "api-key-hint",
  });
  const error = h("p", { class: "error", role: "alert", id: "signin-error" });
  const cancel = h("button", { type: "button", class: "secondary" }, t("auth.cancel"));
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: "signin-title" }, t("auth.signIn")),
    h("label", { for: "api-key" }, t("auth.key")),
    input,
    h("p", { id: "api-key-hint", class: "hint" }, t("auth.keyHint")),
    error,
    h("div", { class: "actions" }, cancel, h("button", { type: "submit" }, t("auth.submit"))),
  );
  const dialog = h("dialog", { "aria-labelledby": "signin-title", class: "signin" }, form);
  const close = (): void => {
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener("click", close);
  dialog.addEventListener("cancel", () => dialog.remove());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    signIn(input.value.trim())
      .then(() => {
        close();
        onDone();
      })
      .catch((cause: unknown) => {
        error.textContent =
          cause instanceof ApiError && cause.status === 401 ? t("auth.invalid") : cause instanceof ApiError && cause.status !== 0 ? cause.message : t("error.network");
        input.focus();
      });
  });
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}
