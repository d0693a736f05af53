// The only way the app builds DOM: elements from tag names, text as text nodes. No HTML strings anywhere,
// so ticket and API text can never become markup.

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  attrs?: Record<string, string | number | boolean | null | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

const SVG_NS = "http://www.w3.org/2000/svg";

function setAttrs(node: Element, attrs: Props["attrs"]): void {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (/^on/i.test(name) || name === "href" || name === "src" || name === "style") {
      throw new Error(`attribute ${name} is not allowed`);
    }
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(node: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, props: Props = {}, ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  setAttrs(node, props.attrs);
  for (const [name, handler] of Object.entries(props.on ?? {})) {
    node.addEventListener(name, handler as EventListener);
  }
  append(node, children);
  return node;
}

/**
 * A link that opens an http(s) address in a new tab, without giving that page a handle on this one. The only
 * way the app sets an `href`: anything but an absolute http(s) address throws.
 */
export function link(href: string, props: Props = {}, ...children: Child[]): HTMLAnchorElement {
  const url = new URL(href);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`link to ${url.protocol} is not allowed`);
  const node = el("a", props, ...children);
  node.href = url.href;
  node.target = "_blank";
  node.rel = "noopener noreferrer";
  return node;
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K, attrs: Props["attrs"] = {}, ...children: Child[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}
