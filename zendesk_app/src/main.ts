// Entry point of the app's iframe: connect to Zendesk once, then start the view for this location.
import "./styles.css";
import { start } from "./app";
import { el } from "./dom";
import { t } from "./i18n";
import { describeError } from "./sidebar";
import { connect, NotInZendesk } from "./zaf";

function fail(root: HTMLElement, message: string): void {
  root.replaceChildren(el("div", { class: "gs-state gs-error", attrs: { role: "alert" } }, message));
}

const root = document.getElementById("app");
if (root) {
  connect()
    .then((zaf) => start(zaf, root).catch((err) => fail(root, describeError(err))))
    .catch((err) => fail(root, err instanceof NotInZendesk ? t("sidebar.error.outside") : describeError(err)));
}
