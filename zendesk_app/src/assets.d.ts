// Files esbuild bundles for us: the translations (JSON) and the stylesheet (emitted as app.css).
declare module "*.json" {
  const value: unknown;
  export default value;
}
declare module "*.css";
