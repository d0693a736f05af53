// UI strings from translations/en.json (bundled; Zendesk shows the marketplace only in English).
// `t("sidebar.tickets", {count: 3})` looks the key up, picks `one`/`other` for counts, fills `{name}` slots.
import en from "../translations/en.json";

type Tree = { [key: string]: string | Tree };
type Vars = Record<string, string | number>;

const strings = en as unknown as Tree;

function lookup(tree: Tree, key: string): string | Tree | undefined {
  let node: string | Tree | undefined = tree;
  for (const part of key.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = node[part];
  }
  return node;
}

/** Translate `key`; a missing key throws, so tests that render a view catch every typo. */
export function t(key: string, vars: Vars = {}, tree: Tree = strings): string {
  let node = lookup(tree, key);
  if (typeof node === "object" && typeof vars.count === "number") {
    node = node[vars.count === 1 ? "one" : "other"];
  }
  if (typeof node !== "string") throw new Error(`missing translation: ${key}`);
  return node.replace(/\{(\w+)\}/g, (slot, name: string) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : slot);
}
